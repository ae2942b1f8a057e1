"""Builders shared by the consultation, prescription and catalogue tests (real database rows)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from station.admin import services as admin_services
from station.audit.services import Actor
from station.auth.models import User
from station.catalog import services as catalog
from station.clock import SystemClock
from station.patients.models import Allergy, Patient
from station.text import fold
from station.visits.models import Visit

ACTOR = Actor("test", "test", "127.0.0.1")

DRUGS = [
    {"code": "PARA500", "inn": "Paracetamol", "brand_name": "Panadol", "strength": "500mg", "unit": "Viên",
     "price": "600"},
    {"code": "AMOX500", "inn": "Amoxicillin", "brand_name": "Amoxicillin 500", "strength": "500mg", "unit": "Viên",
     "price": "850"},
    {"code": "AMLO5", "inn": "Amlodipin", "brand_name": "Amlor", "strength": "5mg", "unit": "Viên", "price": "1200"},
    {"code": "EFF150", "inn": "Paracetamol", "brand_name": "Efferalgan 150", "strength": "150mg", "unit": "Gói",
     "price": "2500"},
    {"code": "AUG625", "inn": "Amoxicillin + Acid clavulanic", "brand_name": "Augmentin 625", "strength": "625mg",
     "unit": "Viên", "price": "9800"},
    {"code": "DIAZ5", "inn": "Diazepam", "brand_name": "Seduxen", "strength": "5mg", "unit": "Viên",
     "prescription_type": "H"},
    {"code": "TPCN1", "inn": "Vitamin tổng hợp", "brand_name": "Bổ não X", "unit": "Viên", "supplement": True},
]


def facility(session: Any) -> None:
    """Create the station identity (MA_CSKCB 01001)."""
    if admin_services.get_facility(session) is None:
        admin_services.save_facility(session, name="Trạm Y tế phường Hoàn Kiếm", facility_code="01001",
                                     province_code="01", commune_code="00070", actor=ACTOR)


def drugs(session: Any) -> dict[str, Any]:
    """Create the test formulary; return {code: Drug}."""
    made = {}
    for spec in DRUGS:
        made[spec["code"]] = catalog.save_drug(session, dict(spec), actor=ACTOR)
    return made


def patient(session: Any, *, name: str = "Nguyễn Văn An", birth: date = date(1970, 5, 1), allergies: tuple[str, ...] = (),
            guardian: str = "") -> Patient:
    """Create a patient with optional drug allergies (substance = INN)."""
    found = Patient(code=f"01001-{abs(hash(name)) % 10**7:07d}", full_name=name, name_folded=fold(name),
                    birth_date=birth, birth_year=birth.year, sex="male", street="12 Hàng Bài", hamlet="Tổ 3",
                    guardian_name=guardian)
    session.add(found)
    session.flush()
    for substance in allergies:
        session.add(Allergy(patient_id=found.id, category="drug", substance=substance, reaction="Nổi mẩn"))
    session.flush()
    return found


def visit(session: Any, who: Patient, *, room: str = "PK1", arrived: datetime | None = None) -> Visit:
    """Open a visit for *who* in *room*."""
    made = Visit(visit_key=f"LK-{who.code}-{datetime.now().timestamp()}", patient_id=who.id, room_code=room,
                 status="open", arrived_at=arrived or SystemClock().now() - timedelta(minutes=20))
    session.add(made)
    session.flush()
    return made


def user(session: Any, username: str) -> User:
    """Return the staff account *username*."""
    return session.scalar(select(User).where(User.username == username))


def dec(text: str) -> Decimal:
    return Decimal(text)
