"""A visit from consultation data to a paid receipt to a valid XML 130 set; export CLI; download page."""

from __future__ import annotations

import base64
import json
from xml.etree import ElementTree as ET

from sqlalchemy import select

from station.billing import services as billing
from station.claims import export
from station.claims import services as claims
from station.claims import xml130 as x
from station.extensions import db
from tests.billing.helpers import ACTOR, clock, full_visit
from tests.conftest import Auth

SIGNER = x.TestSigner(b"k")


def _tables(envelope: bytes) -> dict[str, ET.Element]:
    """Parse the envelope and every table inside it (all must be well-formed)."""
    root = ET.fromstring(envelope)
    found = {}
    for item in root.iter("FILEHOSO"):
        content = base64.b64decode(item.findtext("NOIDUNGFILE") or "")
        assert content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        found[item.findtext("LOAIHOSO") or ""] = ET.fromstring(content)
    assert SIGNER.verify(x.envelope_signed_bytes(envelope), root.findtext("CHUKYDONVI") or "")
    return found


def _pay(visit, method="cash"):  # type: ignore[no-untyped-def]
    invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock(minutes=30))
    payment = billing.record_payment(db.session, invoice, method=method, amount=str(invoice.patient_due),
                                     actor=ACTOR, clock=clock(minutes=35))
    db.session.commit()
    return invoice, payment


def test_consultation_to_paid_receipt_to_valid_xml130(app):
    with app.app_context():
        visit = full_visit(db.session, referral=True, follow_up=True,
                           secondary=tuple(f"I{n:02d}" for n in range(10, 22)))
        reasons = export.prepare(db.session, visit).reasons
        assert any("chưa thanh toán" in r for r in reasons) or any("hóa đơn" in r for r in reasons)
        invoice, payment = _pay(visit)
        # Insured, level 3 at a commune station: the fund pays 100 %; a 0 đ receipt settles the visit.
        assert invoice.insured and invoice.coverage_rule == "commune" and invoice.patient_due == 0
        assert invoice.t_tongchi_bv == 38_700 + 15_200 + 15 * 500 + 10 * 1_150 == invoice.t_bhtt
        assert payment.number == "BL2026-0000001"
        submission, reasons = claims.build_envelope(db.session, visit, SIGNER, clock=clock(hours=2))
        assert reasons == [] and submission is not None
        tables = _tables(submission.envelope)
        assert list(tables) == ["XML1", "XML2", "XML3", "XML13", "XML14"]
        xml1 = tables["XML1"]
        assert xml1.findtext("HO_TEN") == "Nguyễn Thị Hồng & <Nhung>"
        assert xml1.findtext("MA_LOAI_KCB") == "01" and xml1.findtext("MA_QUOCTICH") == "000"
        assert xml1.findtext("MA_NGHE_NGHIEP") == "00000" and xml1.findtext("MA_THE_BHYT") == "HT3010120878811"
        assert xml1.findtext("MA_BENH_CHINH") == "J06.9"
        assert xml1.findtext("MA_BENH_KT") == ";".join(f"I{n:02d}" for n in range(10, 22))
        assert xml1.findtext("NGAY_VAO") == "202603100900" and xml1.findtext("NGAY_TTOAN") == "202603100935"
        assert xml1.findtext("GT_THE_DEN") == "20261231" and xml1.findtext("NGAY_SINH") == "198504120000"
        t = {k: int(xml1.findtext(k) or "0") for k in ("T_TONGCHI_BV", "T_TONGCHI_BH", "T_BHTT", "T_BNCCT",
                                                          "T_BNTT", "T_NGUONKHAC", "T_THUOC")}
        assert t["T_BHTT"] == t["T_TONGCHI_BH"] - t["T_BNCCT"]
        assert t["T_TONGCHI_BV"] == t["T_BHTT"] + t["T_BNCCT"] + t["T_BNTT"] + t["T_NGUONKHAC"]
        assert (t["T_TONGCHI_BV"], t["T_THUOC"]) == (invoice.t_tongchi_bv, invoice.t_thuoc)
        drugs = tables["XML2"].findall(".//CHI_TIET_THUOC")
        assert [d.findtext("MA_THUOC") for d in drugs] == ["40.17", "40.98"]
        assert drugs[0].findtext("LIEU_DUNG") == "1 viên/lần * 3 lần/ngày * 5 ngày [3 viên/ngày]"
        services = tables["XML3"].findall(".//CHI_TIET_DVKT")
        assert [s.findtext("MA_DICH_VU") for s in services] == ["02.1896", "23.0075"]
        assert tables["XML13"].findtext("MA_NOI_DEN") == "01905"
        assert tables["XML14"].findtext("NGAY_HEN_KL") == "202603170730"


def test_uninsured_visit_paid_by_vietqr_exports_without_card(app):
    with app.app_context():
        from station.patients.models import Patient

        visit = full_visit(db.session)
        visit.bhyt_card_id = None
        visit.eligibility = "uninsured"
        db.session.flush()
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock(minutes=30))
        payment = billing.record_payment(db.session, invoice, method="vietqr", amount=str(invoice.patient_due),
                                         actor=ACTOR, clock=clock(minutes=31))
        assert export.prepare(db.session, visit).reasons == ["Người bệnh chưa thanh toán (hóa đơn chưa thu tiền)"]
        billing.confirm_transfer(db.session, payment, actor=ACTOR, clock=clock(minutes=33))
        db.session.commit()
        submission, reasons = claims.build_envelope(db.session, visit, SIGNER)
        assert reasons == []
        xml1 = _tables(submission.envelope)["XML1"]
        assert xml1.findtext("MA_THE_BHYT") == "" and xml1.findtext("T_BHTT") == "0"
        assert int(xml1.findtext("T_BNTT") or 0) == invoice.patient_due == 72_900
        assert db.session.get(Patient, visit.patient_id) is not None


def test_visits_not_exportable_are_listed_with_reasons(app):
    with app.app_context():
        visit = full_visit(db.session, main=None, signed=False)
        _pay(visit)
        reasons = export.prepare(db.session, visit).reasons
        assert "Bác sĩ chưa ký hoàn tất phiếu khám" in reasons
        assert "Chưa có chẩn đoán chính (MA_BENH_CHINH)" in reasons


def test_export_cli_writes_one_envelope_per_visit_and_a_summary(app, runner, tmp_path):
    with app.app_context():
        ready = full_visit(db.session)
        _pay(ready)
        from tests.billing.helpers import add_consultation, make_patient, make_visit
        from station.catalog.models import Drug, ServiceItem

        catalog = {d.code: d for d in db.session.scalars(select(Drug))}
        catalog.update({s.code: s for s in db.session.scalars(select(ServiceItem))})
        unpaid = make_visit(db.session, make_patient(db.session, name="Lê Văn Bình"))
        add_consultation(db.session, unpaid, catalog)
        db.session.commit()
        ready_key, unpaid_key = ready.visit_key, unpaid.visit_key
    out = tmp_path / "xml"
    result = runner.invoke(args=["xml130", "export", "--date", "2026-03-10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Đã xuất {ready_key}" in result.output and f"Chưa xuất {unpaid_key}" in result.output
    envelope = (out / f"{ready_key}.xml").read_bytes()
    assert ET.fromstring(envelope).tag == "GIAMDINHHS"
    summary = json.loads((out / "tong-hop-2026-03-10.json").read_text(encoding="utf-8"))
    assert summary["so_ho_so"] == 1 and summary["chua_xuat"][0]["ma_lk"] == unpaid_key
    assert not (out / f"{unpaid_key}.xml").exists()
    one = runner.invoke(args=["xml130", "export", "--date", "2026-03-10", "--visit", ready_key, "--out",
                              str(tmp_path / "one")])
    assert one.exit_code == 0 and (tmp_path / "one" / f"{ready_key}.xml").exists()
    bad = runner.invoke(args=["xml130", "export", "--date", "10/03/2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_download_page_by_role(app, client, make_user):
    with app.app_context():
        visit = full_visit(db.session)
        _pay(visit)
        visit_id, key = visit.id, visit.visit_key
    make_user(__import__("station.auth.roles", fromlist=["Role"]).Role.CASHIER, username="tn.a")
    auth = Auth(client)
    auth.login("tn.a")
    response = client.get(f"/claims/visits/{visit_id}/xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert ET.fromstring(response.data).tag == "GIAMDINHHS"
    assert f'{key}.xml' in response.headers["Content-Disposition"]
    page = client.get("/claims/?day=2026-03-10")
    assert page.status_code == 200 and key in page.get_data(as_text=True)


def test_a_service_ordered_after_payment_blocks_the_export_until_rebilled(app):
    from datetime import timedelta

    from station.consultation.models import ServiceOrder

    with app.app_context():
        visit = full_visit(db.session)
        _pay(visit)
        assert export.prepare(db.session, visit).reasons == []
        first = db.session.scalar(select(ServiceOrder).where(ServiceOrder.visit_id == visit.id))
        db.session.add(ServiceOrder(visit_id=visit.id, patient_id=visit.patient_id, service_id=first.service_id,
                                    service_code=first.service_code, service_name=first.service_name,
                                    bhyt_code=first.bhyt_code, unit="Lần", quantity=1, status="done",
                                    ordered_at=first.ordered_at + timedelta(minutes=40)))
        db.session.commit()
        reasons = export.prepare(db.session, visit).reasons
        assert any("đã thay đổi sau khi thu tiền" in r for r in reasons)
