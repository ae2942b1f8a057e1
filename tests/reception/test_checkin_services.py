"""Check-in services: QR → visit + number + ticket job; double scans; merges; bad scans."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from station.clock import UTC, FrozenClock
from station.errors import ValidationFailed
from station.patients.models import Patient
from station.printing.models import PrintJob
from station.reception import services
from station.visits.models import Visit
from tests.reception.conftest import ACTOR, QR_AN, QR_AN_MOVED, QR_BICH

MORNING = datetime(2026, 3, 16, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội


def _register(session, qr, clock):  # type: ignore[no-untyped-def]
    patient = services.register_from_qr(session, qr, actor=ACTOR, clock=clock)
    session.flush()
    return patient


def test_unknown_card_creates_nothing(station):
    from station.extensions import db

    with station.app_context():
        result = services.checkin_from_qr(db.session, QR_BICH, room_code="PK1", actor=ACTOR, clock=FrozenClock(MORNING))
        assert result.status == "unknown_patient"
        assert result.as_json()["card"]["name"] == "Trần Thị Bích"
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 0
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_known_card_opens_visit_number_and_ticket_job_together(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        _register(db.session, QR_BICH, clock)
        result = services.checkin_from_qr(db.session, QR_BICH, room_code="PK1", actor=ACTOR, clock=clock)
        db.session.commit()
        assert result.status == "checked_in"
        visit, ticket, job = result.visit, result.ticket, result.print_job
        assert visit.visit_key == "01001-20260316-00001" and visit.visit_type == "01"
        assert visit.eligibility == "to_verify"  # has a CCCD: the card will be looked up
        assert ticket.number == "PK1-001" and ticket.state == "waiting"
        payload = json.loads(job.payload)
        assert set(payload) == {"station_name", "room", "number", "patient_name", "issued_at", "visit_key"}
        assert payload["number"] == "PK1-001" and payload["patient_name"] == "Trần Thị Bích"
        assert payload["issued_at"].startswith("2026-03-16T08:30")
        assert job.subject_id == str(visit.id) and job.room_code == "PK1"
        assert result.changes == []


def test_elderly_gets_priority_and_ticket_note(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        _register(db.session, QR_AN, clock)
        result = services.checkin_from_qr(db.session, QR_AN, room_code="PK1", actor=ACTOR, clock=clock)
        assert result.ticket.priority_reason == "elderly" and result.ticket.priority > 0
        assert "Người cao tuổi" in json.loads(result.print_job.payload)["note"]


def test_double_scan_within_window_reuses_the_visit(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        _register(db.session, QR_BICH, clock)
        first = services.checkin_from_qr(db.session, QR_BICH, room_code="PK1", actor=ACTOR, clock=clock)
        db.session.commit()
        clock.advance(minutes=3)
        second = services.checkin_from_qr(db.session, QR_BICH, room_code="PK1", actor=ACTOR, clock=clock)
        db.session.commit()
        assert second.status == "existing_visit" and second.visit.id == first.visit.id
        assert second.print_job is None
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 1
        clock.advance(minutes=30)
        third = services.checkin_from_qr(db.session, QR_BICH, room_code="PK1", actor=ACTOR, clock=clock,
                                         config={"RECEPTION_DOUBLE_SCAN_MINUTES": 10})
        assert third.status == "checked_in" and third.ticket.number == "PK1-002"


def test_numbers_restart_each_local_day(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        patient = _register(db.session, QR_BICH, clock)
        services.checkin(db.session, patient, room_code="PK2", actor=ACTOR, clock=clock)
        db.session.commit()
        clock.advance(days=1)
        result = services.checkin(db.session, patient, room_code="PK2", actor=ACTOR, clock=clock)
        assert result.ticket.number == "PK2-001"
        assert result.visit.visit_key.endswith("20260317-00001")


def test_changed_address_is_offered_and_accepted(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        patient = _register(db.session, QR_AN, clock)
        result = services.checkin_from_qr(db.session, QR_AN_MOVED, room_code="PK1", actor=ACTOR, clock=clock)
        assert [c.field for c in result.changes] == ["card_address"]
        assert result.changes[0].new == "Phường Tây Hồ, Hà Nội"
        qr = services.parse_scan(QR_AN_MOVED, today=MORNING.date())
        assert services.accept_changes(db.session, patient, qr, ["card_address"], actor=ACTOR) == ["card_address"]
        assert patient.card_address == "Phường Tây Hồ, Hà Nội"


@pytest.mark.parametrize("garbage", ["", "hello world", "001050123456|012345678|NGUYỄN VĂN AN|010119",
                                     "https://example.com/?q=1", "001050123456|0123"])
def test_garbage_and_half_scans_give_a_clear_message(station, garbage):
    from station.extensions import db

    with station.app_context():
        with pytest.raises(ValidationFailed) as error:
            services.checkin_from_qr(db.session, garbage, room_code="PK1", actor=ACTOR)
        assert "Không đọc được mã QR căn cước" in error.value.message
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_merged_card_lands_on_the_survivor(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        old = _register(db.session, QR_AN, clock)
        survivor = Patient(code="01001-0009999", full_name="Nguyễn Văn An", name_folded="nguyen van an",
                           birth_date=old.birth_date, birth_year=1950, sex="male")
        db.session.add(survivor)
        db.session.flush()
        old.status, old.merged_into_id = "merged", survivor.id
        db.session.flush()
        result = services.checkin_from_qr(db.session, QR_AN, room_code="PK1", actor=ACTOR, clock=clock)
        assert result.visit.patient_id == survivor.id
        assert result.merged_from == old.code
        assert any("đã được gộp" in w for w in result.warnings)


def test_unknown_room_is_refused(station):
    from station.extensions import db

    with station.app_context():
        patient = _register(db.session, QR_BICH, FrozenClock(MORNING))
        with pytest.raises(ValidationFailed, match="Phòng «XX»"):
            services.checkin(db.session, patient, room_code="XX", actor=ACTOR)


def test_manual_search(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        patient = _register(db.session, QR_BICH, clock)
        assert services.search_patients(db.session, actor=ACTOR, cccd="001195001234") == [patient]
        assert services.search_patients(db.session, actor=ACTOR, name="tran thi bich",
                                        birth_date=patient.birth_date) == [patient]
        with pytest.raises(ValidationFailed):
            services.search_patients(db.session, actor=ACTOR, cccd="12345")
        with pytest.raises(ValidationFailed, match="15 ký tự"):
            services.search_patients(db.session, actor=ACTOR, bhyt="GD40")
        with pytest.raises(ValidationFailed):
            services.search_patients(db.session, actor=ACTOR)


def test_check_in_uses_the_card_valid_today_not_an_expired_one(station):
    from datetime import date

    from station.extensions import db
    from station.patients.models import BhytCard
    from station.reception import services
    from tests.reception.conftest import ACTOR, QR_AN

    with station.app_context():
        patient = services.register_from_qr(db.session, QR_AN, actor=ACTOR)
        db.session.add_all([
            BhytCard(patient=patient, card_code="HT3010120878811", valid_from=date(2024, 1, 1), valid_to=date(2024, 12, 31)),
            BhytCard(patient=patient, card_code="HT3010120878811", valid_from=None, valid_to=None),
        ])
        db.session.flush()
        db.session.expire(patient, ["bhyt_cards"])
        result = services.checkin(db.session, patient, room_code="PK1", actor=ACTOR)
        assert result.visit.bhyt_card is not None and result.visit.bhyt_card.valid_to is None
