"""Payments and receipts: cash and VietQR, gap-free numbers, cancellation, refunds, daily closing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from station.audit.models import AuditEvent
from station.billing import services as billing
from station.billing.models import Payment
from station.billing.vietqr import parse_vietqr
from station.errors import Conflict, ValidationFailed
from station.extensions import db
from station.printing.models import PrintJob
from station.visits.models import Visit
from tests.billing.helpers import ACTOR, BANK_ACCOUNT, BANK_BIN, add_consultation, add_prices, clock, \
    ensure_consultation_tables, make_catalog, make_patient, make_visit, setup_station


def _uninsured_invoice(session, *, key=None):  # type: ignore[no-untyped-def]
    """Return the computed invoice of an uninsured visit costing 72.900 đ."""
    from station.catalog.models import Drug

    if not session.info.get("tables_checked"):
        ensure_consultation_tables(session)
        session.info["tables_checked"] = True
    if session.scalar(select(func.count()).select_from(Drug)) == 0:
        setup_station(session)
        catalog = make_catalog(session)
        add_prices(session)
    else:
        from station.catalog.models import ServiceItem

        catalog = {d.code: d for d in session.scalars(select(Drug))}
        catalog.update({s.code: s for s in session.scalars(select(ServiceItem))})
    patient = make_patient(session, card=None, name="Trần Văn Nam")
    visit = make_visit(session, patient, insured=False, key=key)
    add_consultation(session, visit, catalog)
    return billing.compute_invoice(session, visit, actor=ACTOR, clock=clock())


def test_cash_payment_issues_numbered_receipt_and_print_job(app):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        assert invoice.patient_due == 72_900 and invoice.t_tongchi_bv == 72_900 and invoice.t_bhtt == 0
        payment = billing.record_payment(db.session, invoice, method="cash", amount="100.000", actor=ACTOR,
                                         clock=clock(minutes=40))
        db.session.commit()
        assert payment.number == "BL2026-0000001" and payment.status == "paid"
        assert payment.amount == 72_900 and payment.received == 100_000 and payment.change_given == 27_100
        assert invoice.status == "paid"
        job = db.session.scalar(select(PrintJob).where(PrintJob.document == "receipt"))
        data = json.loads(job.payload)
        assert data["receipt_number"] == "BL2026-0000001" and data["patient_share"] == 72_900
        assert data["total"] == data["insurance_share"] + data["patient_share"]
        assert job.room_code == "THU" and job.subject_id == str(payment.id)
        from printers.profiles import BUILTIN_PROFILES
        from station.printing.render import render_document

        render_document("receipt", job.payload, next(iter(BUILTIN_PROFILES.values())))  # the spooler can print it
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "billing.payment.record" in actions


def test_vietqr_payment_awaits_then_prints_payload_with_receipt_number(app):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        payment = billing.record_payment(db.session, invoice, method="vietqr", amount="72900", actor=ACTOR,
                                         clock=clock(minutes=40))
        db.session.commit()
        assert payment.status == "awaiting" and invoice.status == "awaiting"
        decoded = parse_vietqr(payment.vietqr_payload)
        assert (decoded.bank_bin, decoded.account, decoded.amount) == (BANK_BIN, BANK_ACCOUNT, 72_900)
        assert decoded.purpose == payment.number
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 0
        with pytest.raises(Conflict):
            billing.record_payment(db.session, invoice, method="cash", amount="72900", actor=ACTOR)
        billing.confirm_transfer(db.session, payment, reference="FT26069123", actor=ACTOR, clock=clock(minutes=45))
        db.session.commit()
        assert payment.status == "paid" and invoice.status == "paid"
        data = json.loads(db.session.scalar(select(PrintJob.payload)))
        assert data["vietqr_payload"] == payment.vietqr_payload


def test_vietqr_needs_bank_settings_and_exact_amount(app):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        with pytest.raises(ValidationFailed, match="phải bằng số người bệnh phải trả"):
            billing.record_payment(db.session, invoice, method="vietqr", amount="70000", actor=ACTOR)
        billing.save_config(db.session, actor=ACTOR, receipt_series="BL2026", bank_bin="", bank_account="")
        with pytest.raises(ValidationFailed, match="chưa cấu hình tài khoản ngân hàng"):
            billing.record_payment(db.session, invoice, method="vietqr", amount="72900", actor=ACTOR)


@pytest.mark.parametrize("typed", ["72900,5", "72900.50", "72.900,5", "bảy mươi"])
def test_amount_with_decimals_is_refused_clearly(app, typed):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        with pytest.raises(ValidationFailed, match="số nguyên đồng"):
            billing.record_payment(db.session, invoice, method="cash", amount=typed, actor=ACTOR)


def test_cash_less_than_due_is_refused(app):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        with pytest.raises(ValidationFailed, match="ít hơn số người bệnh phải trả"):
            billing.record_payment(db.session, invoice, method="cash", amount="50000", actor=ACTOR)


def test_receipt_numbers_have_no_gap_after_a_rollback(app):
    with app.app_context():
        first = _uninsured_invoice(db.session)
        second = _uninsured_invoice(db.session)
        db.session.commit()
        billing.record_payment(db.session, first, method="cash", amount="72900", actor=ACTOR)
        db.session.commit()
        # A payment whose transaction fails (e.g. printer queue error) gives its number back.
        billing.record_payment(db.session, second, method="cash", amount="72900", actor=ACTOR)
        db.session.rollback()
        second = billing.invoice_for(db.session, db.session.get(Visit, second.visit_id))
        assert second.status == "open"
        third = billing.record_payment(db.session, second, method="card", amount="72900", actor=ACTOR)
        db.session.commit()
        numbers = db.session.scalars(select(Payment.number).order_by(Payment.sequence)).all()
        assert numbers == ["BL2026-0000001", "BL2026-0000002"] and third.number == "BL2026-0000002"


def test_series_is_configurable_and_numbered_separately(app):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        billing.save_config(db.session, actor=ACTOR, receipt_series="bl2027", bank_bin=BANK_BIN,
                            bank_account=BANK_ACCOUNT)
        payment = billing.record_payment(db.session, invoice, method="cash", amount="72900", actor=ACTOR)
        assert payment.number == "BL2027-0000001"
        with pytest.raises(ValidationFailed, match="Ký hiệu biên lai"):
            billing.save_config(db.session, actor=ACTOR, receipt_series="BL 2026/Á")


def test_cancel_needs_reason_reopens_invoice_and_is_audited(app):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        payment = billing.record_payment(db.session, invoice, method="cash", amount="72900", actor=ACTOR)
        with pytest.raises(ValidationFailed, match="lý do"):
            billing.cancel_payment(db.session, payment, reason="  ", actor=ACTOR)
        billing.cancel_payment(db.session, payment, reason="Thu nhầm người bệnh", actor=ACTOR)
        db.session.commit()
        assert payment.status == "cancelled" and invoice.status == "open"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "billing.payment.cancel"))
        assert "Thu nhầm người bệnh" in event.detail
        again = billing.record_payment(db.session, invoice, method="cash", amount="72900", actor=ACTOR)
        assert again.number == "BL2026-0000002"  # the cancelled number is kept, never reused
        from station.printing import services as printing
        from station.printing.models import PrintJob

        slip = db.session.scalar(select(PrintJob).where(PrintJob.subject_id == str(payment.id)))
        with pytest.raises(ValidationFailed, match="đã bị hủy"):
            printing.reprint(db.session, slip, reason="Máy in kẹt giấy", actor=ACTOR)
        live = db.session.scalar(select(PrintJob).where(PrintJob.subject_id == str(again.id)))
        assert printing.reprint(db.session, live, reason="Máy in kẹt giấy", actor=ACTOR).reprint_of_id == live.id


def test_refund_rules(app):
    with app.app_context():
        invoice = _uninsured_invoice(db.session)
        payment = billing.record_payment(db.session, invoice, method="cash", amount="72900", actor=ACTOR)
        with pytest.raises(ValidationFailed, match="lý do"):
            billing.refund_payment(db.session, payment, amount="1000", reason="", actor=ACTOR)
        with pytest.raises(ValidationFailed, match=r"lớn hơn số tiền còn lại .*72\.900 đ"):
            billing.refund_payment(db.session, payment, amount="80.000", reason="Trả lại thuốc", actor=ACTOR)
        with pytest.raises(ValidationFailed, match="số nguyên đồng"):
            billing.refund_payment(db.session, payment, amount="1000,5", reason="Trả lại thuốc", actor=ACTOR)
        billing.refund_payment(db.session, payment, amount="11.500", reason="Trả lại Amoxicillin", actor=ACTOR)
        with pytest.raises(ValidationFailed, match=r"61\.400 đ"):
            billing.refund_payment(db.session, payment, amount="61401", reason="Trả lại thuốc", actor=ACTOR)
        billing.refund_payment(db.session, payment, amount="61400", reason="Hủy toàn bộ dịch vụ", actor=ACTOR)
        assert payment.refunded == 72_900 and payment.net_amount == 0
        with pytest.raises(Conflict, match="đã hoàn tiền"):
            billing.cancel_payment(db.session, payment, reason="Hủy sau khi hoàn", actor=ACTOR)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "billing.payment.refund")) == 2


def test_daily_closing_sums_by_method_and_lists_cancelled_and_refunds(app):
    with app.app_context():
        paid = []
        for method in ("cash", "cash", "card", "vietqr", "cash"):
            invoice = _uninsured_invoice(db.session)
            payment = billing.record_payment(db.session, invoice, method=method, amount="72900", actor=ACTOR,
                                             clock=clock(hours=1))
            if method == "vietqr":
                billing.confirm_transfer(db.session, payment, actor=ACTOR, clock=clock(hours=2))
            paid.append(payment)
        billing.cancel_payment(db.session, paid[4], reason="Thu trùng biên lai", actor=ACTOR, clock=clock(hours=3))
        billing.refund_payment(db.session, paid[0], amount="7500", reason="Trả lại Paracetamol", actor=ACTOR,
                               clock=clock(hours=4))
        pending = billing.record_payment(db.session, _uninsured_invoice(db.session), method="vietqr",
                                         amount="72900", actor=ACTOR, clock=clock(hours=5))
        # Another day's receipt is not counted.
        billing.record_payment(db.session, _uninsured_invoice(db.session), method="cash", amount="72900",
                               actor=ACTOR, clock=clock(days=1))
        db.session.commit()
        report = billing.closing_report(db.session, paid[0].business_day)
        by = {m.method: m for m in report.methods}
        assert (by["cash"].count, by["cash"].amount, by["cash"].refunded) == (2, 145_800, 7_500)
        assert (by["card"].count, by["card"].amount) == (1, 72_900)
        assert (by["vietqr"].count, by["vietqr"].amount) == (1, 72_900)
        assert report.count == 4 and report.amount == 291_600 and report.net == 284_100
        assert [p.number for p in report.cancelled] == [paid[4].number]
        assert [r.amount for r in report.refunds] == [7_500]
        assert [p.number for p in report.awaiting] == [pending.number]
        totals = billing.closing_report(db.session, paid[0].business_day, with_details=False)
        assert totals.net == report.net and totals.cancelled == []
