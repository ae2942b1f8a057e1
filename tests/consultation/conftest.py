"""Fixtures of the consultation tests: a doctor, a nurse, a station, a formulary, a patient and a visit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from station.auth.roles import Role
from tests.consultation import factories


@pytest.fixture
def world(app, make_user):  # type: ignore[no-untyped-def]
    """Commit a doctor (bs.test), a nurse, the station, the drugs, a patient allergic to amoxicillin and a visit."""
    make_user(Role.DOCTOR, username="bs.test", full_name="Nguyễn Thị Hòa")
    make_user(Role.NURSE, username="dd.test")
    with app.app_context():
        from station.extensions import db

        factories.facility(db.session)
        drugs = factories.drugs(db.session)
        patient = factories.patient(db.session, allergies=("Amoxicillin",))
        visit = factories.visit(db.session, patient)
        db.session.commit()
        ids = SimpleNamespace(patient=patient.id, visit=visit.id, drugs={c: d.id for c, d in drugs.items()})
    return ids
