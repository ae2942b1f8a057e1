"""SqlChangeStore + push_now against the reference hub over real HTTP on loopback."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from station.patients.models import Patient
from station.sync import service
from station.sync.models import ChangeLog, SetAsideChange
from tests.conftest import PG_URL, Auth
from station.auth.roles import Role
from tests.sync.conftest import STATION, Hub
from tests.sync.station_data import add_patients, configure, fast, log_seqs, validate_fhir
from tests.sync.test_push_hub import rebaseline as hub_rebaseline


def push(app: Flask, hub: Hub, **kw: object) -> service.RunResult:
    """Push with quick retries and a 30 s deadline."""
    return service.push_now(app, client=hub.client(), deadline=time.monotonic() + 30, **fast(), **kw)  # type: ignore[arg-type]


def test_every_change_arrives_once_in_order_as_fhir_r4(app: Flask, hub: Hub) -> None:
    from station.extensions import db

    configure(app, hub.url, batch_size=7)
    ids = add_patients(app, 10)
    with app.app_context():  # an update and a delete: a later upsert and a tombstone
        patient = db.session.get(Patient, uuid.UUID(ids[0]))
        patient.phone = "0987000111"
        db.session.commit()
    result = push(app, hub)
    assert result.ok and result.report.batches >= 4
    seqs = log_seqs(app)
    assert hub.seqs() == seqs  # every change once, in order
    stored = hub.store.station_changes(STATION)
    kinds = {c["payload"]["resourceType"] for c in stored if c["payload"]}
    assert {"Patient", "Encounter", "Observation"} <= kinds
    for change in stored:
        assert change["op"] == "upsert"
        validate_fhir(change["payload"])
    assert any(c["payload"].get("telecom", [{}])[0].get("value") == "0987000111" for c in stored
               if c["payload"]["resourceType"] == "Patient")

    with app.app_context():
        state = service.current_state(db.session)
        assert state.acked_seq == seqs[-1] and state.last_result == "ok" and state.last_success_at
        db.session.remove()
    # A change made after the push goes in the next push, alone.
    add_patients(app, 1, start=100, with_visit=False)
    again = push(app, hub)
    assert again.ok and again.report.changes == 1
    assert hub.seqs() == log_seqs(app)


def test_deleted_entity_is_sent_as_tombstone(app: Flask, hub: Hub) -> None:
    from station.extensions import db

    configure(app, hub.url)
    ids = add_patients(app, 1, with_visit=False)
    with app.app_context():
        db.session.delete(db.session.get(Patient, uuid.UUID(ids[0])))
        db.session.commit()
    assert push(app, hub).ok
    stored = hub.store.station_changes(STATION)
    # The upsert row's entity is gone: it travels as a delete too (current truth), then the tombstone.
    assert [(c["op"], c["payload"]) for c in stored] == [("delete", None), ("delete", None)]


def test_poison_records_are_set_aside_listed_and_retried(app: Flask, hub: Hub, auth: Auth, make_user) -> None:  # type: ignore[no-untyped-def]
    from station.extensions import db

    configure(app, hub.url)
    add_patients(app, 2, with_visit=False)
    with app.app_context():
        # A tombstone the hub refuses (entity_id not a UUID) and a type with no FHIR mapping yet.
        db.session.add(ChangeLog(entity="Patient", entity_id="khong-phai-uuid", op="delete", version=1,
                                 txn_id=str(uuid.uuid4()), changed_at=service.now_utc()))
        db.session.add(ChangeLog(entity="Chưa-ánh-xạ", entity_id=str(uuid.uuid4()), op="upsert", version=1,
                                 txn_id=str(uuid.uuid4()), changed_at=service.now_utc()))
        db.session.commit()
        db.session.remove()
    add_patients(app, 1, start=10, with_visit=False)
    result = push(app, hub)
    assert result.ok and [r.code for r in result.report.set_aside] == ["bad_entity_id"]
    seqs = log_seqs(app)
    assert hub.seqs() == [seqs[0], seqs[1], seqs[4]]  # the rest went through
    with app.app_context():
        aside = {a.seq: a.reason for a in db.session.scalars(select(SetAsideChange))}
        db.session.remove()
    assert set(aside) == {seqs[2], seqs[3]}
    assert "bad_entity_id" in aside[seqs[2]] and "chưa có ánh xạ FHIR" in aside[seqs[3]]

    make_user(Role.ADMIN)
    auth.login("admin.test")
    page = auth.client.get("/sync/").get_data(as_text=True)
    assert "Bản ghi tạm gác" in page and "khong-phai-uuid" in page and "chưa có ánh xạ FHIR" in page
    # Retry: the set-aside row is resolved and a fresh change-log row queued for the next push.
    response = auth.post(f"/sync/set-aside/{seqs[3]}/retry")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(SetAsideChange, seqs[3]).resolved
        assert service.status(app, db.session)["pending"] == 1
        db.session.remove()


@pytest.mark.skipif(bool(PG_URL), reason="restores a copy of the SQLite database file")
def test_restored_backup_is_refused_then_rebaselined(app: Flask, hub: Hub, auth: Auth, make_user,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    from station.extensions import db

    configure(app, hub.url)
    add_patients(app, 3)
    assert push(app, hub).ok
    db_file = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with app.app_context():
        db.engine.dispose()
    backup = tmp_path / "backup.sqlite"
    shutil.copyfile(db_file, backup)
    first = log_seqs(app)[-1]

    add_patients(app, 3, start=10)
    assert push(app, hub).ok
    held = hub.seqs()

    with app.app_context():  # restore the backup, then the staff keep working
        db.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(db_file) + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, db_file)
    add_patients(app, 2, start=20)

    refused = push(app, hub)
    assert not refused.ok and refused.skipped == "needs_rebaseline"
    assert hub.seqs() == held  # nothing overwritten at the hub
    make_user(Role.ADMIN)
    auth.login("admin.test")
    page = auth.client.get("/sync/").get_data(as_text=True)
    assert "khôi phục từ bản sao lưu" in page and "Đồng bộ lại mốc" in page

    # The hub operator re-baselines the station (archiving what the lost database had sent) ...
    assert hub_rebaseline(hub, {"db_identity": None, "acked_seq": first})[0] == 200
    # ... then the station's admin confirms, with a reason; the point comes from the hub.
    response = auth.post("/sync/rebaseline", {"reason": "Khôi phục bản sao lưu ngày 24/11", "confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        state = service.current_state(db.session)
        assert not state.needs_rebaseline and state.acked_seq == first
        from station.audit.models import AuditEvent

        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sync.rebaseline")) is not None
        db.session.remove()
    again = push(app, hub)
    assert again.ok
    assert hub.seqs() == log_seqs(app)  # the restored database's log, exactly once
    assert hub.store.cursor(STATION).db_identity != held and hub.store.cursor(STATION).acked_seq == log_seqs(app)[-1]


def test_hub_refusal_without_marker_sets_needs_rebaseline(app: Flask, hub: Hub) -> None:
    """A restored copy on a machine without the marker: the hub is ahead of the log and refuses."""
    from station.extensions import db

    configure(app, hub.url)
    add_patients(app, 2)
    assert push(app, hub).ok
    with app.app_context():  # simulate a log that went back (a restore elsewhere): drop the tail
        last = log_seqs(app)[-1]
        db.session.execute(ChangeLog.__table__.delete().where(ChangeLog.seq > last - 2))
        service.current_state(db.session).acked_seq = last - 3
        db.session.commit()
        db.session.remove()
    service.marker_path(app).unlink()
    result = push(app, hub)
    assert result.report.outcome == "refused" and result.report.error_code == "hub_ahead_of_log"
    with app.app_context():
        assert service.current_state(db.session).needs_rebaseline
        db.session.remove()


def test_two_runs_never_overlap(app: Flask, hub: Hub) -> None:
    configure(app, hub.url)
    with app.app_context():
        factory = service.session_factory()
        other = "another-host:1:x"
        assert service.acquire_lease(factory, other, service.now_utc() + service.timedelta(minutes=5))
        with pytest.raises(service.SyncBusy):
            push(app, hub)
        service.release_lease(factory, other)
        # A lease left by a dead process on this host is taken over.
        import socket

        dead = f"{socket.gethostname()}:999999:y"
        assert service.acquire_lease(factory, dead, service.now_utc() + service.timedelta(minutes=5))
    assert push(app, hub).ok
