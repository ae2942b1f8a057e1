"""The doctor's work: worklist, calling the next patient, the consultation note with vitals and
ICD-10 diagnoses, drafts that survive a session expiry, signing and amendments, services ordered,
referral and follow-up appointment. Services flush only; the caller commits.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from station.visits.services import find_visit
from station.admin.numbering import next_number
from station.audit import services as audit
from station.audit.services import Actor
from station.catalog import services as catalog
from station.catalog.models import ServiceItem
from station.clock import LOCAL_TZ, Clock, SystemClock, local_today, to_local
from station.consultation.codes import KET_QUA_DTRI, MA_LOAI_RV, code_list_for, is_referral
from station.consultation.models import (
    Consultation,
    ConsultationDiagnosis,
    ConsultationDraft,
    ConsultationRevision,
    FollowUpAppointment,
    Referral,
    ServiceOrder,
)
from station.errors import Conflict, NotFound, ValidationFailed
from station.patients.models import Allergy, ChronicCondition, Patient
from station.text import clean
from station.visits.models import Observation, Visit

MAX_SECONDARY = 12
MIN_REASON = 5
TEXT_LIMITS = {"reason": 500, "history": 8000, "examination": 8000, "notes": 8000, "advice": 4000}
TEXT_LABELS = {"reason": "Lý do khám", "history": "Bệnh sử", "examination": "Khám lâm sàng", "notes": "Ghi chú",
               "advice": "Lời dặn"}
ACTIVE_STATUSES = ("open", "in_consultation")
HOLIDAYS_PATH = Path(__file__).resolve().parent / "data" / "holidays_vn.json"
REFERRAL_VALID_WORKING_DAYS = 10


@dataclass(frozen=True, slots=True)
class VitalSpec:
    """One vital sign: label, LOINC code, UCUM unit and the plausible range."""

    label: str
    loinc: str
    unit: str
    low: Decimal
    high: Decimal


VITALS: dict[str, VitalSpec] = {
    "pulse": VitalSpec("Mạch (lần/phút)", "8867-4", "/min", Decimal(20), Decimal(250)),
    "bp_systolic": VitalSpec("Huyết áp tâm thu (mmHg)", "8480-6", "mm[Hg]", Decimal(50), Decimal(260)),
    "bp_diastolic": VitalSpec("Huyết áp tâm trương (mmHg)", "8462-4", "mm[Hg]", Decimal(30), Decimal(160)),
    "temperature": VitalSpec("Nhiệt độ (°C)", "8310-5", "Cel", Decimal(34), Decimal(43)),
    "resp_rate": VitalSpec("Nhịp thở (lần/phút)", "9279-1", "/min", Decimal(5), Decimal(80)),
    "spo2": VitalSpec("SpO₂ (%)", "59408-5", "%", Decimal(50), Decimal(100)),
    "height": VitalSpec("Chiều cao (cm)", "8302-2", "cm", Decimal(30), Decimal(250)),
    "weight": VitalSpec("Cân nặng (kg)", "29463-7", "kg", Decimal("0.3"), Decimal(300)),
}


class ConsultationConflict(Conflict):
    """The consultation was saved elsewhere since this form was opened; nothing was overwritten."""

    def __init__(self, consultation: Consultation) -> None:
        """Keep the *consultation* as it is now, to show beside the user's text."""
        self.current = consultation
        when = to_local(consultation.updated_at).strftime("%H:%M:%S %d/%m/%Y") if consultation.updated_at else ""
        super().__init__(
            "Phiếu khám này vừa được lưu ở nơi khác (thẻ trình duyệt hoặc máy khác) lúc "
            f"{when}. Nội dung bạn vừa nhập CHƯA được lưu và không ghi đè lên bản kia: hãy xem bản hiện tại, "
            "chép phần cần giữ rồi lưu lại (quy tắc: khóa lạc quan theo phiên bản).")


# --- worklist ---------------------------------------------------------------------------------


@dataclass
class WorklistRow:
    """One patient waiting or being seen."""

    visit: Visit
    patient: Patient
    waiting_minutes: int
    queue_number: str = ""
    alerts: list[str] = field(default_factory=list)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


def _queue_numbers(session: Session, visit_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return the reception queue number ("PK1-023") of each visit that has a ticket."""
    if not visit_ids or _queue() is None:
        return {}
    from station.reception.models import QueueTicket

    rows = session.execute(select(QueueTicket.visit_id, QueueTicket.number).where(QueueTicket.visit_id.in_(visit_ids)))
    return {r[0]: r[1] for r in rows}


def worklist(session: Session, *, room_code: str = "", clock: Clock | None = None) -> list[WorklistRow]:
    """Return today's visits waiting for or in consultation, oldest arrival first."""
    clock = clock or SystemClock()
    start, end = _day_bounds(local_today(clock))
    stmt = (select(Visit).options(selectinload(Visit.patient))
            .where(Visit.status.in_(ACTIVE_STATUSES), Visit.arrived_at >= start, Visit.arrived_at < end)
            .order_by(Visit.arrived_at))
    if room_code:
        stmt = stmt.where(Visit.room_code == room_code)
    visits = list(session.scalars(stmt))
    patient_ids = [v.patient_id for v in visits]
    allergies: dict[uuid.UUID, list[str]] = {}
    if patient_ids:
        for pid, substance in session.execute(select(Allergy.patient_id, Allergy.substance).where(
                Allergy.patient_id.in_(patient_ids), Allergy.active.is_(True))):
            allergies.setdefault(pid, []).append(substance)
    numbers = _queue_numbers(session, [v.id for v in visits])
    now = clock.now()
    return [WorklistRow(v, v.patient, max(0, int((now - v.arrived_at).total_seconds() // 60)),
                        numbers.get(v.id, ""), allergies.get(v.patient_id, [])) for v in visits]


def rooms_today(session: Session, clock: Clock | None = None) -> list[str]:
    """Return the room codes with visits today (for the room filter)."""
    start, end = _day_bounds(local_today(clock))
    return [r for r in session.scalars(select(Visit.room_code).where(Visit.arrived_at >= start, Visit.arrived_at < end)
                                       .distinct().order_by(Visit.room_code)) if r]


def get_visit(session: Session, visit_id: object) -> Visit:
    """Return the visit or raise NotFound (the visits area's one lookup)."""
    return find_visit(session, visit_id)


def start_consultation(session: Session, visit: Visit, *, user: Any, actor: Actor) -> Visit:
    """Mark an open visit as in consultation with *user* as its doctor; audit the opening."""
    if visit.status == "cancelled":
        raise ValidationFailed("Lượt khám đã bị hủy, không khám được.")
    if visit.status == "open":
        visit.status = "in_consultation"
        visit.doctor_id = user.id
        _queue_hook(session, visit, "start", actor)
    audit.record(session, actor, "patient.view", entity_type="visit", entity_id=visit.id,
                 detail={"patient": str(visit.patient_id), "page": "consultation"})
    return visit


def _queue() -> Any:
    """Return reception's queue module, or None while reception is not installed."""
    try:
        from station.reception import queue
    except ImportError:  # pragma: no cover - reception is another area
        return None
    return queue


def _queue_hook(session: Session, visit: Visit, event: str, actor: Actor) -> None:
    """Move the visit's queue ticket along (in consultation / done) when it has one."""
    queue = _queue()
    if queue is None:
        return
    ticket = queue.ticket_for_visit(session, visit.id)
    if ticket is None:
        return
    if event == "start" and ticket.state in ("waiting", "called", "skipped"):
        queue.start_consultation(session, ticket, actor=actor)
    elif event == "finish" and ticket.state in ("in_consultation", "called"):
        queue.finish(session, ticket, actor=actor)


def call_next(session: Session, *, room_code: str, user: Any, actor: Actor, clock: Clock | None = None) -> Visit:
    """Call the next patient of *room_code* (reception's queue, priority first), else the earliest open visit."""
    clock = clock or SystemClock()
    queue = _queue()
    start, end = _day_bounds(local_today(clock))
    if not room_code:  # no room chosen: the room of the patient who has waited longest
        room_code = session.scalar(select(Visit.room_code).where(
            Visit.status == "open", Visit.arrived_at >= start, Visit.arrived_at < end)
            .order_by(Visit.arrived_at).limit(1)) or ""
    if queue is not None and room_code:
        try:
            ticket = queue.call_next(session, room_code, actor=actor, clock=clock)
        except NotFound:
            ticket = None  # nobody holds a number: visits opened without a ticket are next
        if ticket is not None:
            return start_consultation(session, get_visit(session, ticket.visit_id), user=user, actor=actor)
    stmt = select(Visit).where(Visit.status == "open", Visit.arrived_at >= start, Visit.arrived_at < end)
    if queue is not None:
        from station.reception.models import QueueTicket

        stmt = stmt.where(~select(QueueTicket.id).where(QueueTicket.visit_id == Visit.id).exists())
    if room_code:
        stmt = stmt.where(Visit.room_code == room_code)
    visit = session.scalar(stmt.order_by(Visit.arrived_at).limit(1))
    if visit is None:
        where = f"Phòng {room_code}" if room_code else "Hôm nay"
        raise NotFound(f"{where}: không còn bệnh nhân nào đang chờ khám.")
    audit.record(session, actor, "consultation.call_next", entity_type="visit", entity_id=visit.id,
                 detail={"room": room_code})
    return start_consultation(session, visit, user=user, actor=actor)


# --- context beside the form ------------------------------------------------------------------


def current_vitals(session: Session, visit_id: uuid.UUID) -> dict[str, Observation]:
    """Return the latest value of each vital of the visit (replaced values are history)."""
    rows = session.scalars(select(Observation).where(Observation.visit_id == visit_id)
                           .order_by(Observation.recorded_at, Observation.created_at)).all()
    replaced = {row.replaces_id for row in rows if row.replaces_id is not None}
    return {row.kind: row for row in rows if row.id not in replaced}


@dataclass
class PatientContext:
    """Alerts and history shown beside the consultation form."""

    allergies: list[Allergy]
    conditions: list[ChronicCondition]
    last_visits: list[tuple[Visit, list[str]]]
    vitals: dict[str, Observation]


def patient_context(session: Session, visit: Visit, *, last: int = 5) -> PatientContext:
    """Return the patient's active allergies and conditions, last visits with diagnoses and vitals."""
    allergies = list(session.scalars(select(Allergy).where(Allergy.patient_id == visit.patient_id,
                                                          Allergy.active.is_(True))))
    conditions = list(session.scalars(select(ChronicCondition).where(ChronicCondition.patient_id == visit.patient_id,
                                                                     ChronicCondition.status == "active")))
    visits = list(session.scalars(select(Visit).where(Visit.patient_id == visit.patient_id, Visit.id != visit.id,
                                                      Visit.status == "completed")
                                  .order_by(Visit.arrived_at.desc()).limit(last)))
    diagnoses: dict[uuid.UUID, list[str]] = {}
    if visits:
        for visit_id, code, title in session.execute(
                select(Consultation.visit_id, ConsultationDiagnosis.icd10_code, ConsultationDiagnosis.title)
                .join(ConsultationDiagnosis).where(Consultation.visit_id.in_([v.id for v in visits]))
                .order_by(ConsultationDiagnosis.position)):
            diagnoses.setdefault(visit_id, []).append(f"{code} {title}")
    return PatientContext(allergies, conditions, [(v, diagnoses.get(v.id, [])) for v in visits],
                          current_vitals(session, visit.id))


def get_consultation(session: Session, visit_id: uuid.UUID) -> Consultation | None:
    """Return the consultation of a visit with diagnoses and revisions, if written."""
    return session.scalar(select(Consultation).where(Consultation.visit_id == visit_id)
                          .options(selectinload(Consultation.diagnoses), selectinload(Consultation.revisions)))


# --- saving -----------------------------------------------------------------------------------


@dataclass
class ConsultationInput:
    """What the form sends (all text, as typed)."""

    reason: str = ""
    history: str = ""
    examination: str = ""
    notes: str = ""
    advice: str = ""
    outcome_code: str = ""
    discharge_code: str = ""
    follow_up_on: str = ""
    main_code: str = ""
    secondary_codes: str = ""
    vitals: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Any) -> "ConsultationInput":
        """Build from a form or JSON mapping."""
        names = ("reason", "history", "examination", "notes", "advice", "outcome_code", "discharge_code",
                 "follow_up_on", "main_code", "secondary_codes")
        values = {n: str(data.get(n) or "") for n in names}
        vitals = {k: str(data.get(f"vital_{k}") or "") for k in VITALS}
        return cls(vitals=vitals, **values)


def parse_day(text: str, label: str, field_name: str) -> date | None:
    """Parse dd/mm/yyyy or yyyy-mm-dd; None for blank."""
    value = clean(text)
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValidationFailed(f"{label}: ngày không hợp lệ {value!r} (dùng dd/mm/yyyy).", field=field_name)


def split_codes(text: str) -> list[str]:
    """Split secondary codes typed with ";", "," or new lines."""
    for sep in (",", "\n", "\r", " "):
        text = text.replace(sep, ";")
    return [c for c in (clean(p) for p in text.split(";")) if c]


def _diagnoses(session: Session, data: ConsultationInput, on: date) -> tuple[str, list[tuple[str, str]]]:
    """Validate the main and secondary codes against the version in force on *on*."""
    found: list[tuple[str, str]] = []
    version_name = ""
    if clean(data.main_code):
        version, entry = catalog.validate_icd(session, data.main_code, on=on, field="main_code")
        version_name = version.name
        found.append((entry.code, entry.title))
    secondary = split_codes(data.secondary_codes)
    if secondary and not found:
        raise ValidationFailed("Cần chẩn đoán chính trước khi ghi chẩn đoán kèm theo (XML1 MA_BENH_CHINH).",
                               field="main_code")
    if len(secondary) > MAX_SECONDARY:
        raise ValidationFailed(f"Tối đa {MAX_SECONDARY} chẩn đoán kèm theo (XML1 MA_BENH_KT), đang có "
                               f"{len(secondary)}.", field="secondary_codes")
    for code in secondary:
        version, entry = catalog.validate_icd(session, code, on=on, field="secondary_codes")
        version_name = version.name
        if any(entry.code == c for c, _ in found):
            raise ValidationFailed(f"Mã {entry.code} bị ghi trùng trong chẩn đoán.", field="secondary_codes")
        found.append((entry.code, entry.title))
    return version_name, found


def _vital_changes(data: ConsultationInput, current: dict[str, Observation]) -> dict[str, Decimal]:
    changes: dict[str, Decimal] = {}
    for kind, text in data.vitals.items():
        value_text = clean(text).replace(",", ".")
        if not value_text:
            continue
        spec = VITALS[kind]
        try:
            value = Decimal(value_text)
        except InvalidOperation:
            raise ValidationFailed(f"{spec.label}: phải là số, đang là {clean(text)!r}.", field=f"vital_{kind}") from None
        if not value.is_finite() or not spec.low <= value <= spec.high:
            raise ValidationFailed(f"{spec.label}: {value_text} ngoài khoảng hợp lý ({spec.low}–{spec.high}).",
                                   field=f"vital_{kind}")
        value = value.quantize(Decimal("0.01"))
        old = current.get(kind)
        if old is None or Decimal(old.value) != value:
            changes[kind] = value
    return changes


def snapshot(consultation: Consultation) -> dict[str, Any]:
    """Return every clinical field and the diagnoses as plain data (revision snapshots, display)."""
    return {
        "reason": consultation.reason, "history": consultation.history, "examination": consultation.examination,
        "notes": consultation.notes, "advice": consultation.advice, "outcome_code": consultation.outcome_code,
        "discharge_code": consultation.discharge_code,
        "follow_up_on": consultation.follow_up_on.isoformat() if consultation.follow_up_on else "",
        "diagnoses": [{"position": d.position, "code": d.icd10_code, "title": d.title} for d in consultation.diagnoses],
        "icd_version": consultation.icd_version,
    }


def save_consultation(session: Session, visit: Visit, data: ConsultationInput, *, expected_version: int | None,
                      user: Any, actor: Actor, amend_reason: str = "", clock: Clock | None = None) -> Consultation:
    """Validate and store the consultation; after signing, a change is an amendment with a reason.

    *expected_version* is the version the form was opened on (None for a new consultation); any
    other current version raises :class:`ConsultationConflict` and nothing is written.
    """
    clock = clock or SystemClock()
    if visit.status == "cancelled":
        raise ValidationFailed("Lượt khám đã bị hủy, không ghi phiếu khám được.")
    consultation = get_consultation(session, visit.id)
    if consultation is not None and expected_version != consultation.version:
        raise ConsultationConflict(consultation)
    if consultation is None and expected_version not in (None, 0):
        raise NotFound("Phiếu khám không còn tồn tại.")
    signed = consultation is not None and consultation.status == "signed"
    if signed and len(clean(amend_reason)) < MIN_REASON:
        raise ValidationFailed("Phiếu khám đã hoàn tất (đã ký): mọi thay đổi là một lần sửa đổi và cần ghi lý do "
                               f"(ít nhất {MIN_REASON} ký tự).", field="amend_reason")
    texts = {}
    for name, limit in TEXT_LIMITS.items():
        value = clean(getattr(data, name)) if name == "reason" else getattr(data, name).replace("\r\n", "\n").strip()
        if len(value) > limit:
            raise ValidationFailed(f"{TEXT_LABELS[name]} dài quá {limit} ký tự.", field=name)
        texts[name] = value
    episode_day = to_local(visit.completed_at or clock.now()).date()
    outcome = clean(data.outcome_code)
    if outcome and not code_list_for("KET_QUA_DTRI", episode_day).is_valid(outcome):
        raise ValidationFailed(f"Kết quả điều trị {outcome!r} không có trong danh mục KET_QUA_DTRI "
                               f"({KET_QUA_DTRI.source}).", field="outcome_code")
    discharge = clean(data.discharge_code)
    if discharge and not code_list_for("MA_LOAI_RV", episode_day).is_valid(discharge):
        raise ValidationFailed(f"Hình thức ra viện {discharge!r} không có trong danh mục MA_LOAI_RV "
                               f"({MA_LOAI_RV.source}).", field="discharge_code")
    follow_up = parse_day(data.follow_up_on, "Ngày hẹn khám lại", "follow_up_on")
    visit_day = to_local(visit.arrived_at).date()
    if follow_up is not None and not visit_day < follow_up <= visit_day + timedelta(days=366):
        raise ValidationFailed("Ngày hẹn khám lại phải sau ngày khám và trong vòng 1 năm.", field="follow_up_on")
    version_name, diagnoses = _diagnoses(session, data, episode_day)
    if signed and not diagnoses:
        raise ValidationFailed("Phiếu khám đã ký phải giữ chẩn đoán chính (XML1 MA_BENH_CHINH).", field="main_code")
    current = current_vitals(session, visit.id)
    vitals = _vital_changes(data, current)

    created = consultation is None
    if consultation is None:
        consultation = Consultation(visit_id=visit.id, patient_id=visit.patient_id, doctor_id=user.id)
        session.add(consultation)
    before = snapshot(consultation) if not created else {}
    for name, value in texts.items():
        setattr(consultation, name, value)
    consultation.outcome_code = outcome
    consultation.discharge_code = discharge
    consultation.follow_up_on = follow_up
    if version_name or not diagnoses:
        consultation.icd_version = version_name
    wanted = [(i, code, title) for i, (code, title) in enumerate(diagnoses)]
    existing = {d.position: d for d in consultation.diagnoses}
    for position, code, title in wanted:
        row = existing.pop(position, None)
        if row is None:
            consultation.diagnoses.append(ConsultationDiagnosis(position=position, icd10_code=code, title=title[:300]))
        elif row.icd10_code != code:
            row.icd10_code, row.title = code, title[:300]
    for row in existing.values():
        consultation.diagnoses.remove(row)
    if visit.status == "open":
        visit.status = "in_consultation"
        visit.doctor_id = user.id
    if texts["reason"] and not visit.reason:
        visit.reason = texts["reason"][:255]
    now = clock.now()
    for kind, value in vitals.items():
        spec = VITALS[kind]
        old = current.get(kind)
        session.add(Observation(visit_id=visit.id, patient_id=visit.patient_id, kind=kind, loinc=spec.loinc,
                                value=value, unit=spec.unit, recorded_at=now, recorded_by=actor.label[:64],
                                replaces_id=old.id if old is not None else None))
    consultation.updated_at = now  # always a new version, even when only vitals changed
    session.flush()
    after = snapshot(consultation)
    changed = sorted(k for k in after if before.get(k) != after[k]) + [f"vital_{k}" for k in vitals]
    if signed:
        consultation.revision += 1
        _add_revision(session, consultation, "amendment", clean(amend_reason), user=user, actor=actor, clock=clock)
        audit.record(session, actor, "consultation.amend", entity_type="consultation", entity_id=consultation.id,
                     detail={"revision": consultation.revision, "reason": clean(amend_reason), "fields": changed},
                     clock=clock)
    else:
        audit.record(session, actor, "consultation.create" if created else "consultation.update",
                     entity_type="consultation", entity_id=consultation.id,
                     detail={"visit": str(visit.id), "fields": changed}, clock=clock)
    discard_draft(session, visit.id, user.id)
    session.flush()
    return consultation


def _add_revision(session: Session, consultation: Consultation, kind: str, reason: str, *, user: Any,
                  actor: Actor, clock: Clock) -> ConsultationRevision:
    revision = ConsultationRevision(number=consultation.revision, kind=kind,
                                    snapshot=json.dumps(snapshot(consultation), ensure_ascii=False), reason=reason,
                                    created_at=clock.now(), created_by=actor.label[:64],
                                    author_name=getattr(user, "full_name", "")[:120])
    consultation.revisions.append(revision)
    session.flush()
    return revision


def complete(session: Session, visit: Visit, *, expected_version: int | None, user: Any, actor: Actor,
             clock: Clock | None = None) -> Consultation:
    """Sign the consultation and complete the visit (status completed); the first revision is kept."""
    from station.prescriptions.models import Prescription

    clock = clock or SystemClock()
    consultation = get_consultation(session, visit.id)
    if consultation is None:
        raise ValidationFailed("Chưa lưu phiếu khám: hãy lưu trước khi hoàn tất.")
    if expected_version is not None and expected_version != consultation.version:
        raise ConsultationConflict(consultation)
    if consultation.status == "signed":
        raise ValidationFailed("Phiếu khám đã hoàn tất; thay đổi tiếp theo là sửa đổi có ghi lý do.")
    missing = []
    if consultation.main_diagnosis is None:
        missing.append("chẩn đoán chính ICD-10 (MA_BENH_CHINH)")
    if not consultation.outcome_code:
        missing.append("kết quả điều trị (KET_QUA_DTRI)")
    if not consultation.discharge_code:
        missing.append("hình thức ra viện (MA_LOAI_RV)")
    if missing:
        raise ValidationFailed("Chưa hoàn tất được phiếu khám, còn thiếu: " + ", ".join(missing) + ".")
    if is_referral(consultation.discharge_code) and get_referral(session, visit.id) is None:
        raise ValidationFailed("Hình thức ra viện là chuyển tuyến (MA_LOAI_RV 2 hoặc 5): cần lập phiếu chuyển "
                               "cơ sở KCB (TT 01/2025/TT-BYT PL VI) trước khi hoàn tất.")
    pending = session.scalar(select(func.count(Prescription.id)).where(
        Prescription.visit_id == visit.id, Prescription.status == "draft", Prescription.lines.any()))
    if pending:
        raise ValidationFailed("Còn đơn thuốc chưa phát hành: hãy phát hành hoặc hủy đơn nháp trước khi hoàn tất.")
    now = clock.now()
    consultation.status = "signed"
    consultation.signed_at = now
    consultation.signed_by = actor.label[:64]
    consultation.doctor_id = consultation.doctor_id or user.id
    consultation.revision = 1
    _add_revision(session, consultation, "signed", "", user=user, actor=actor, clock=clock)
    visit.status = "completed"
    visit.completed_at = now
    visit.doctor_id = visit.doctor_id or user.id
    _queue_hook(session, visit, "finish", actor)
    session.flush()
    audit.record(session, actor, "consultation.sign", entity_type="consultation", entity_id=consultation.id,
                 detail={"visit": str(visit.id), "revision": 1}, clock=clock)
    return consultation


@dataclass
class RevisionView:
    """A signed version and what changed from the previous one."""

    revision: ConsultationRevision
    data: dict[str, Any]
    changed: list[str]


FIELD_LABELS = {**TEXT_LABELS, "outcome_code": "Kết quả điều trị", "discharge_code": "Hình thức ra viện",
                "follow_up_on": "Ngày hẹn khám lại", "diagnoses": "Chẩn đoán", "icd_version": "Danh mục ICD-10"}


def revision_views(consultation: Consultation) -> list[RevisionView]:
    """Return every signed version, newest first, with the fields changed by each amendment."""
    views: list[RevisionView] = []
    previous: dict[str, Any] | None = None
    for revision in consultation.revisions:
        data = json.loads(revision.snapshot)
        changed = [] if previous is None else [FIELD_LABELS.get(k, k) for k in data if previous.get(k) != data[k]]
        views.append(RevisionView(revision, data, changed))
        previous = data
    return list(reversed(views))


# --- drafts -----------------------------------------------------------------------------------

DRAFT_FIELDS = ("reason", "history", "examination", "notes", "advice", "outcome_code", "discharge_code",
                "follow_up_on", "main_code", "secondary_codes", "amend_reason", *(f"vital_{k}" for k in VITALS))
MAX_DRAFT_CHARS = 40_000


def save_draft(session: Session, visit: Visit, *, user: Any, payload: dict[str, Any], base_version: int,
               actor: Actor, clock: Clock | None = None) -> ConsultationDraft:
    """Keep the text typed so far for (visit, user); the first save of a draft is audited."""
    clock = clock or SystemClock()
    clean_payload = {k: str(payload[k]) for k in DRAFT_FIELDS if k in payload and payload[k] is not None}
    text = json.dumps(clean_payload, ensure_ascii=False)
    if len(text) > MAX_DRAFT_CHARS:
        raise ValidationFailed(f"Bản nháp quá dài (tối đa {MAX_DRAFT_CHARS} ký tự).")
    draft = session.scalar(select(ConsultationDraft).where(ConsultationDraft.visit_id == visit.id,
                                                           ConsultationDraft.user_id == user.id))
    if draft is None:
        draft = ConsultationDraft(visit_id=visit.id, user_id=user.id, payload=text, base_version=base_version,
                                  saved_at=clock.now())
        session.add(draft)
        session.flush()
        audit.record(session, actor, "consultation.draft", entity_type="visit", entity_id=visit.id, clock=clock)
    else:
        draft.payload = text
        draft.base_version = base_version
        draft.saved_at = clock.now()
        session.flush()
    return draft


def load_draft(session: Session, visit_id: uuid.UUID, user_id: uuid.UUID) -> ConsultationDraft | None:
    """Return the user's autosaved draft of the visit, if any."""
    return session.scalar(select(ConsultationDraft).where(ConsultationDraft.visit_id == visit_id,
                                                          ConsultationDraft.user_id == user_id))


def discard_draft(session: Session, visit_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Forget the user's draft of the visit (after a successful save)."""
    draft = load_draft(session, visit_id, user_id)
    if draft is not None:
        session.delete(draft)


# --- services ordered -------------------------------------------------------------------------


def order_service(session: Session, visit: Visit, *, service_id: Any, quantity: str = "1", note: str = "",
                  user: Any, actor: Actor, clock: Clock | None = None) -> ServiceOrder:
    """Order a procedure or test from the station's list for the visit; flush only."""
    clock = clock or SystemClock()
    if visit.status == "cancelled":
        raise ValidationFailed("Lượt khám đã bị hủy.")
    try:
        item = session.get(ServiceItem, uuid.UUID(str(service_id)))
    except ValueError:
        item = None
    if item is None or not item.active:
        raise ValidationFailed("Chọn một dịch vụ đang dùng trong danh mục dịch vụ của trạm.", field="service_id")
    text = clean(str(quantity or "1"))
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise ValidationFailed("Số lượng dịch vụ phải là số nguyên từ 1 đến 100.", field="quantity")
    consultation = get_consultation(session, visit.id)
    main = consultation.main_diagnosis if consultation is not None else None
    order = ServiceOrder(visit_id=visit.id, patient_id=visit.patient_id, service_id=item.id,
                         service_code=item.code, service_name=item.name, bhyt_code=item.bhyt_code, unit=item.unit,
                         unit_price=item.price, quantity=int(text), note=clean(note)[:255],
                         icd10_code=main.icd10_code if main is not None else "",
                         ordered_at=clock.now(), ordered_by=user.id)
    session.add(order)
    session.flush()
    audit.record(session, actor, "service_order.create", entity_type="service_order", entity_id=order.id,
                 detail={"visit": str(visit.id), "service": item.code, "quantity": order.quantity}, clock=clock)
    return order


def cancel_service_order(session: Session, order: ServiceOrder, *, reason: str, actor: Actor) -> ServiceOrder:
    """Cancel an ordered service (kept, with the reason); flush only."""
    if order.status == "cancelled":
        return order
    if len(clean(reason)) < MIN_REASON:
        raise ValidationFailed(f"Hủy chỉ định cần ghi lý do (ít nhất {MIN_REASON} ký tự).", field="reason")
    order.status = "cancelled"
    order.cancelled_reason = clean(reason)[:255]
    session.flush()
    audit.record(session, actor, "service_order.cancel", entity_type="service_order", entity_id=order.id,
                 detail={"reason": order.cancelled_reason})
    return order


def service_orders(session: Session, visit_id: uuid.UUID, *, include_cancelled: bool = True) -> list[ServiceOrder]:
    """Return the services ordered for a visit (billing: ``include_cancelled=False``)."""
    stmt = select(ServiceOrder).where(ServiceOrder.visit_id == visit_id).order_by(ServiceOrder.ordered_at)
    if not include_cancelled:
        stmt = stmt.where(ServiceOrder.status != "cancelled")
    return list(session.scalars(stmt))


# --- working days, referral, follow-up ----------------------------------------------------------


@lru_cache(maxsize=1)
def holidays(path: str = str(HOLIDAYS_PATH)) -> tuple[frozenset[date], frozenset[int]]:
    """Return (public holidays, weekday numbers of the weekend) from the data file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return frozenset(date.fromisoformat(d) for d in data["holidays"]), frozenset(data.get("weekend", [5, 6]))


def add_working_days(start: date, days: int, *, off: frozenset[date] | None = None,
                     weekend: frozenset[int] | None = None) -> date:
    """Return the *days*-th working day after *start* (BLDS 2015 Đ147: the period starts the next day)."""
    if off is None or weekend is None:
        default_off, default_weekend = holidays()
        off = default_off if off is None else off
        weekend = default_weekend if weekend is None else weekend
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() not in weekend and day not in off:
            counted += 1
    return day


REFERRAL_FIELDS = ("destination_code", "destination_name", "reason_kind", "reason", "findings", "diagnosis",
                   "treatment_given", "condition_at_transfer", "transport", "accompanying_staff")


def get_referral(session: Session, visit_id: uuid.UUID) -> Referral | None:
    """Return the referral of a visit, if any."""
    return session.scalar(select(Referral).where(Referral.visit_id == visit_id))


def save_referral(session: Session, visit: Visit, data: Any, *, user: Any, actor: Actor,
                  clock: Clock | None = None) -> Referral:
    """Create or update the referral form (TT 01/2025 PL VI); validity 10 working days from signing."""
    clock = clock or SystemClock()
    values = {k: clean(str(data.get(k) or "")) if k in ("destination_code", "destination_name", "reason_kind",
                                                          "transport", "accompanying_staff")
              else str(data.get(k) or "").strip() for k in REFERRAL_FIELDS}
    if not values["destination_name"]:
        raise ValidationFailed("Phiếu chuyển cơ sở KCB (TT 01/2025 PL VI): cần ghi nơi chuyển đến.",
                               field="destination_name")
    if values["destination_code"] and not (len(values["destination_code"]) == 5 and values["destination_code"].isalnum()):
        raise ValidationFailed("Mã cơ sở nơi chuyển đến (MA_NOI_DEN) gồm 5 ký tự chữ/số.", field="destination_code")
    if len(values["reason"]) < MIN_REASON:
        raise ValidationFailed("Phiếu chuyển cơ sở KCB: cần ghi lý do chuyển (ít nhất 5 ký tự).", field="reason")
    if values["reason_kind"] not in ("professional", "patient_request"):
        values["reason_kind"] = "professional"
    for name in ("transport", "accompanying_staff", "destination_name"):
        values[name] = values[name][:200 if name != "transport" else 120]
    referral = get_referral(session, visit.id)
    today = local_today(clock)
    created = referral is None
    reason = _amendment_reason(session, visit, data, what="Phiếu chuyển cơ sở KCB", exists=not created)
    before = {name: getattr(referral, name) for name in REFERRAL_FIELDS} if referral is not None else {}
    if referral is None:
        year = today.year
        number = f"{year}-CT{next_number(session, f'referral:{year}'):05d}"
        referral = Referral(visit_id=visit.id, patient_id=visit.patient_id, number=number, issued_on=today,
                            valid_until=add_working_days(today, REFERRAL_VALID_WORKING_DAYS))
        session.add(referral)
    for name, value in values.items():
        setattr(referral, name, value)
    if not referral.diagnosis:
        consultation = get_consultation(session, visit.id)
        if consultation is not None:
            referral.diagnosis = "; ".join(f"{d.icd10_code} - {d.title}" for d in consultation.diagnoses)
    referral.signed_by = actor.label[:64]
    referral.signer_name = getattr(user, "full_name", "")[:120]
    session.flush()
    detail: dict[str, Any] = {"visit": str(visit.id), "number": referral.number}
    if reason:  # an amendment after signing: the earlier text is kept in the audit trail
        detail.update(reason=reason, before={k: v for k, v in before.items() if getattr(referral, k) != v})
    audit.record(session, actor, "referral.amend" if reason else "referral.create" if created else "referral.update",
                 entity_type="referral", entity_id=referral.id, detail=detail, clock=clock)
    return referral


def _amendment_reason(session: Session, visit: Visit, data: Any, *, what: str, exists: bool) -> str:
    """Return the amendment reason when *what* changes after the consultation was signed (required then)."""
    consultation = get_consultation(session, visit.id)
    if consultation is None or consultation.status != "signed" or not exists:
        return ""
    reason = clean(str(data.get("amend_reason") or ""))
    if len(reason) < MIN_REASON:
        raise ValidationFailed(f"{what} của phiếu khám đã ký: mọi thay đổi là một lần sửa đổi và cần ghi lý do "
                               f"(ít nhất {MIN_REASON} ký tự).", field="amend_reason")
    return reason


def get_follow_up(session: Session, visit_id: uuid.UUID) -> FollowUpAppointment | None:
    """Return the follow-up appointment of a visit, if any."""
    return session.scalar(select(FollowUpAppointment).where(FollowUpAppointment.visit_id == visit_id))


def save_follow_up(session: Session, visit: Visit, data: Any, *, user: Any, actor: Actor,
                   clock: Clock | None = None, print_slip: bool = True) -> FollowUpAppointment:
    """Create or update the follow-up appointment (PL V, one per episode) and queue its slip."""
    from station.printing.services import enqueue

    clock = clock or SystemClock()
    day = parse_day(str(data.get("appointment_on") or ""), "Ngày hẹn khám lại", "appointment_on")
    visit_day = to_local(visit.arrived_at).date()
    if day is None:
        raise ValidationFailed("Giấy hẹn khám lại (TT 01/2025 PL V): cần ngày hẹn.", field="appointment_on")
    if not visit_day < day <= visit_day + timedelta(days=366):
        raise ValidationFailed("Ngày hẹn khám lại phải sau ngày khám và trong vòng 1 năm.", field="appointment_on")
    appointment = get_follow_up(session, visit.id)
    created = appointment is None
    reason = _amendment_reason(session, visit, data, what="Giấy hẹn khám lại", exists=not created)
    before = ({"appointment_on": appointment.appointment_on.isoformat(), "appointment_time": appointment.appointment_time,
               "reason": appointment.reason} if appointment is not None else {})
    if appointment is None:
        year = local_today(clock).year
        appointment = FollowUpAppointment(visit_id=visit.id, patient_id=visit.patient_id,
                                          number=f"{year}-HK{next_number(session, f'followup:{year}'):05d}",
                                          appointment_on=day, issued_at=clock.now())
        session.add(appointment)
    appointment.appointment_on = day
    appointment.appointment_time = clean(str(data.get("appointment_time") or ""))[:20]
    appointment.reason = clean(str(data.get("reason") or ""))[:500]
    appointment.note = clean(str(data.get("note") or ""))[:500]
    appointment.room_code = visit.room_code
    appointment.issued_by = actor.label[:64]
    consultation = get_consultation(session, visit.id)
    if consultation is not None and consultation.follow_up_on != day:
        consultation.follow_up_on = day  # XML1 NGAY_TAI_KHAM and XML14 must agree
        if consultation.status == "signed":
            # A signed consultation changes only by an amendment with a reason (a new kept revision).
            consultation.revision += 1
            _add_revision(session, consultation, "amendment", reason or "Đổi ngày hẹn khám lại",
                          user=user, actor=actor, clock=clock)
    session.flush()
    detail: dict[str, Any] = {"visit": str(visit.id), "on": day.isoformat()}
    if reason:
        detail.update(reason=reason, before=before)
    audit.record(session, actor, "follow_up.amend" if reason else "follow_up.create" if created else "follow_up.update",
                 entity_type="follow_up", entity_id=appointment.id, detail=detail, clock=clock)
    if print_slip:
        from station.admin.models import Facility

        facility = session.scalar(select(Facility).limit(1))
        patient = session.get(Patient, visit.patient_id)
        enqueue(session, "followup_slip", {
            "station_name": facility.name if facility else "", "patient_name": patient.full_name if patient else "",
            "appointment_date": day.isoformat(), "issued_at": clock.now().isoformat(),
            "appointment_time": appointment.appointment_time or None, "room": visit.room_code or None,
            "reason": appointment.reason or None, "note": appointment.note or None, "code": appointment.number,
            "reprint": False, "extra_lines": []},
            actor=actor, room_code=visit.room_code, subject_type="follow_up", subject_id=appointment.id,
            patient_id=visit.patient_id)
    return appointment


# --- history ----------------------------------------------------------------------------------


def patient_consultations(session: Session, patient_id: uuid.UUID, *, limit: int = 500) -> list[Consultation]:
    """Return the patient's consultations newest first, diagnoses and revisions loaded (no N+1)."""
    return list(session.scalars(select(Consultation).where(Consultation.patient_id == patient_id)
                                .options(selectinload(Consultation.diagnoses), selectinload(Consultation.revisions))
                                .order_by(Consultation.created_at.desc()).limit(limit)))
