"""Visits: opening one per arrival (never two on a double scan), and triage vital signs.

Other areas call :func:`latest_vitals` to show the nurse's measurements to the
doctor, and :func:`get_visit` to load a visit with an audited read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.admin.numbering import next_number
from station.audit import services as audit
from station.audit.services import Actor
from station.clock import Clock, SystemClock, to_local
from station.db import lock_for_append
from station.errors import NotFound, ValidationFailed
from station.patients.models import Patient
from station.visits.models import Observation, Visit

#: Visit type (MA_LOAI_KCB) of an outpatient examination: a string code.
VISIT_TYPE_OUTPATIENT = "01"
#: Statuses of a visit that is still going on.
OPEN_VISIT_STATUSES = ("open", "in_consultation")


def new_visit_key(session: Session, facility_code: str, when: datetime) -> str:
    """Return a new MA_LK: ``<facility>-<yyyymmdd>-<nnnnn>`` (local date, daily gap-free counter).

    Unique within the station because the counter is per local day and the
    date is in the key; 20 characters, well under the 50 the XML allows, and
    only letters, digits and hyphens so it is safe in XML file names and QR codes.
    """
    day = to_local(when).strftime("%Y%m%d")
    n = next_number(session, f"visit:{day}")
    return f"{facility_code or 'TYT00'}-{day}-{n:05d}"


def find_recent_visit(session: Session, patient_id: uuid.UUID, *, now: datetime,
                      window: timedelta) -> Visit | None:
    """Return the patient's open visit that started within *window* before *now*, if any."""
    return session.scalar(
        select(Visit).where(Visit.patient_id == patient_id, Visit.status.in_(OPEN_VISIT_STATUSES),
                            Visit.arrived_at >= now - window)
        .order_by(Visit.arrived_at.desc()).limit(1))


def lock_patient_checkin(session: Session, patient_id: uuid.UUID) -> None:
    """Serialise check-ins of one patient so that two scans cannot both open a visit.

    SQLite already holds the write lock (BEGIN IMMEDIATE); PostgreSQL takes an
    advisory lock keyed by the patient for the rest of the transaction.
    """
    lock_for_append(session, f"checkin:{patient_id.hex[:16]}")


def open_visit(session: Session, patient: Patient, *, facility_code: str, room_code: str, actor: Actor,
               reason: str = "", channel: str = "reception", insurance_object_type: str = "",
               eligibility: str = "uninsured", bhyt_card_id: uuid.UUID | None = None,
               clock: Clock | None = None) -> Visit:
    """Create an outpatient visit (type "01") for *patient*; flush only, audited."""
    now = (clock or SystemClock()).now()
    visit = Visit(visit_key=new_visit_key(session, facility_code, now), patient_id=patient.id,
                  visit_type=VISIT_TYPE_OUTPATIENT, insurance_object_type=insurance_object_type,
                  bhyt_card_id=bhyt_card_id, eligibility=eligibility, eligibility_note="",
                  reason=reason.strip()[:255], room_code=room_code, status="open", arrived_at=now,
                  created_by=actor.label[:64], channel=channel, note="")
    session.add(visit)
    session.flush()
    audit.record(session, actor, "visit.open", entity_type="visit", entity_id=visit.id,
                 detail={"patient": str(patient.id), "room": room_code, "channel": channel}, clock=clock)
    return visit


def find_visit(session: Session, visit_id: object) -> Visit:
    """Return the visit with *visit_id* (UUID or its text) or raise NotFound; the caller audits."""
    try:
        key = visit_id if isinstance(visit_id, uuid.UUID) else uuid.UUID(str(visit_id))
    except ValueError:
        raise NotFound("Không tìm thấy lượt khám.") from None
    visit = session.get(Visit, key)
    if visit is None:
        raise NotFound("Không tìm thấy lượt khám.")
    return visit


def get_visit(session: Session, visit_id: uuid.UUID | str, *, actor: Actor, action: str = "visit.view") -> Visit:
    """Load a visit and audit the read of its patient's data."""
    visit = find_visit(session, visit_id)
    audit.record(session, actor, action, entity_type="visit", entity_id=visit.id,
                 detail={"patient": str(visit.patient_id)})
    return visit


# --- triage vital signs ------------------------------------------------------------------------


@dataclass(frozen=True)
class VitalSpec:
    """One vital sign: its LOINC code, UCUM unit, Vietnamese label and plausible range."""

    kind: str
    loinc: str
    unit: str
    label: str
    unit_label: str
    low: Decimal
    high: Decimal
    places: int = 0


#: Plausibility ranges (data, not code): values outside are refused as typing errors, not as
#: clinical judgements; truly extreme readings are entered after re-measuring.
VITAL_SPECS: dict[str, VitalSpec] = {spec.kind: spec for spec in (
    VitalSpec("pulse", "8867-4", "/min", "Mạch", "lần/phút", Decimal(20), Decimal(250)),
    VitalSpec("bp_systolic", "8480-6", "mm[Hg]", "Huyết áp tâm thu", "mmHg", Decimal(50), Decimal(300)),
    VitalSpec("bp_diastolic", "8462-4", "mm[Hg]", "Huyết áp tâm trương", "mmHg", Decimal(20), Decimal(200)),
    VitalSpec("temperature", "8310-5", "Cel", "Nhiệt độ", "°C", Decimal(30), Decimal(45), 1),
    VitalSpec("resp_rate", "9279-1", "/min", "Nhịp thở", "lần/phút", Decimal(4), Decimal(80)),
    VitalSpec("spo2", "59408-5", "%", "SpO₂", "%", Decimal(50), Decimal(100)),
    VitalSpec("height", "8302-2", "cm", "Chiều cao", "cm", Decimal(30), Decimal(250), 1),
    VitalSpec("weight", "29463-7", "kg", "Cân nặng", "kg", Decimal("0.5"), Decimal(300), 1),
    VitalSpec("bmi", "39156-5", "kg/m2", "BMI", "kg/m²", Decimal(5), Decimal(100), 1),
)}
#: Kinds the nurse enters; BMI is computed.
ENTERED_VITALS = ("pulse", "bp_systolic", "bp_diastolic", "temperature", "resp_rate", "spo2", "height", "weight")


def parse_vitals(raw: dict[str, Any]) -> dict[str, Decimal]:
    """Validate the nurse's entries (comma or dot decimals); return {kind: value} with BMI added.

    Raises ValidationFailed naming the first bad field and its allowed range;
    empty fields are skipped, at least one value is required.
    """
    values: dict[str, Decimal] = {}
    for kind in ENTERED_VITALS:
        text = str(raw.get(kind) or "").strip().replace(",", ".")
        if not text:
            continue
        spec = VITAL_SPECS[kind]
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValidationFailed(f"{spec.label}: «{text}» không phải là số.", field=kind) from None
        if not value.is_finite() or not spec.low <= value <= spec.high:
            raise ValidationFailed(f"{spec.label} {text} {spec.unit_label} nằm ngoài khoảng hợp lý "
                                   f"({spec.low}–{spec.high} {spec.unit_label}); vui lòng đo lại hoặc sửa.",
                                   field=kind)
        values[kind] = value.quantize(Decimal(1).scaleb(-spec.places), rounding=ROUND_HALF_UP)
    if not values:
        raise ValidationFailed("Chưa nhập chỉ số sinh tồn nào.")
    if ("bp_systolic" in values) != ("bp_diastolic" in values):
        raise ValidationFailed("Huyết áp cần nhập đủ cả tâm thu và tâm trương.", field="bp_systolic")
    if "bp_systolic" in values and values["bp_diastolic"] >= values["bp_systolic"]:
        raise ValidationFailed("Huyết áp tâm trương phải nhỏ hơn tâm thu.", field="bp_diastolic")
    if "height" in values and "weight" in values:
        metres = values["height"] / 100
        bmi = (values["weight"] / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        spec = VITAL_SPECS["bmi"]
        if not spec.low <= bmi <= spec.high:
            raise ValidationFailed(f"BMI tính ra {bmi} kg/m² không hợp lý; kiểm tra lại chiều cao và cân nặng.",
                                   field="weight")
        values["bmi"] = bmi
    return values


def record_vitals(session: Session, visit: Visit, raw: dict[str, Any], *, actor: Actor,
                  clock: Clock | None = None) -> list[Observation]:
    """Store the nurse's vital signs as Observation rows of *visit*; a new value replaces the last one."""
    if visit.status not in OPEN_VISIT_STATUSES:
        raise ValidationFailed("Lượt khám đã kết thúc, không thể ghi thêm chỉ số sinh tồn.")
    values = parse_vitals(raw)
    now = (clock or SystemClock()).now()
    current = latest_vitals(session, visit)
    rows = []
    for kind, value in values.items():
        spec = VITAL_SPECS[kind]
        previous = current.get(kind)
        row = Observation(visit_id=visit.id, patient_id=visit.patient_id, kind=kind, loinc=spec.loinc,
                          value=value, unit=spec.unit, recorded_at=now, recorded_by=actor.label[:64],
                          replaces_id=previous.id if previous is not None else None)
        session.add(row)
        rows.append(row)
    session.flush()
    audit.record(session, actor, "visit.vitals", entity_type="visit", entity_id=visit.id,
                 detail={"patient": str(visit.patient_id), "kinds": sorted(values)}, clock=clock)
    return rows


def latest_vitals(session: Session, visit: Visit) -> dict[str, Observation]:
    """Return the current value of each vital sign of *visit*: {kind: Observation}.

    Values that a later entry replaced are left out. The caller audits the read
    (it is part of reading the visit).
    """
    rows = session.scalars(select(Observation).where(Observation.visit_id == visit.id)
                           .order_by(Observation.recorded_at, Observation.created_at)).all()
    replaced = {row.replaces_id for row in rows if row.replaces_id is not None}
    result: dict[str, Observation] = {}
    for row in rows:
        if row.id not in replaced:
            result[row.kind] = row
    return result


def vitals_summary(vitals: dict[str, Observation]) -> list[dict[str, str]]:
    """Return the vitals as display rows (label, value with unit) in the usual order."""
    rows = []
    if "bp_systolic" in vitals and "bp_diastolic" in vitals:
        rows.append({"kind": "bp", "label": "Huyết áp",
                     "value": f"{vitals['bp_systolic'].value:.0f}/{vitals['bp_diastolic'].value:.0f} mmHg"})
    for kind in ("pulse", "temperature", "resp_rate", "spo2", "height", "weight", "bmi"):
        if kind in vitals:
            spec = VITAL_SPECS[kind]
            value = vitals[kind].value
            text = f"{value:.{spec.places}f}".replace(".", ",")
            rows.append({"kind": kind, "label": spec.label, "value": f"{text} {spec.unit_label}"})
    return rows
