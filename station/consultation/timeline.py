"""Consultations on the patient's timeline: diagnoses and prescriptions, three queries in all.

Contract (station/patients/timeline.py discovers ``station.<area>.timeline``): ``entries(session,
patient) -> list[TimelineEntry]`` with fields ``at, kind, title, detail (list[str]), url``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.consultation.codes import KET_QUA_DTRI
from station.consultation.models import Consultation, ConsultationDiagnosis
from station.prescriptions.models import Prescription, PrescriptionItem

try:  # the patients area owns the entry type; fall back to the same contract until it lands
    from station.patients.timeline import TimelineEntry  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the other area's progress
    @dataclass(frozen=True)
    class TimelineEntry:  # type: ignore[no-redef]
        """One dated line of the patient's record."""

        at: datetime
        kind: str
        title: str
        detail: list[str] = field(default_factory=list)
        url: str = ""


def _url(visit_id: uuid.UUID) -> str:
    return f"/consultation/visits/{visit_id}"


def entries(session: Session, patient: Any) -> list[TimelineEntry]:
    """Return one entry per consultation (diagnoses, outcome, amendments) and per issued prescription."""
    patient_id = patient.id if hasattr(patient, "id") else patient
    consultations = session.execute(
        select(Consultation.id, Consultation.visit_id, Consultation.created_at, Consultation.signed_at,
               Consultation.status, Consultation.revision, Consultation.outcome_code, Consultation.reason)
        .where(Consultation.patient_id == patient_id)).all()
    diagnoses: dict[uuid.UUID, list[str]] = {}
    if consultations:
        for cid, code, title in session.execute(
                select(ConsultationDiagnosis.consultation_id, ConsultationDiagnosis.icd10_code,
                       ConsultationDiagnosis.title).join(Consultation)
                .where(Consultation.patient_id == patient_id).order_by(ConsultationDiagnosis.position)):
            diagnoses.setdefault(cid, []).append(f"{code} - {title}")
    found: list[TimelineEntry] = []
    for c in consultations:
        detail = list(diagnoses.get(c.id, []))
        if c.outcome_code:
            detail.append("Kết quả điều trị: " + KET_QUA_DTRI.label(c.outcome_code))
        if c.revision > 1:
            detail.append(f"Đã sửa đổi {c.revision - 1} lần sau khi ký")
        title = "Khám bệnh" + ("" if c.status == "signed" else " (chưa hoàn tất)")
        if c.reason:
            title += f": {c.reason}"
        found.append(TimelineEntry(at=c.signed_at or c.created_at, kind="consultation", title=title, detail=detail,
                                   url=_url(c.visit_id)))
    rows = session.execute(
        select(Prescription.id, Prescription.visit_id, Prescription.code, Prescription.issued_at,
               Prescription.replaces_id, PrescriptionItem.display_name, PrescriptionItem.strength,
               PrescriptionItem.quantity, PrescriptionItem.unit)
        .join(PrescriptionItem, PrescriptionItem.prescription_id == Prescription.id)
        .where(Prescription.patient_id == patient_id, Prescription.status == "issued")
        .order_by(Prescription.issued_at, PrescriptionItem.position)).all()
    grouped: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.id, []).append(row)
    for lines in grouped.values():
        first = lines[0]
        detail = [f"{r.display_name} {r.strength} × {_qty(r.quantity)} {r.unit}".replace("  ", " ") for r in lines]
        title = f"Đơn thuốc {first.code}" + (" (đơn thay thế)" if first.replaces_id else "")
        found.append(TimelineEntry(at=first.issued_at, kind="prescription", title=title, detail=detail,
                                   url=_url(first.visit_id)))
    found.sort(key=lambda e: e.at, reverse=True)
    return found


def _qty(value: Any) -> str:
    from station.prescriptions.rules import format_quantity

    return format_quantity(value)
