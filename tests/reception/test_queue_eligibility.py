"""Queue transitions and optimistic calls; triage vitals; BHYT eligibility with the loopback simulator."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from station.clock import UTC, FrozenClock
from station.errors import Conflict, NotFound, ValidationFailed
from station.reception import eligibility, queue, services
from station.reception.eligibility import HttpEligibilityAdapter, PortalSimulator
from station.reception.models import EligibilityCheck
from station.visits import services as visit_services
from tests.reception.conftest import ACTOR, QR_AN, QR_BICH

MORNING = datetime(2026, 3, 16, 1, 30, tzinfo=UTC)
CARD = {"maThe": "GD4010123456789", "maSoBHXH": "0123456789", "maDKBD": "01001", "gtTheTu": "01/01/2026",
        "gtTheDen": "31/12/2026", "maKV": "", "ngayDu5Nam": "01/01/2030"}


def _checkin(session, qr, clock, room="PK1"):  # type: ignore[no-untyped-def]
    patient = services.register_from_qr(session, qr, actor=ACTOR, clock=clock)
    return services.checkin(session, patient, room_code=room, actor=ACTOR, clock=clock)


def test_call_next_priority_then_arrival_and_two_callers(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        young = _checkin(db.session, QR_BICH, clock)
        clock.advance(minutes=1)
        old = _checkin(db.session, QR_AN, clock)  # born 1950: elderly, called first
        db.session.commit()
        clock.advance(minutes=12)
        called = queue.call_next(db.session, "PK1", actor=ACTOR, clock=clock)
        assert called.id == old.ticket.id and called.state == "called" and called.wait_seconds == 12 * 60
        stale_version = young.ticket.version
        queue.call_ticket(db.session, young.ticket, actor=ACTOR, expected_version=stale_version, clock=clock)
        db.session.commit()
        with pytest.raises(Conflict, match="vừa được người khác xử lý"):
            queue.call_ticket(db.session, young.ticket, actor=ACTOR, expected_version=stale_version, clock=clock)
        queue.start_consultation(db.session, called, actor=ACTOR, clock=clock)
        assert called.state == "in_consultation" and called.visit.status == "in_consultation"
        queue.finish(db.session, called, actor=ACTOR, clock=clock)
        queue.skip(db.session, young.ticket, actor=ACTOR, clock=clock)
        queue.mark_no_show(db.session, young.ticket, actor=ACTOR, clock=clock)
        assert young.visit.status == "cancelled"
        with pytest.raises(NotFound, match="Không còn người bệnh"):
            queue.call_next(db.session, "PK1", actor=ACTOR, clock=clock)
        stats = queue.waiting_statistics(db.session, day=clock.now().date())
        assert stats["called"] == 2 and stats["max_wait_min"] == 13.0
        board = queue.display_board(db.session, ["PK1"], day=clock.now().date())
        assert board["rooms"][0]["waiting"] == 0


def test_vitals_are_validated_stored_with_loinc_and_bmi(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context():
        visit = _checkin(db.session, QR_BICH, clock).visit
        with pytest.raises(ValidationFailed, match="Nhiệt độ 52"):
            visit_services.record_vitals(db.session, visit, {"temperature": "52"}, actor=ACTOR)
        with pytest.raises(ValidationFailed, match="không phải là số"):
            visit_services.record_vitals(db.session, visit, {"pulse": "abc"}, actor=ACTOR)
        with pytest.raises(ValidationFailed, match="tâm trương"):
            visit_services.record_vitals(db.session, visit, {"bp_systolic": "80", "bp_diastolic": "90"}, actor=ACTOR)
        visit_services.record_vitals(db.session, visit, {"pulse": "78", "bp_systolic": "120", "bp_diastolic": "80",
                                                         "temperature": "37,2", "resp_rate": "18", "spo2": "98",
                                                         "height": "160", "weight": "56"}, actor=ACTOR, clock=clock)
        vitals = visit_services.latest_vitals(db.session, visit)
        assert vitals["bmi"].value == Decimal("21.9") and vitals["bmi"].loinc == "39156-5"
        assert vitals["pulse"].loinc == "8867-4" and vitals["temperature"].value == Decimal("37.2")
        clock.advance(minutes=5)
        visit_services.record_vitals(db.session, visit, {"temperature": "38.1"}, actor=ACTOR, clock=clock)
        vitals = visit_services.latest_vitals(db.session, visit)
        assert vitals["temperature"].value == Decimal("38.1") and vitals["temperature"].replaces_id is not None
        rows = {r["kind"]: r["value"] for r in visit_services.vitals_summary(vitals)}
        assert rows["bp"] == "120/80 mmHg" and rows["temperature"] == "38,1 °C"


def test_portal_down_then_retry_verifies(station):
    from station.extensions import db

    clock = FrozenClock(MORNING)
    with station.app_context(), PortalSimulator({"001195001234": CARD}) as portal:
        adapter = HttpEligibilityAdapter(portal.url, timeout=2)
        visit = _checkin(db.session, QR_BICH, clock).visit
        portal.down = True
        outcome = eligibility.check_visit(db.session, visit, adapter, actor=ACTOR, clock=clock)
        db.session.commit()
        assert outcome.eligibility == "to_verify" and visit.eligibility == "to_verify"
        assert "vẫn được tiếp đón" in outcome.message
        portal.down = False
        assert eligibility.retry_pending(db.session, adapter, actor=ACTOR, clock=clock) == {"verified": 1}
        assert visit.eligibility == "verified" and visit.bhyt_card.card_code == "GD4010123456789"
        assert visit.bhyt_card.registered_facility == "01001" and visit.bhyt_card.verified_at is not None
        assert portal.requests[-1]["ngaySinh"] == "20/07/1995" and portal.requests[-1]["maThe"] == "001195001234"
        outcomes = db.session.scalars(select(EligibilityCheck.outcome).where(EligibilityCheck.visit_id == visit.id)).all()
        assert sorted(outcomes) == ["unreachable", "verified"]


def test_timeout_and_unreachable_portal_mean_to_verify(station):
    from station.extensions import db

    with station.app_context(), PortalSimulator({}) as portal:
        visit = _checkin(db.session, QR_BICH, FrozenClock(MORNING)).visit
        portal.delay = 0.5
        slow = HttpEligibilityAdapter(portal.url, timeout=0.1)
        assert eligibility.check_visit(db.session, visit, slow, actor=ACTOR).eligibility == "to_verify"
        closed = HttpEligibilityAdapter("http://127.0.0.1:9/none", timeout=0.5)
        assert eligibility.check_visit(db.session, visit, closed, actor=ACTOR).eligibility == "to_verify"


def test_expired_card_continues_without_insurance(station):
    from station.extensions import db

    expired = {**CARD, "gtTheTu": "01/01/2025", "gtTheDen": "31/12/2025"}
    with station.app_context(), PortalSimulator({"001195001234": expired}) as portal:
        visit = _checkin(db.session, QR_BICH, FrozenClock(MORNING)).visit
        outcome = eligibility.check_visit(db.session, visit, HttpEligibilityAdapter(portal.url), actor=ACTOR)
        assert outcome.eligibility == "rejected" and "hết hạn ngày 31/12/2025" in outcome.message
        assert "không có BHYT" in outcome.message and visit.status == "open"


def test_card_not_found_is_rejected(station):
    from station.extensions import db

    with station.app_context(), PortalSimulator({}) as portal:
        visit = _checkin(db.session, QR_BICH, FrozenClock(MORNING)).visit
        outcome = eligibility.check_visit(db.session, visit, HttpEligibilityAdapter(portal.url), actor=ACTOR)
        assert outcome.eligibility == "rejected" and "mã 010" in outcome.message


def test_cli_eligibility_retry(station, runner):
    from station.extensions import db

    with PortalSimulator({"001195001234": CARD}) as portal:
        with station.app_context():
            _checkin(db.session, QR_BICH, None)
            db.session.commit()
        result = runner.invoke(args=["eligibility", "retry"])
        assert result.exit_code != 0 and "ELIGIBILITY_URL" in result.output
        station.config["ELIGIBILITY_URL"] = portal.url
        result = runner.invoke(args=["eligibility", "retry"])
        assert result.exit_code == 0 and "verified: 1" in result.output
        result = runner.invoke(args=["rooms", "list"])
        assert "PK1" in result.output and "Phòng khám 1" in result.output
