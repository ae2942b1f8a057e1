"""Building form contexts from the station's own models (those that exist today).

Prescriptions, referrals, appointments and receipts are built by their areas
(consultation, billing) from their models; see :mod:`station.printing.forms_data`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.admin.models import Facility
from station.printing.forms_data import Diagnosis, FacilityInfo, PatientInfo, PatientSummaryForm, VisitSummary

SEX_LABELS = {"male": "Nam", "female": "Nữ", "undetermined": "Chưa xác định"}


def facility_info(session: Session) -> FacilityInfo:
    """Return the station's header block."""
    facility = session.scalar(select(Facility).limit(1))
    if facility is None:
        return FacilityInfo(name="Trạm Y tế")
    return FacilityInfo(name=facility.name, code=facility.facility_code, address=facility.address,
                        phone=facility.phone)


def patient_info(patient: Any) -> PatientInfo:
    """Return the identity block of a ``station.patients.models.Patient``."""
    card = max(patient.bhyt_cards, key=lambda c: c.valid_to or datetime.min.date(), default=None)
    id_number = next((i.value for i in patient.identifiers if i.status == "active"), "")
    address = ", ".join(part for part in (patient.street, patient.hamlet) if part) or patient.card_address
    exact = patient.birth_precision == "day"
    return PatientInfo(full_name=patient.full_name, birth_date=patient.birth_date if exact else None,
                       birth_year=patient.birth_year, sex=SEX_LABELS.get(patient.sex, patient.sex),
                       patient_code=patient.code, id_number=id_number,
                       bhyt_code=card.card_code if card else "", bhyt_valid_to=card.valid_to if card else None,
                       address=address, phone=patient.phone, occupation=patient.occupation)


def summary_from_patient(session: Session, patient: Any, *, now: datetime, visits: int = 10) -> PatientSummaryForm:
    """Build the record summary of *patient*: identity, allergies, chronic conditions, recent visits, vaccines."""
    from station.visits.models import Visit

    recent = session.scalars(select(Visit).where(Visit.patient_id == patient.id)
                             .order_by(Visit.arrived_at.desc()).limit(visits)).all()
    return PatientSummaryForm(
        facility=facility_info(session), generated_at=now, patient=patient_info(patient),
        blood_group=f"{patient.blood_group}{patient.blood_rh}" if patient.blood_group else "",
        allergies=[f"{a.substance}: {a.reaction}" if a.reaction else a.substance for a in patient.allergies],
        chronic_conditions=[Diagnosis(name=c.title, icd_code=c.icd10_code) for c in patient.conditions
                            if c.status == "active"],
        visits=[VisitSummary(visit_date=v.arrived_at.date(), reason=v.reason) for v in recent],
        vaccinations=[f"{v.vaccine_name} ({v.given_on:%d/%m/%Y})" for v in patient.vaccinations],
        notes="",
    )
