"""The adapter between consultation data and billing/claims: the ONE place that reads their models.

Billing and claims never import the consultation, catalogue or prescription
models anywhere else.  This module turns a visit into

* :class:`SourceItem` rows: what was done and dispensed (services ordered,
  drugs dispensed, supplies used), keyed by the station's item code so that
  :mod:`station.billing.prices` can price them by the list in force on the
  visit date; and
* a :class:`ClinicalSummary`: diagnoses (main + secondary), outcome, end of the
  visit, doctor, referral (XML13) and follow-up slip (XML14).

The consultation area's models are read below, in one function each; a missing required piece (no main diagnosis) is
reported by :func:`station.claims.xml130.exportability`, never guessed.

A test or a deployment can replace the readers with :func:`register_reader`
(e.g. a station that imports visits from another system).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.visits.models import Visit


@dataclass(frozen=True)
class SourceItem:
    """One billable thing of a visit, before pricing."""

    ref: str  #: stable key within the visit, e.g. "service:<row id>"
    kind: str  #: "service", "drug" or "supply"
    code: str  #: the station's item code: the price-list key
    name: str
    quantity: Decimal
    claim_code: str = ""  #: MA_DICH_VU / MA_THUOC for the claim ("" → ``code``)
    unit: str = ""
    ordered_at: datetime | None = None
    service_ratio: Decimal = Decimal(100)  #: TYLE_TT_DV (second exam 30 %, ...)
    #: Descriptive claim columns: strength, route, dose text, registration number, doctor code ...
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Referral:
    """A referral paper written during the visit (XML13)."""

    number: str
    destination_code: str
    reason_code: str = ""
    clinical_signs: str = ""
    course: str = ""
    results_summary: str = ""
    treatment: str = ""
    direction: str = ""
    transport: str = ""
    escort_name: str = ""
    escort_title: str = ""
    doctor_code: str = ""


@dataclass(frozen=True)
class FollowUp:
    """A follow-up appointment slip (XML14)."""

    number: str
    appointment_at: datetime
    issued_on: date
    doctor_code: str = ""


@dataclass(frozen=True)
class ClinicalSummary:
    """What the claim needs from the consultation."""

    main_diagnosis: str = ""  #: ICD-10 code, as stored (never truncated)
    secondary_diagnoses: tuple[str, ...] = ()
    diagnosis_text: str = ""  #: CHAN_DOAN_RV
    admission_diagnosis: str = ""  #: CHAN_DOAN_VAO
    outcome: str = ""  #: KET_QUA_DTRI "1".."8"
    discharge_type: str = "1"  #: MA_LOAI_RV
    ended_at: datetime | None = None  #: NGAY_RA
    doctor_code: str = ""  #: MA_BAC_SI
    advice: str = ""  #: GHI_CHU
    weight_kg: Decimal | None = None
    referral: Referral | None = None
    follow_up: FollowUp | None = None
    signed: bool = False  #: the doctor signed (completed) the consultation
    reason: str = ""  #: LY_DO_VV


ItemsReader = Callable[[Session, Visit], list[SourceItem]]
ClinicalReader = Callable[[Session, Visit], ClinicalSummary]

_readers: dict[str, Any] = {}


def register_reader(*, items: ItemsReader | None = None, clinical: ClinicalReader | None = None) -> None:
    """Replace the readers (None restores the default consultation readers)."""
    _readers["items"] = items
    _readers["clinical"] = clinical


def visit_items(session: Session, visit: Visit) -> list[SourceItem]:
    """Return the visit's billable items in a stable order (services, then supplies, then drugs)."""
    reader = _readers.get("items") or _consultation_items
    return reader(session, visit)


def clinical_summary(session: Session, visit: Visit) -> ClinicalSummary:
    """Return the clinical data the claim needs."""
    reader = _readers.get("clinical") or _consultation_clinical
    return reader(session, visit)


# --------------------------------------------------------------------------- default readers
#
# Consultation area (issue 5) models read here:
#   station.consultation.models: Consultation (+ diagnoses, position 0 = main), ServiceOrder,
#                                Referral, FollowUpAppointment
#   station.prescriptions.models: Prescription / PrescriptionItem (issued, not replaced)
#   station.catalog.models: Drug (station code = price-list key; bhyt_code = MA_THUOC)
# Imports are local so that billing imports nothing of theirs at module load.


def _consultation_items(session: Session, visit: Visit) -> list[SourceItem]:
    """Services ordered (not cancelled) and drugs of the visit's issued, not replaced, prescriptions."""
    return _service_items(session, visit) + _drug_items(session, visit)


def _service_items(session: Session, visit: Visit) -> list[SourceItem]:
    """Turn the visit's service orders into items (cancelled orders are skipped)."""
    from station.consultation.models import ServiceOrder

    orders = session.scalars(select(ServiceOrder).where(ServiceOrder.visit_id == visit.id,
                                                        ServiceOrder.status != "cancelled")
                             .order_by(ServiceOrder.ordered_at, ServiceOrder.id)).all()
    found: list[SourceItem] = []
    for order in orders:
        found.append(SourceItem(
            ref=f"service:{order.id}", kind="service", code=order.service_code, name=order.service_name,
            quantity=Decimal(order.quantity or 1), claim_code=order.bhyt_code, unit=order.unit,
            ordered_at=order.ordered_at,
            detail={"ma_benh": order.icd10_code, "ordered_by": str(order.ordered_by or "")},
        ))
    return found


def _drug_items(session: Session, visit: Visit) -> list[SourceItem]:
    """Turn the lines of the visit's active prescriptions (drugs dispensed at the station) into items."""
    from station.catalog.models import Drug
    from station.prescriptions.services import active_prescriptions

    scripts = active_prescriptions(session, visit.id)
    drug_ids = {line.drug_id for script in scripts for line in script.lines}
    drugs = {d.id: d for d in session.scalars(select(Drug).where(Drug.id.in_(drug_ids)))} if drug_ids else {}
    found: list[SourceItem] = []
    for script in scripts:
        for line in script.lines:
            drug = drugs.get(line.drug_id)
            if drug is None:
                continue
            found.append(SourceItem(
                ref=f"drug:{line.id}", kind="drug", code=drug.code, name=line.display_name,
                quantity=Decimal(line.quantity), claim_code=line.bhyt_code or drug.bhyt_code, unit=line.unit,
                ordered_at=script.issued_at,
                detail={
                    "ham_luong": line.strength,
                    "duong_dung": line.route,
                    "dang_bao_che": line.dosage_form,
                    "so_dang_ky": line.registration_number or drug.registration_number,
                    "lieu_dung": lieu_dung(line.dose_per_time, line.unit, line.times_per_day, line.days),
                    "cach_dung": ", ".join(p for p in (line.timing, line.instructions) if p),
                    "prescriber": str(script.prescriber_id or ""),
                },
            ))
    return found


def lieu_dung(dose: Decimal, unit: str, times_per_day: int, days: int) -> str:
    """Return LIEU_DUNG as "2 viên/lần * 2 lần/ngày * 5 ngày [4 viên/ngày]" (DOMAIN §3.5)."""
    unit = unit.lower()
    per_day = Decimal(dose) * times_per_day
    return (f"{_num(dose)} {unit}/lần * {times_per_day} lần/ngày * {days} ngày "
            f"[{_num(per_day)} {unit}/ngày]")


def _num(value: Decimal) -> str:
    """Return a quantity without trailing zeros, "." as separator."""
    value = Decimal(value)
    return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")


def _consultation_clinical(session: Session, visit: Visit) -> ClinicalSummary:
    """Read diagnoses, outcome, referral and follow-up from the consultation area's models."""
    from station.consultation.models import Consultation, FollowUpAppointment
    from station.consultation.models import Referral as ReferralRow

    record = session.scalar(select(Consultation).where(Consultation.visit_id == visit.id))
    if record is None:
        return ClinicalSummary(ended_at=visit.completed_at)
    main = record.main_diagnosis
    secondary = tuple(d.icd10_code for d in record.secondary_diagnoses)
    text = "; ".join(f"{d.icd10_code} - {d.title}" for d in record.diagnoses)
    referral_row = session.scalar(select(ReferralRow).where(ReferralRow.visit_id == visit.id))
    follow_row = session.scalar(select(FollowUpAppointment).where(FollowUpAppointment.visit_id == visit.id,
                                                                  FollowUpAppointment.status != "cancelled"))
    doctor_code = _doctor_code(session, record.doctor_id or visit.doctor_id)
    referral = None
    if referral_row is not None:
        referral = Referral(
            number=referral_row.number, destination_code=referral_row.destination_code,
            reason_code="2" if referral_row.reason_kind == "patient_request" else "1",
            clinical_signs=referral_row.findings, course=referral_row.reason,
            results_summary=referral_row.findings, treatment=referral_row.treatment_given,
            direction=referral_row.condition_at_transfer, transport=referral_row.transport,
            escort_name=referral_row.accompanying_staff, doctor_code=doctor_code)
    follow_up = None
    if follow_row is not None:
        hour, minute = _clock_time(follow_row.appointment_time)
        follow_up = FollowUp(
            number=follow_row.number,
            appointment_at=datetime(follow_row.appointment_on.year, follow_row.appointment_on.month,
                                    follow_row.appointment_on.day, hour, minute),
            issued_on=_local_date(follow_row.issued_at), doctor_code=doctor_code)
    discharge = record.discharge_code or ("5" if referral_row is not None and referral_row.reason_kind ==
                                          "patient_request" else "2" if referral_row is not None else "1")
    return ClinicalSummary(
        main_diagnosis=main.icd10_code if main is not None else "",
        secondary_diagnoses=secondary,
        diagnosis_text=text,
        admission_diagnosis=record.reason,
        outcome=record.outcome_code,
        discharge_type=discharge,
        ended_at=record.signed_at or visit.completed_at,
        doctor_code=doctor_code,
        advice=record.advice,
        referral=referral,
        follow_up=follow_up,
        signed=record.status == "signed",
        reason=record.reason,
    )


def _clock_time(text: str) -> tuple[int, int]:
    """Return (hour, minute) from "07:30"; 07:00 when the slip gives no clock time ("buổi sáng")."""
    parts = text.strip().replace("h", ":").split(":")
    try:
        hour, minute = int(parts[0]), int(parts[1]) if len(parts) > 1 and parts[1] else 0
        if 0 <= hour < 24 and 0 <= minute < 60:
            return hour, minute
    except ValueError:
        pass
    return 7, 0


def _local_date(value: datetime | None) -> date:
    """Return the local (Asia/Ho_Chi_Minh) date of an aware instant."""
    from station.clock import local_today, to_local

    return to_local(value).date() if value is not None else local_today()


def _doctor_code(session: Session, doctor_id: uuid.UUID | None) -> str:
    """Return MA_BAC_SI of a staff member (their BHXH staff code, else the practising certificate)."""
    from station.auth.models import User

    if doctor_id is None:
        return ""
    user = session.get(User, doctor_id)
    if user is None:
        return ""
    return user.bhxh_staff_code or user.practising_cert_no or ""


def staff_codes(session: Session, ids: list[str]) -> dict[str, str]:
    """Return {user id: MA_BAC_SI} for the given staff ids (unknown ids are left out)."""
    found: dict[str, str] = {}
    for raw in {i for i in ids if i}:
        try:
            found[raw] = _doctor_code(session, uuid.UUID(raw))
        except ValueError:
            continue
    return found
