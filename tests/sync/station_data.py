"""Helpers for station-side sync tests: a configured station with real records in its database."""

from __future__ import annotations

import importlib
import random
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select

from station.audit.services import Actor
from station.patients.models import Patient, PatientIdentifier
from station.sync.backoff import Backoff
from station.sync.models import ChangeLog
from station.visits.models import Observation, Visit
from tests.sync.conftest import SECRET, STATION

T0 = datetime(2026, 11, 25, 1, 30, tzinfo=timezone.utc)


def configure(app: Flask, hub_url: str, **extra: Any) -> None:
    """Create the facility row and point the station at the hub."""
    from station.admin import services as admin_services
    from station.extensions import db

    app.config.update(SYNC_HUB_URL=hub_url, SYNC_STATION_ID=STATION, SYNC_KEY=SECRET, SYNC_TIMEOUT=5,
                      SYNC_BATCH_SIZE=extra.pop("batch_size", 500), **extra)
    with app.app_context():
        if admin_services.get_facility(db.session) is None:
            admin_services.save_facility(db.session, name="Trạm Y tế phường Hoàn Kiếm", facility_code="01001",
                                         province_code="01", commune_code="00070", actor=Actor.system("test"))
            db.session.commit()


def add_patients(app: Flask, n: int, start: int = 0, *, with_visit: bool = True) -> list[str]:
    """Create *n* patients (with a CCCD, and a visit and a vital sign each); return their ids."""
    from station.extensions import db

    ids = []
    with app.app_context():
        for i in range(start, start + n):
            patient = Patient(code=f"01001-{i:07d}", full_name=f"Nguyễn Văn An {i}", name_folded=f"nguyen van an {i}",
                              birth_date=date(1980, 5, 17), birth_year=1980, sex="male" if i % 2 else "female",
                              phone="0912345678", province_code="01", commune_code="00070")
            patient.identifiers.append(PatientIdentifier(kind="cccd", value=f"0010800{i:05d}"))
            db.session.add(patient)
            if with_visit:
                visit = Visit(visit_key=f"01001.20261125.{i:04d}", patient=patient, arrived_at=T0, room_code="PK1",
                              reason="Sốt, ho", status="completed", completed_at=T0)
                db.session.add(visit)
                db.session.flush()
                db.session.add(Observation(visit_id=visit.id, patient_id=patient.id, kind="bp_systolic",
                                           loinc="8480-6", value=Decimal("128"), unit="mm[Hg]", recorded_at=T0))
            db.session.commit()
            ids.append(str(patient.id))
    return ids


def log_seqs(app: Flask) -> list[int]:
    """Return every seq of the station's change log."""
    from station.extensions import db

    with app.app_context():
        seqs = list(db.session.scalars(select(ChangeLog.seq).order_by(ChangeLog.seq)))
        db.session.remove()
        return seqs


def fast() -> dict[str, Any]:
    """push_all options for quick, deterministic retries."""
    return {"backoff": Backoff(base=0.01, cap=0.05, rng=random.Random(0)), "rng": random.Random(0)}


def validate_fhir(resource: dict[str, Any]) -> None:
    """Validate *resource* against the FHIR R4 (R4B) models of fhir.resources."""
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    getattr(module, kind).model_validate(resource)
