"""Invoice of a visit: price in force by date, missing prices, BHYT card rules, recompute until paid, CSV import."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from station.audit.models import AuditEvent
from station.billing import prices
from station.billing import services as billing
from station.billing.models import PriceItem
from station.errors import Conflict, ValidationFailed
from station.extensions import db
from tests.billing.helpers import ACTOR, VISIT_AT, clock, full_visit


def test_visit_is_priced_by_the_list_in_force_on_its_date(app):
    with app.app_context():
        visit = full_visit(db.session)
        # A new price from 11/03/2026 does not change a visit of 10/03/2026 ...
        prices.save_price(db.session, prices.validate_price("thuoc", "T001", "Paracetamol 500mg", "700", "700",
                                                            "11/03/2026"), actor=ACTOR)
        # ... but one from 10/03/2026 does.
        prices.save_price(db.session, prices.validate_price("thuoc", "T002", "Amoxicillin 500mg", "1.300", "1.200",
                                                            "2026-03-10"), actor=ACTOR)
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        lines = {line.code: line for line in invoice.lines}
        assert lines["T001"].unit_price_bv == 500 and lines["T001"].price_from == date(2026, 1, 1)
        assert (lines["T002"].unit_price_bv, lines["T002"].unit_price_bh) == (1_300, 1_200)
        assert prices.price_in_force(db.session, "drug", "T001", date(2026, 3, 11)).hospital_price == 700
        assert prices.price_in_force(db.session, "drug", "T001", date(2025, 12, 31)) is None


def test_drug_without_price_in_force_is_named_and_blocks_payment(app):
    with app.app_context():
        visit = full_visit(db.session)
        db.session.execute(PriceItem.__table__.delete().where(PriceItem.code == "T002"))
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert invoice.problem_list == ["Thuốc Amoxicillin 500mg (mã T002) chưa có giá áp dụng vào ngày 10/03/2026; "
                                        "hãy thêm giá vào bảng giá rồi tính lại."]
        with pytest.raises(ValidationFailed, match="Amoxicillin 500mg"):
            billing.record_payment(db.session, invoice, method="cash", amount="0", actor=ACTOR)
        prices.save_price(db.session, prices.validate_price("thuoc", "T002", "Amoxicillin 500mg", "1150", "1150",
                                                            "01/03/2026"), actor=ACTOR)
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert invoice.problem_list == [] and len(invoice.lines) == 4


def test_expired_card_bills_as_uninsured_unless_cashier_records_renewal(app):
    with app.app_context():
        visit = full_visit(db.session)
        visit.bhyt_card.valid_to = date(2026, 3, 9)
        db.session.flush()
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert not invoice.insured and invoice.patient_due == invoice.t_tongchi_bv == 72_900
        assert "Thẻ BHYT đã hết hạn vào ngày khám 10/03/2026 (hết giá trị ngày 09/03/2026)" in invoice.coverage_note
        with pytest.raises(ValidationFailed, match="lý do"):
            billing.set_coverage_mode(db.session, invoice, mode="card_confirmed", reason="", actor=ACTOR,
                                      valid_to=date(2026, 12, 31))
        invoice = billing.set_coverage_mode(db.session, invoice, mode="card_confirmed", actor=ACTOR,
                                            reason="Tra cứu cổng BHXH: thẻ đã gia hạn", valid_to=date(2026, 12, 31))
        assert invoice.insured and invoice.patient_due == 0 and invoice.card_valid_to == date(2026, 12, 31)
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "billing.invoice.coverage_mode")) == 1


def test_unverified_card_and_patient_declining_bhyt(app):
    with app.app_context():
        visit = full_visit(db.session)
        visit.bhyt_card.benefit_percent = None
        db.session.flush()
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert not invoice.insured and "Chưa có mức hưởng từ cổng BHXH" in invoice.coverage_note
        visit.bhyt_card.benefit_percent = Decimal(80)
        db.session.flush()
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert invoice.insured and invoice.portal_benefit == 80 and invoice.coverage_rule == "commune"
        invoice = billing.set_coverage_mode(db.session, invoice, mode="uninsured", reason="Người bệnh không dùng thẻ",
                                            actor=ACTOR)
        assert not invoice.insured and invoice.patient_due == 72_900


def test_non_commune_station_small_visit_rule_uses_configured_base_salary(app):
    with app.app_context():
        visit = full_visit(db.session)
        config = billing.get_config(db.session)
        config.commune_level = False
        visit.bhyt_card.card_code = "DN4010120878811"
        visit.bhyt_card.benefit_percent = Decimal(80)
        db.session.flush()
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert invoice.coverage_rule == "small_visit" and invoice.base_salary == 2_340_000
        # A base salary so low that 72.900 đ is no longer "small": 80 % applies.
        prices.save_base_salary(db.session, "01/01/2026", "400.000", "Thử nghiệm", actor=ACTOR)
        invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert invoice.coverage_rule == "portal" and invoice.t_bhtt == 58_320 and invoice.t_bncct == 14_580
        assert invoice.patient_due == 14_580 and invoice.t_bhtt == invoice.t_tongchi_bh - invoice.t_bncct
        assert billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock()).base_salary == 400_000
        with pytest.raises(ValidationFailed, match="số nguyên đồng"):
            prices.save_base_salary(db.session, "01/07/2026", "2.340.000,5", "", actor=ACTOR)


def test_invoice_is_recomputed_on_change_until_paid_then_frozen(app):
    with app.app_context():
        from station.consultation.models import ServiceOrder

        visit = full_visit(db.session)
        visit.bhyt_card_id = None
        visit.eligibility = "uninsured"
        first = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert first.patient_due == 72_900
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())  # nothing changed: not audited
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
        order = db.session.scalar(select(ServiceOrder).where(ServiceOrder.service_code == "XN01"))
        order.status = "cancelled"
        db.session.flush()
        second = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert second.id == first.id and second.patient_due == 72_900 - 15_200 and len(second.lines) == 3
        billing.record_payment(db.session, second, method="cash", amount="57700", actor=ACTOR)
        order.status = "done"
        db.session.flush()
        frozen = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock())
        assert frozen.status == "paid" and frozen.patient_due == 57_700
        with pytest.raises(Conflict):
            billing.set_coverage_mode(db.session, frozen, mode="uninsured", reason="Thử đổi", actor=ACTOR)


def test_csv_import_is_all_or_nothing_with_row_messages(app, runner, tmp_path):
    good = ("loai;ma;ten;don_vi;gia_bv;gia_bh;ngay_ap_dung\n"
            "dich_vu;KB01;Khám bệnh;Lần;38.700;38.700;01/01/2026\n"
            "thuoc;T001;Paracetamol 500mg;Viên;500;500;2026-01-01\n"
            "vat_tu;VT01;Bơm tiêm 5ml;Cái;1.500;;01/01/2026\n")
    bad = good + "thuoc;T002;Amoxicillin;Viên;1150,5;1150;01/01/2026\nthuoc;T003;X;Viên;100;100;31/02/2026\n"
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    (tmp_path / "good.csv").write_text("\ufeff" + good, encoding="utf-8")
    result = runner.invoke(args=["billing", "import-prices", str(tmp_path / "bad.csv")])
    assert result.exit_code == 2
    assert "Dòng 5: Giá cơ sở (gia_bv) phải là số nguyên đồng" in result.output
    assert "Dòng 6: Ngày áp dụng: Ngày không hợp lệ: '31/02/2026'" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PriceItem)) == 0
    result = runner.invoke(args=["billing", "import-prices", str(tmp_path / "good.csv")])
    assert result.exit_code == 0 and "3 dòng mới" in result.output
    with app.app_context():
        supply = db.session.scalar(select(PriceItem).where(PriceItem.code == "VT01"))
        assert supply.kind == "supply" and supply.bhyt_price is None and not supply.covered
        assert prices.price_in_force(db.session, "service", "KB01", VISIT_AT.date()).hospital_price == 38_700
    again = runner.invoke(args=["billing", "import-prices", str(tmp_path / "good.csv")])
    assert again.exit_code == 0 and "3 dòng cập nhật" in again.output
    missing = runner.invoke(args=["billing", "import-prices", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2


def test_demo_prices_the_catalogue_and_marks_the_bank_account_as_demo(app):
    import random

    from station.billing import demo
    from station.billing.models import BillingConfig
    from tests.billing.helpers import ensure_consultation_tables, make_catalog

    with app.app_context():
        ensure_consultation_tables(db.session)
        catalog = make_catalog(db.session)
        for item in catalog.values():
            item.price = Decimal("38700.00")
        summary: dict = {}
        demo.seed_demo(db.session, random.Random(1), ACTOR, summary, patients=0)
        assert summary["billing"]["prices_created"] == 4
        config = db.session.scalar(select(BillingConfig))
        assert config.bank_is_demo and config.receipt_series == "DEMO"
        assert prices.price_in_force(db.session, "drug", "T001", date(2026, 3, 10)).hospital_price == 38_700
