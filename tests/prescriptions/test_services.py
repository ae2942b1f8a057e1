"""TT 26/2025 rules as enforced by the prescription services, on a real database."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import select

from printers.layouts import PrescriptionSlipData
from station.clock import local_today
from station.consultation import services as consult
from station.errors import ValidationFailed
from station.prescriptions import rules
from station.prescriptions import services as rx
from station.prescriptions.models import ImmutablePrescription, Prescription, PrescriptionItem
from station.printing.models import PrintJob
from station.visits.models import Visit
from tests.consultation import factories
from tests.consultation.factories import ACTOR


@pytest.fixture
def ctx(app, world):  # type: ignore[no-untyped-def]
    with app.app_context():
        from station.extensions import db

        session = db.session
        doctor = factories.user(session, "bs.test")
        visit = session.get(Visit, world.visit)
        consult.save_consultation(session, visit, consult.ConsultationInput(main_code="J06.9", reason="Sốt"),
                                  expected_version=None, user=doctor, actor=ACTOR)
        yield session, world, doctor, visit


def _draft(ctx, *lines):  # type: ignore[no-untyped-def]
    session, world, doctor, visit = ctx
    draft = rx.draft_for_visit(session, visit, user=doctor, actor=ACTOR)
    for code, dose, times, days in lines:
        rx.add_line(session, draft, drug_id=world.drugs[code], dose_per_time=dose, times_per_day=times, days=days,
                    actor=ACTOR)
    return draft


def test_quantity_is_computed_and_printed_with_a_leading_zero(ctx):
    draft = _draft(ctx, ("PARA500", "1", "3", "3"), ("AMLO5", "0,5", "1", "5"))
    assert [line.quantity for line in draft.lines] == [9, 3]  # half tablets round up to whole units
    assert rules.format_quantity(draft.lines[0].quantity) == "09"
    assert draft.lines[0].display_name == "Paracetamol (Panadol)"  # single ingredient: INN first


def test_a_combination_is_shown_by_brand(ctx):
    draft = _draft(ctx, ("AUG625", "1", "2", "5"))
    assert draft.lines[0].display_name == "Augmentin 625"


@pytest.mark.parametrize(("dose", "times", "days", "rule"), [
    ("0", "3", "3", rules.RULE_DOSE),
    ("abc", "3", "3", rules.RULE_DOSE),
    ("100", "24", "30", rules.RULE_QUANTITY),
    ("1", "0", "3", rules.RULE_TIMES),
    ("1", "2", "0", rules.RULE_DAYS),
    ("1", "2", "200", rules.RULE_MAX_30),
    ("1", "2", "31", rules.RULE_MAX_30),
])
def test_absurd_doses_and_durations_are_refused_naming_the_rule(ctx, dose, times, days, rule):
    session, world, doctor, visit = ctx
    draft = rx.draft_for_visit(session, visit, user=doctor, actor=ACTOR)
    with pytest.raises(ValidationFailed) as raised:
        rx.add_line(session, draft, drug_id=world.drugs["PARA500"], dose_per_time=dose, times_per_day=times,
                    days=days, actor=ACTOR)
    assert rule in raised.value.message
    assert draft.lines == []


def test_ninety_days_only_for_a_chronic_list_diagnosis(ctx):
    session, world, doctor, visit = ctx
    c = consult.get_consultation(session, visit.id)
    consult.save_consultation(session, visit, consult.ConsultationInput(main_code="I10", reason="Tăng huyết áp"),
                              expected_version=c.version, user=doctor, actor=ACTOR)
    draft = _draft(ctx, ("AMLO5", "1", "1", "90"))
    assert draft.lines[0].quantity == 90
    with pytest.raises(ValidationFailed, match=rules.RULE_MAX_90):
        _draft(ctx, ("AMLO5", "1", "1", "91"))


def test_supplements_and_mixed_prescription_types_are_refused(ctx):
    with pytest.raises(ValidationFailed, match="thực phẩm chức năng"):
        _draft(ctx, ("TPCN1", "1", "1", "5"))
    with pytest.raises(ValidationFailed, match="đơn riêng"):
        _draft(ctx, ("PARA500", "1", "3", "3"), ("DIAZ5", "1", "1", "5"))


def test_issue_draws_a_unique_code_freezes_the_prescription_and_queues_the_slip(ctx):
    session, world, doctor, visit = ctx
    draft = _draft(ctx, ("PARA500", "1", "3", "3"), ("AMLO5", "1", "1", "5"), ("EFF150", "1", "2", "2"))
    with pytest.raises(rx.AlertsNeedOverride, match="Paracetamol"):  # PARA500 and EFF150: same ingredient
        rx.issue(session, draft, rx.IssueDetails(advice="Uống nhiều nước"), user=doctor, actor=ACTOR)
    key = rx.pending_alerts(session, draft)[0].key
    with pytest.raises(rx.AlertsNeedOverride):  # a reason of under 5 characters is not an override
        rx.issue(session, draft, rx.IssueDetails(advice="Uống nhiều nước", overrides={key: "ok"}), user=doctor,
                 actor=ACTOR)
    rx.issue(session, draft, rx.IssueDetails(advice="Uống nhiều nước", overrides={key: "Liều trẻ em và người lớn"}),
             user=doctor, actor=ACTOR)
    assert draft.status == "issued" and rules.CODE_RE.match(draft.code) and draft.code.startswith("01001")
    assert draft.code.endswith("-C") and draft.diagnosis_codes == "J06.9"
    assert json.loads(draft.overrides)[0]["reason"] == "Liều trẻ em và người lớn"
    job = session.scalar(select(PrintJob).where(PrintJob.subject_id == str(draft.id)))
    payload = json.loads(job.payload)
    assert job.document == "prescription_slip"
    assert set(payload) == {f.name for f in fields(PrescriptionSlipData)}
    assert payload["prescription_code"] == draft.code and len(payload["lines"]) == 3
    assert payload["lines"][0]["dose"] == "Uống 1 viên/lần × 3 lần/ngày"


def test_allergy_needs_an_explicit_override_with_a_reason(ctx):
    session, world, doctor, visit = ctx
    draft = _draft(ctx, ("AMOX500", "1", "2", "5"))
    with pytest.raises(rx.AlertsNeedOverride, match="dị ứng Amoxicillin") as raised:
        rx.issue(session, draft, rx.IssueDetails(advice="Uống sau ăn"), user=doctor, actor=ACTOR)
    key = raised.value.alerts[0].key
    rx.issue(session, draft, rx.IssueDetails(advice="Uống sau ăn", overrides={key: "Đã thử phản ứng, âm tính"}),
             user=doctor, actor=ACTOR)
    assert draft.status == "issued"


def test_issue_needs_a_diagnosis_and_advice(ctx):
    session, world, doctor, visit = ctx
    draft = _draft(ctx, ("PARA500", "1", "3", "3"))
    with pytest.raises(rx.RulesBroken, match=rules.RULE_ADVICE):
        rx.issue(session, draft, rx.IssueDetails(advice=""), user=doctor, actor=ACTOR)


def test_a_child_under_72_months_needs_weight_and_accompanying_person(ctx):
    session, world, doctor, _ = ctx
    child = factories.patient(session, name="Lê Minh Khôi", birth=local_today() - timedelta(days=400))
    visit = factories.visit(session, child)
    consult.save_consultation(session, visit, consult.ConsultationInput(main_code="J06.9"), expected_version=None,
                              user=doctor, actor=ACTOR)
    draft = rx.draft_for_visit(session, visit, user=doctor, actor=ACTOR)
    rx.add_line(session, draft, drug_id=world.drugs["EFF150"], dose_per_time="1", times_per_day="3", days="3",
                actor=ACTOR)
    with pytest.raises(rx.RulesBroken) as raised:
        rx.issue(session, draft, rx.IssueDetails(advice="Hạ sốt khi trên 38,5 độ"), user=doctor, actor=ACTOR)
    assert "cân nặng" in raised.value.message and "người đưa trẻ" in raised.value.message
    assert rules.RULE_CHILD in raised.value.message
    with pytest.raises(ValidationFailed, match="không hợp lý"):
        rx.issue(session, draft, rx.IssueDetails(advice="Hạ sốt", weight_kg="900", companion_name="Lê Thị Mai"),
                 user=doctor, actor=ACTOR)
    rx.issue(session, draft, rx.IssueDetails(advice="Hạ sốt khi trên 38,5 độ", weight_kg="10,5",
                                             companion_name="Lê Thị Mai (mẹ)", companion_id_number="001190012345"),
             user=doctor, actor=ACTOR)
    assert draft.age_months in (12, 13) and draft.weight_kg == 10.5 and draft.companion_name == "Lê Thị Mai (mẹ)"


def test_an_issued_prescription_never_changes_service_and_orm_guard(ctx):
    session, world, doctor, visit = ctx
    draft = _draft(ctx, ("PARA500", "1", "3", "3"))
    rx.issue(session, draft, rx.IssueDetails(advice="Uống nhiều nước"), user=doctor, actor=ACTOR)
    session.commit()
    with pytest.raises(ValidationFailed, match="đã phát hành, không được sửa"):
        rx.add_line(session, draft, drug_id=world.drugs["AMLO5"], dose_per_time="1", times_per_day="1", days="5",
                    actor=ACTOR)
    with pytest.raises(ValidationFailed, match="đã phát hành"):
        rx.remove_line(session, draft, draft.lines[0].id, actor=ACTOR)
    draft.advice = "Sửa lén"
    with pytest.raises(ImmutablePrescription, match=rules.RULE_IMMUTABLE):
        session.flush()
    session.rollback()
    line = session.scalar(select(PrescriptionItem).where(PrescriptionItem.prescription_id == draft.id))
    line.days = 30
    with pytest.raises(ImmutablePrescription):
        session.flush()
    session.rollback()
    session.delete(session.get(Prescription, draft.id))
    with pytest.raises(ImmutablePrescription):
        session.flush()
    session.rollback()
    assert session.get(Prescription, draft.id).advice == "Uống nhiều nước"


def test_a_correction_is_a_new_linked_prescription(ctx):
    session, world, doctor, visit = ctx
    original = _draft(ctx, ("PARA500", "1", "3", "3"))
    rx.issue(session, original, rx.IssueDetails(advice="Uống nhiều nước"), user=doctor, actor=ACTOR)
    with pytest.raises(ValidationFailed, match="lý do"):
        rx.start_replacement(session, original, reason="", user=doctor, actor=ACTOR)
    new = rx.start_replacement(session, original, reason="Sai liều dùng", user=doctor, actor=ACTOR)
    rx.remove_line(session, new, new.lines[0].id, actor=ACTOR)
    rx.add_line(session, new, drug_id=world.drugs["PARA500"], dose_per_time="1", times_per_day="2", days="3",
                actor=ACTOR)
    rx.issue(session, new, rx.IssueDetails(advice="Uống nhiều nước"), user=doctor, actor=ACTOR)
    assert new.code != original.code and new.replaces_id == original.id
    assert [p.id for p in rx.active_prescriptions(session, visit.id)] == [new.id]
    assert original.status == "issued" and original.lines[0].times_per_day == 3
    assert rx.replaced_ids(session, [original.id]) == {original.id: new.code}


def test_a_drawn_code_already_in_use_is_drawn_again(ctx, monkeypatch):
    session, world, doctor, visit = ctx
    first = _draft(ctx, ("PARA500", "1", "3", "3"))
    letters = iter("aaaaaaa" + "aaaaaaa" + "bbbbbbb")
    monkeypatch.setattr(rules.secrets, "choice", lambda alphabet: next(letters))
    rx.issue(session, first, rx.IssueDetails(advice="Uống nhiều nước"), user=doctor, actor=ACTOR)
    assert first.code == "01001aaaaaaa-C"
    other = consult.get_visit(session, factories.visit(session, factories.patient(session, name="Phạm Văn C")).id)
    consult.save_consultation(session, other, consult.ConsultationInput(main_code="J06.9"), expected_version=None,
                              user=doctor, actor=ACTOR)
    second = rx.draft_for_visit(session, other, user=doctor, actor=ACTOR)
    rx.add_line(session, second, drug_id=world.drugs["PARA500"], dose_per_time="1", times_per_day="3", days="3",
                actor=ACTOR)
    rx.issue(session, second, rx.IssueDetails(advice="Uống nhiều nước"), user=doctor, actor=ACTOR)
    assert second.code == "01001bbbbbbb-C"


def test_completion_is_refused_while_a_draft_prescription_has_lines(ctx):
    session, world, doctor, visit = ctx
    _draft(ctx, ("PARA500", "1", "3", "3"))
    c = consult.get_consultation(session, visit.id)
    c = consult.save_consultation(session, visit, consult.ConsultationInput(main_code="J06.9", outcome_code="1",
                                                                            discharge_code="1"),
                                  expected_version=c.version, user=doctor, actor=ACTOR)
    with pytest.raises(ValidationFailed, match="chưa phát hành"):
        consult.complete(session, visit, expected_version=c.version, user=doctor, actor=ACTOR)
