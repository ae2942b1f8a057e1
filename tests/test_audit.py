"""The audit trail is append-only and hash-chained: tampering is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from station.audit import services as audit
from station.audit.models import AuditEvent, AuditTamperError
from station.audit.services import Actor

ACTOR = Actor("u1", "bs.hoa", "192.168.1.20")


def _seed(n: int = 5) -> None:
    from station.extensions import db

    for i in range(n):
        audit.record(db.session, ACTOR, "patient.view", entity_type="patient", entity_id=f"p{i}")
    db.session.commit()


def test_chain_verifies_when_untouched(app):
    from station.extensions import db

    with app.app_context():
        _seed()
        report = audit.verify_chain(db.session)
        assert report.ok and report.checked == 5


def test_edited_row_is_detected(app, runner):
    from station.extensions import db

    with app.app_context():
        _seed()
        # Tamper behind the ORM's back, as someone with the database file could.
        db.session.execute(text("UPDATE audit_events SET actor_label = 'someone' WHERE id = 3"))
        db.session.commit()
        report = audit.verify_chain(db.session)
        assert not report.ok and report.broken_at == 3 and "edited" in report.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN at event #3" in result.output


def test_deleted_row_is_detected(app):
    from station.extensions import db

    with app.app_context():
        _seed()
        db.session.execute(text("DELETE FROM audit_events WHERE id = 2"))
        db.session.commit()
        report = audit.verify_chain(db.session)
        assert not report.ok and report.broken_at == 3


def test_orm_refuses_to_change_or_delete_events(app):
    from station.extensions import db

    with app.app_context():
        _seed(1)
        event = db.session.get(AuditEvent, 1)
        event.action = "patient.update"
        with pytest.raises(AuditTamperError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, 1))
        with pytest.raises(AuditTamperError):
            db.session.flush()


def test_cli_verify_reports_ok(app, runner):
    with app.app_context():
        _seed(3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "3 events verified" in result.output
