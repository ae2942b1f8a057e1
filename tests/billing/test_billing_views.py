"""Cashier pages over HTTP: roles, paying by cash and VietQR, errors shown, closing report and PDF."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from station.auth.roles import Role
from station.billing.models import Payment
from station.extensions import db
from tests.billing.helpers import full_visit
from tests.conftest import Auth


def _visit(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        visit = full_visit(db.session)
        visit.bhyt_card_id = None
        visit.eligibility = "uninsured"
        db.session.commit()
        return visit.id


def test_cashier_pays_cash_and_vietqr_through_the_pages(app, client, make_user):
    visit_id = _visit(app)
    make_user(Role.CASHIER, username="tn.hung")
    auth = Auth(client)
    auth.login("tn.hung")
    page = client.get(f"/billing/visits/{visit_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "72.900 đ" in text and "Thu tiền và in biên lai" in text
    bad = auth.post(f"/billing/visits/{visit_id}/pay", {"method": "cash", "amount": "72900,5"}, follow_redirects=True)
    assert "số nguyên đồng" in bad.get_data(as_text=True)
    started = auth.post(f"/billing/visits/{visit_id}/pay", {"method": "vietqr", "amount": "72.900"},
                        follow_redirects=True)
    html = started.get_data(as_text=True)
    assert "Chờ chuyển khoản VietQR" in html and "<svg" in html and "BL2026-0000001" in html
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        payment_id = payment.id
    done = auth.post(f"/billing/payments/{payment_id}/confirm", {"reference": "FT123"}, follow_redirects=True)
    assert "Đã xác nhận chuyển khoản" in done.get_data(as_text=True)
    refused = auth.post(f"/billing/payments/{payment_id}/refund", {"amount": "100000", "reason": "Trả lại thuốc"},
                        follow_redirects=True)
    assert "lớn hơn số tiền còn lại" in refused.get_data(as_text=True)
    closing = client.get("/billing/closing")  # the receipt was paid today (system clock)
    assert closing.status_code == 200 and "Chuyển khoản VietQR" in closing.get_data(as_text=True)
    pdf = client.get("/billing/closing.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    content = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "BÁO CÁO CHỐT QUỸ" in content and "72.900 đ" in content


def test_nurse_is_refused_and_head_sees_totals_only(app, client, make_user):
    visit_id = _visit(app)
    make_user(Role.NURSE, username="dd.lan")
    auth = Auth(client)
    auth.login("dd.lan")
    assert client.get(f"/billing/visits/{visit_id}").status_code == 403
    assert client.get("/billing/closing").status_code == 403
    auth.logout()
    make_user(Role.HEAD, username="tt.truong")
    auth.login("tt.truong")
    assert client.get("/billing/").status_code == 403
    closing = client.get("/billing/closing?day=2026-03-10")
    assert closing.status_code == 200
    assert "Tổng cộng" in closing.get_data(as_text=True) and "Biên lai đã hủy" not in closing.get_data(as_text=True)


def test_admin_adds_a_price_and_settings(app, client, make_user):
    make_user(Role.ADMIN, username="qt.admin")
    auth = Auth(client)
    auth.login("qt.admin")
    added = auth.post("/billing/prices/add", {"kind": "drug", "code": "T009", "name": "Vitamin C 500mg",
                                              "hospital_price": "300,5", "effective_from": "01/01/2026"},
                      follow_redirects=True)
    assert "Giá cơ sở (gia_bv) phải là số nguyên đồng" in added.get_data(as_text=True)
    added = auth.post("/billing/prices/add", {"kind": "drug", "code": "T009", "name": "Vitamin C 500mg",
                                              "hospital_price": "300", "bhyt_price": "300",
                                              "effective_from": "01/01/2026"}, follow_redirects=True)
    assert "Đã lưu giá T009" in added.get_data(as_text=True)
    saved = auth.post("/billing/settings", {"receipt_series": "BL2026", "bank_bin": "97043", "bank_account": "1"},
                      follow_redirects=True)
    assert "Mã BIN ngân hàng phải gồm đúng 6 chữ số" in saved.get_data(as_text=True)
