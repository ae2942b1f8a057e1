"""The record page's timeline, pluggable by area.

Contract: any area may add ``station/<area>/timeline.py`` exposing::

    def entries(session: Session, patient: Patient) -> list[TimelineEntry]

:func:`collect` discovers those modules with ``station.area_modules("timeline")``,
calls each, and sorts everything newest first. An area's entries should come from
one or two indexed queries (``patient_id`` columns are indexed): the record page
must render in well under 50 ms for a patient with 200 visits. This module itself
is the patients area's provider: visits with their vital signs, vaccinations and
printed documents.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.clock import LOCAL_TZ, UTC
from station.patients.models import Patient, Vaccination

log = logging.getLogger(__name__)


@dataclass
class TimelineEntry:
    """One dated line of the record's history."""

    #: When it happened (aware datetime; a date-only fact is placed at local noon).
    at: datetime
    #: Short machine kind: "visit", "vaccination", "print", or the area's own.
    kind: str
    #: One-line title in Vietnamese.
    title: str
    #: Further lines (vital signs, dose, place...).
    detail: list[str] = field(default_factory=list)
    #: Link to the full item, if it has a page.
    url: str | None = None


def at_noon(day: date) -> datetime:
    """A date-only fact as an aware datetime (local noon), for sorting with timed entries."""
    return datetime.combine(day, time(12, 0), tzinfo=LOCAL_TZ).astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def collect(session: Session, patient: Patient, limit: int = 500) -> list[TimelineEntry]:
    """All areas' entries for *patient*, newest first (an area that fails is skipped and logged)."""
    from station import area_modules

    found: list[TimelineEntry] = []
    for module in area_modules("timeline"):
        provider = getattr(module, "entries", None)
        if provider is None:
            continue
        try:
            found.extend(provider(session, patient))
        except Exception:  # noqa: BLE001 - one area's bug must not hide the record
            log.exception("timeline provider %s failed", module.__name__)
    found.sort(key=lambda e: _aware(e.at), reverse=True)
    return found[:limit]


VITAL_LABELS = {"pulse": ("Mạch", "lần/phút"), "temperature": ("Nhiệt độ", "°C"), "resp_rate": ("Nhịp thở", "lần/phút"),
                "spo2": ("SpO₂", "%"), "height": ("Chiều cao", "cm"), "weight": ("Cân nặng", "kg"),
                "bmi": ("BMI", "kg/m²")}
VISIT_STATUS = {"open": "Đang chờ khám", "in_consultation": "Đang khám", "completed": "Đã khám xong",
                "cancelled": "Đã hủy"}
PRINT_DOCUMENTS = {"ticket": "Phiếu số thứ tự", "receipt": "Biên lai thu tiền", "prescription_slip": "Đơn thuốc",
                   "followup_slip": "Phiếu hẹn tái khám", "test_page": "Trang in thử"}


def _number(value: Decimal) -> str:
    text = f"{value:f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:f}"
    return text.replace(".", ",")


def entries(session: Session, patient: Patient) -> list[TimelineEntry]:
    """Visits (with vital signs), vaccinations and printed documents: four indexed queries, no N+1."""
    from station.printing.models import PrintJob
    from station.visits.models import Observation, Visit

    found: list[TimelineEntry] = []
    visits = session.execute(select(Visit.id, Visit.arrived_at, Visit.status, Visit.reason, Visit.room_code,
                                    Visit.visit_key).where(Visit.patient_id == patient.id)).all()
    vitals: dict[object, dict[str, Decimal]] = defaultdict(dict)
    if visits:
        rows = session.execute(select(Observation.visit_id, Observation.kind, Observation.value)
                               .where(Observation.patient_id == patient.id)
                               .order_by(Observation.recorded_at)).all()
        for visit_id, kind, value in rows:
            vitals[visit_id][kind] = value  # a later correction wins
    for visit in visits:
        detail = []
        if visit.reason:
            detail.append(f"Lý do: {visit.reason}")
        v = vitals.get(visit.id, {})
        parts = []
        if "bp_systolic" in v and "bp_diastolic" in v:
            parts.append(f"HA {_number(v['bp_systolic'])}/{_number(v['bp_diastolic'])} mmHg")
        for kind, (label, unit) in VITAL_LABELS.items():
            if kind in v:
                parts.append(f"{label} {_number(v[kind])} {unit}")
        if parts:
            detail.append(", ".join(parts))
        title = "Khám bệnh" + (f" · phòng {visit.room_code}" if visit.room_code else "")
        title += f" · {VISIT_STATUS.get(visit.status, visit.status)}"
        found.append(TimelineEntry(_aware(visit.arrived_at), "visit", title, detail))
    for vac in session.scalars(select(Vaccination).where(Vaccination.patient_id == patient.id)):
        dose = f" mũi {vac.dose_number}" if vac.dose_number else ""
        detail = [("Tiêm chủng mở rộng" if vac.epi else "Ngoài tiêm chủng mở rộng")
                  + (f" · {vac.place}" if vac.place else "") + (f" · lô {vac.lot_number}" if vac.lot_number else "")]
        found.append(TimelineEntry(at_noon(vac.given_on), "vaccination", f"Tiêm {vac.vaccine_name}{dose}", detail))
    jobs = session.execute(select(PrintJob.created_at, PrintJob.document, PrintJob.state, PrintJob.reprint_of_id,
                                  PrintJob.requested_by).where(PrintJob.patient_id == patient.id)).all()
    for job in jobs:
        title = "In " + PRINT_DOCUMENTS.get(job.document, job.document).lower()
        if job.reprint_of_id:
            title += " (bản in lại)"
        state = {"done": "đã in", "failed": "in lỗi", "queued": "chờ in", "printing": "đang in",
                 "needs_reprint": "cần in lại"}.get(job.state, job.state)
        found.append(TimelineEntry(_aware(job.created_at), "print", title, [f"{state} · {job.requested_by}"]))
    return found
