"""Consultation services on a real database: diagnoses, vitals, concurrency, signing, amendments,
drafts, services ordered, referral validity, call next and the timeline."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from station.audit.models import AuditEvent
from station.consultation import services as svc
from station.consultation import timeline
from station.errors import NotFound, ValidationFailed
from station.visits.models import Observation, Visit
from tests.consultation import factories
from tests.consultation.factories import ACTOR


@pytest.fixture
def ctx(app, world):  # type: ignore[no-untyped-def]
    with app.app_context():
        from station.extensions import db

        yield db.session, world, factories.user(db.session, "bs.test")


def _save(session, visit, doctor, version=None, amend_reason="", **fields):  # type: ignore[no-untyped-def]
    data = svc.ConsultationInput(**{"reason": "Ho, sốt", "examination": "Họng đỏ", **fields})
    return svc.save_consultation(session, visit, data, expected_version=version, user=doctor, actor=ACTOR,
                                 amend_reason=amend_reason)


def test_save_validates_icd10_against_the_version_in_force_and_keeps_titles(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    consultation = _save(session, visit, doctor, main_code="j069", secondary_codes="I10; e11.9")
    assert [(d.position, d.icd10_code) for d in consultation.diagnoses] == [(0, "J06.9"), (1, "I10"), (2, "E11.9")]
    assert consultation.icd_version in ("QĐ 4469/QĐ-BYT", "TT 06/2026/TT-BYT")
    assert visit.status == "in_consultation"
    with pytest.raises(ValidationFailed, match="không có trong danh mục: Z99.99.*danh mục"):
        _save(session, visit, doctor, version=consultation.version, main_code="Z99.99")
    with pytest.raises(ValidationFailed, match="không đúng định dạng"):
        _save(session, visit, doctor, version=consultation.version, main_code="viêm họng")


def test_at_most_twelve_secondary_diagnoses_and_no_duplicates(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    thirteen = "; ".join(["I10", "E11.9", "J06.9", "K29.7", "A09.9", "M54.5", "R51", "J20.9", "N39.0", "H10.9",
                          "L30.9", "J45.9", "E78.5"])
    with pytest.raises(ValidationFailed, match="Tối đa 12 chẩn đoán kèm theo"):
        _save(session, visit, doctor, main_code="J02.9", secondary_codes=thirteen)
    with pytest.raises(ValidationFailed, match="bị ghi trùng"):
        _save(session, visit, doctor, main_code="J02.9", secondary_codes="J02.9")
    with pytest.raises(ValidationFailed, match="chẩn đoán chính trước"):
        _save(session, visit, doctor, secondary_codes="I10")


def test_bad_codes_and_dates_are_refused_naming_the_rule(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    with pytest.raises(ValidationFailed, match="KET_QUA_DTRI"):
        _save(session, visit, doctor, outcome_code="9")
    with pytest.raises(ValidationFailed, match="MA_LOAI_RV"):
        _save(session, visit, doctor, discharge_code="02")
    with pytest.raises(ValidationFailed, match="sau ngày khám"):
        _save(session, visit, doctor, follow_up_on="2001-01-01")
    with pytest.raises(ValidationFailed, match="Mạch.*ngoài khoảng"):
        _save(session, visit, doctor, vitals={"pulse": "700"})


def test_edited_vitals_become_new_observations_replacing_the_triage_values(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    triage = Observation(visit_id=visit.id, patient_id=visit.patient_id, kind="pulse", loinc="8867-4", value=88,
                         unit="/min", recorded_at=visit.arrived_at, recorded_by="dd.test")
    session.add(triage)
    session.flush()
    _save(session, visit, doctor, vitals={"pulse": "88", "temperature": "38,5"})
    rows = session.scalars(select(Observation).where(Observation.visit_id == visit.id)).all()
    assert len(rows) == 2  # an unchanged value is not duplicated
    consultation = svc.get_consultation(session, visit.id)
    _save(session, visit, doctor, version=consultation.version, vitals={"pulse": "92"})
    current = svc.current_vitals(session, visit.id)
    assert current["pulse"].value == 92 and current["pulse"].replaces_id == triage.id
    assert session.get(Observation, triage.id).value == 88  # history kept


def test_saving_with_a_stale_version_is_a_conflict_and_overwrites_nothing(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    first = _save(session, visit, doctor, examination="Tab 1")
    opened_version = first.version
    _save(session, visit, doctor, version=opened_version, examination="Tab 2")
    with pytest.raises(svc.ConsultationConflict, match="vừa được lưu ở nơi khác.*không ghi đè") as raised:
        _save(session, visit, doctor, version=opened_version, examination="Tab 1 lần hai")
    assert raised.value.status_code == 409
    assert svc.get_consultation(session, visit.id).examination == "Tab 2"


def test_completion_needs_diagnosis_outcome_and_discharge_then_signs_revision_one(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    consultation = _save(session, visit, doctor)
    with pytest.raises(ValidationFailed, match="chẩn đoán chính.*KET_QUA_DTRI.*MA_LOAI_RV"):
        svc.complete(session, visit, expected_version=consultation.version, user=doctor, actor=ACTOR)
    consultation = _save(session, visit, doctor, version=consultation.version, main_code="J06.9",
                         outcome_code="2", discharge_code="2")
    with pytest.raises(ValidationFailed, match="phiếu chuyển"):
        svc.complete(session, visit, expected_version=consultation.version, user=doctor, actor=ACTOR)
    consultation = _save(session, visit, doctor, version=consultation.version, main_code="J06.9",
                         outcome_code="2", discharge_code="1")
    svc.complete(session, visit, expected_version=consultation.version, user=doctor, actor=ACTOR)
    assert visit.status == "completed" and visit.completed_at is not None
    assert consultation.status == "signed" and [r.number for r in consultation.revisions] == [1]


def test_an_amendment_needs_a_reason_and_keeps_the_earlier_version(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    c = _save(session, visit, doctor, main_code="J06.9", outcome_code="1", discharge_code="1")
    svc.complete(session, visit, expected_version=c.version, user=doctor, actor=ACTOR)
    with pytest.raises(ValidationFailed, match="cần ghi lý do"):
        _save(session, visit, doctor, version=c.version, main_code="J02.9", outcome_code="1", discharge_code="1")
    with pytest.raises(ValidationFailed, match="giữ chẩn đoán chính"):
        _save(session, visit, doctor, version=c.version, amend_reason="Bỏ chẩn đoán", outcome_code="1",
              discharge_code="1")
    svc.save_consultation(session, visit, svc.ConsultationInput(
        reason="Ho, sốt", examination="Họng đỏ, có mủ", main_code="J02.9", outcome_code="1", discharge_code="1"),
        expected_version=c.version, user=doctor, actor=ACTOR, amend_reason="Sửa chẩn đoán sau khi khám lại")
    views = svc.revision_views(c)
    assert [v.revision.number for v in views] == [2, 1]
    assert views[1].data["diagnoses"][0]["code"] == "J06.9" and views[0].data["diagnoses"][0]["code"] == "J02.9"
    assert "Chẩn đoán" in views[0].changed and views[0].revision.reason == "Sửa chẩn đoán sau khi khám lại"
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(c.id))))
    assert "consultation.sign" in actions and "consultation.amend" in actions
    detail = json.loads(session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "consultation.amend")))
    assert detail["reason"] == "Sửa chẩn đoán sau khi khám lại" and detail["revision"] == 2


def test_draft_is_kept_per_visit_and_user_and_dropped_after_a_save(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    svc.save_draft(session, visit, user=doctor, payload={"history": "Sốt 3 ngày", "bogus": "x"}, base_version=0,
                   actor=ACTOR)
    svc.save_draft(session, visit, user=doctor, payload={"history": "Sốt 3 ngày, ho"}, base_version=0, actor=ACTOR)
    draft = svc.load_draft(session, visit.id, doctor.id)
    assert json.loads(draft.payload) == {"history": "Sốt 3 ngày, ho"}
    _save(session, visit, doctor)
    assert svc.load_draft(session, visit.id, doctor.id) is None


def test_services_are_ordered_from_the_list_and_cancelled_with_a_reason(ctx):
    session, world, doctor = ctx
    from station.catalog import services as catalog

    visit = session.get(Visit, world.visit)
    item = catalog.save_service(session, {"code": "DV002", "name": "Đo đường huyết mao mạch", "kind": "xét nghiệm",
                                          "price": "15.200"}, actor=ACTOR)
    _save(session, visit, doctor, main_code="E11.9")
    order = svc.order_service(session, visit, service_id=item.id, quantity="2", user=doctor, actor=ACTOR)
    assert (order.service_code, order.quantity, order.unit_price, order.icd10_code) == ("DV002", 2, 15200, "E11.9")
    with pytest.raises(ValidationFailed, match="từ 1 đến 100"):
        svc.order_service(session, visit, service_id=item.id, quantity="0", user=doctor, actor=ACTOR)
    with pytest.raises(ValidationFailed, match="lý do"):
        svc.cancel_service_order(session, order, reason="", actor=ACTOR)
    svc.cancel_service_order(session, order, reason="Người bệnh từ chối", actor=ACTOR)
    assert svc.service_orders(session, visit.id, include_cancelled=False) == []


def test_working_days_skip_weekends_and_holidays_from_the_day_after_signing():
    # Friday 24/04/2026: Mon 27/04 (Giỗ Tổ, moved), Thu 30/04 and Fri 01/05 are holidays.
    assert svc.add_working_days(date(2026, 4, 24), 10) == date(2026, 5, 13)
    assert svc.add_working_days(date(2026, 3, 2), 10, off=frozenset(), weekend=frozenset({5, 6})) == date(2026, 3, 16)
    assert svc.add_working_days(date(2026, 3, 7), 1, off=frozenset(), weekend=frozenset({5, 6})) == date(2026, 3, 9)


def test_referral_is_numbered_and_valid_ten_working_days(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    with pytest.raises(ValidationFailed, match="nơi chuyển đến"):
        svc.save_referral(session, visit, {"reason": "Nghi viêm ruột thừa"}, user=doctor, actor=ACTOR)
    referral = svc.save_referral(session, visit, {
        "destination_name": "Bệnh viện Đa khoa Xanh Pôn", "destination_code": "01003", "reason": "Nghi viêm ruột thừa",
        "findings": "Đau hố chậu phải", "treatment_given": "Chưa dùng thuốc", "condition_at_transfer": "Tỉnh",
        "transport": "Xe cấp cứu 115", "accompanying_staff": "ĐD Lê Thị Lan"}, user=doctor, actor=ACTOR)
    assert referral.number.endswith("CT00001")
    assert referral.valid_until == svc.add_working_days(referral.issued_on, 10)
    with pytest.raises(ValidationFailed, match="MA_NOI_DEN"):
        svc.save_referral(session, visit, {"destination_name": "BV", "destination_code": "1", "reason": "Chuyển tuyến"},
                          user=doctor, actor=ACTOR)


def test_call_next_opens_the_longest_waiting_visit_of_the_room(ctx):
    session, world, doctor = ctx
    other = factories.visit(session, factories.patient(session, name="Trần Thị Bình"), room="PK2")
    called = svc.call_next(session, room_code="PK1", user=doctor, actor=ACTOR)
    assert called.id == world.visit and called.status == "in_consultation" and called.doctor_id == doctor.id
    with pytest.raises(NotFound, match="không còn"):
        svc.call_next(session, room_code="PK1", user=doctor, actor=ACTOR)
    assert svc.call_next(session, room_code="", user=doctor, actor=ACTOR).id == other.id
    rows = svc.worklist(session)
    assert {r.visit.id for r in rows} == {world.visit, other.id}


def test_timeline_lists_consultations_with_diagnoses_and_prescriptions(ctx):
    session, world, doctor = ctx
    from station.patients.models import Patient
    from station.prescriptions import services as rx

    visit = session.get(Visit, world.visit)
    c = _save(session, visit, doctor, main_code="J06.9", secondary_codes="I10", outcome_code="1", discharge_code="1")
    draft = rx.draft_for_visit(session, visit, user=doctor, actor=ACTOR)
    rx.add_line(session, draft, drug_id=world.drugs["PARA500"], dose_per_time="1", times_per_day="3", days="3",
                actor=ACTOR)
    rx.issue(session, draft, rx.IssueDetails(advice="Uống nhiều nước"), user=doctor, actor=ACTOR)
    svc.complete(session, visit, expected_version=c.version, user=doctor, actor=ACTOR)
    found = timeline.entries(session, session.get(Patient, world.patient))
    kinds = {e.kind: e for e in found}
    assert "J06.9 - " in kinds["consultation"].detail[0] and kinds["consultation"].url.endswith(str(visit.id))
    assert kinds["prescription"].title.startswith("Đơn thuốc 01001") and "09 Viên" in kinds["prescription"].detail[0]


def test_referral_and_follow_up_change_after_signing_only_as_amendments(ctx):
    session, world, doctor = ctx
    visit = session.get(Visit, world.visit)
    referral_data = {"destination_name": "Bệnh viện Bạch Mai", "destination_code": "01905",
                     "reason": "Vượt khả năng chuyên môn", "transport": "Xe cứu thương"}
    svc.save_referral(session, visit, referral_data, user=doctor, actor=ACTOR)
    c = _save(session, visit, doctor, main_code="J06.9", outcome_code="1", discharge_code="1")
    svc.complete(session, visit, expected_version=c.version, user=doctor, actor=ACTOR)
    with pytest.raises(ValidationFailed, match="cần ghi lý do"):
        svc.save_referral(session, visit, {**referral_data, "transport": "Xe taxi"}, user=doctor, actor=ACTOR)
    svc.save_referral(session, visit, {**referral_data, "transport": "Xe taxi", "amend_reason": "Gia đình tự đưa đi"},
                      user=doctor, actor=ACTOR)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "referral.amend"))
    detail = json.loads(event.detail)
    assert detail["reason"] == "Gia đình tự đưa đi" and detail["before"]["transport"] == "Xe cứu thương"

    svc.save_follow_up(session, visit, {"appointment_on": "2026-12-20"}, user=doctor, actor=ACTOR, print_slip=False)
    with pytest.raises(ValidationFailed, match="cần ghi lý do"):
        svc.save_follow_up(session, visit, {"appointment_on": "2026-12-22"}, user=doctor, actor=ACTOR,
                           print_slip=False)
    svc.save_follow_up(session, visit, {"appointment_on": "2026-12-22", "amend_reason": "Người bệnh xin đổi ngày"},
                       user=doctor, actor=ACTOR, print_slip=False)
    consultation = svc.get_consultation(session, visit.id)
    assert consultation.follow_up_on == date(2026, 12, 22)  # the consultation and XML14 agree
    assert consultation.revisions[-1].reason == "Người bệnh xin đổi ngày"
