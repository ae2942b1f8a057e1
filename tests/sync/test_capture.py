"""The change log: every change of a synced entity is captured in the same transaction."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from station.patients.models import Allergy, Patient, PatientIdentifier
from station.sync.capture import Synced
from station.sync.models import ChangeLog

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def _patient(code: str = "01001-0000001") -> Patient:
    return Patient(code=code, full_name="Nguyễn Văn An", name_folded="nguyen van an", birth_date=date(1990, 1, 2),
                   birth_year=1990, sex="male")


def _log(session) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return [(r.entity, r.op, r.version) for r in session.scalars(select(ChangeLog).order_by(ChangeLog.seq))]


def test_insert_update_child_change_and_delete_are_logged(app):
    from station.extensions import db

    with app.app_context():
        patient = _patient()
        db.session.add(patient)
        db.session.commit()
        assert _log(db.session) == [("Patient", "upsert", 1)]

        patient.phone = "0912345678"
        db.session.commit()
        # A child row (identifier) changes its parent aggregate.
        db.session.add(PatientIdentifier(patient=patient, kind="cccd", value="001090012345"))
        db.session.commit()
        db.session.add(Allergy(patient=patient, category="drug", substance="amoxicillin"))
        db.session.commit()
        log = _log(db.session)
        assert [entry[:2] for entry in log] == [("Patient", "upsert")] * 4
        assert [entry[2] for entry in log] == [1, 2, 3, 4]  # each child change is a new version

        db.session.delete(patient)
        db.session.commit()
        assert _log(db.session)[-1][:2] == ("Patient", "delete")
        rows = db.session.scalars(select(ChangeLog)).all()
        assert all(r.entity_id == str(patient.id) for r in rows)
        assert [r.seq for r in rows] == sorted(r.seq for r in rows)


def test_removing_a_child_from_its_parent_logs_the_parent(app):
    from station.extensions import db

    with app.app_context():
        patient = _patient()
        allergy = Allergy(category="drug", substance="amoxicillin")
        patient.allergies.append(allergy)
        db.session.add(patient)
        db.session.commit()
        before = len(_log(db.session))
        patient.allergies.remove(allergy)
        db.session.commit()
        log = _log(db.session)
        assert len(log) == before + 1 and log[-1][:2] == ("Patient", "upsert")


def test_a_rolled_back_change_leaves_no_log_row(app):
    from station.extensions import db

    with app.app_context():
        db.session.add(_patient())
        db.session.flush()
        db.session.rollback()
        assert _log(db.session) == []


def test_one_transaction_shares_one_txn_id(app):
    from station.extensions import db

    with app.app_context():
        db.session.add_all([_patient("A"), _patient("B")])
        db.session.flush()
        db.session.add(_patient("C"))
        db.session.commit()
        txns = {r.txn_id for r in db.session.scalars(select(ChangeLog))}
        assert len(txns) == 1


def test_concurrent_edit_of_the_same_version_is_refused(app):
    from station.extensions import db

    with app.app_context():
        patient = _patient()
        db.session.add(patient)
        db.session.commit()
        pid = patient.id
        # Another writer changes the row behind this session's back.
        db.session.execute(Patient.__table__.update().where(Patient.id == pid).values(version=5))
        patient.phone = "0900000000"
        with pytest.raises(StaleDataError):
            db.session.flush()


def test_every_clinical_table_is_synced(app):
    """A model holding patient data must be Synced or name its synced parent, or it never reaches the hub."""
    from station.extensions import db

    local_only = {
        "patient_merges",       # the merge itself is audited; its effects are logged on the records
        "patient_name_tokens",  # a derived search index, rebuilt from the record
        "queue_tickets",        # the day's queue is operational; the visit carries the clinical facts
    }
    missing = []
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        table = getattr(cls, "__tablename__", "")
        if "patient_id" not in mapper.columns or table in local_only:
            continue
        if not (issubclass(cls, Synced) or getattr(cls, "__sync_parent__", None)):
            missing.append(table)
    assert missing == []
