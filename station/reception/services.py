"""Check-in: from a scanned CCCD QR (or a manual search) to visit, queue number and ticket job.

One call of :func:`checkin` does, in the caller's transaction: follow a merged
record to its survivor, reuse an open visit started within the double-scan
window (``RECEPTION_DOUBLE_SCAN_MINUTES``, default 10) or open a new visit,
give it the room's next number with its priority, and queue the ticket print
job. The boundary (view, CLI) commits once, so the three appear together or
not at all. The BHYT lookup runs after that commit (see the views), so a slow
portal never holds the write lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from station.admin.models import Facility
from station.admin.services import get_facility
from station.audit import services as audit
from station.audit.services import Actor
from station.clock import Clock, SystemClock, local_today, to_local
from station.db import lock_for_append
from station.errors import NotFound, ValidationFailed
from station.patients.bhyt import BhytCodeError, parse_bhyt_code, validate_bhxh_number
from station.patients.cccd import CccdQr, CccdQrError, parse_cccd_qr, title_case, validate_cccd_number
from station.patients import services as patient_services
from station.patients.models import BhytCard, Patient, PatientIdentifier
from station.printing.models import PrintJob
from station.printing.services import enqueue
from station.reception import queue
from station.reception.models import QueueTicket, Room
from station.text import clean, fold
from station.visits import services as visits
from station.visits.models import Visit

DEFAULT_DOUBLE_SCAN_MINUTES = 10
SEX_LABELS = {"male": "Nam", "female": "Nữ", "undetermined": "Chưa xác định"}


@dataclass
class Change:
    """A difference between the record and the card, offered to the user to accept."""

    field: str
    label: str
    old: str
    new: str


@dataclass
class CheckinResult:
    """The outcome of a scan or a check-in, for the screens and the JSON API."""

    #: "checked_in" (new visit), "existing_visit" (double scan) or "unknown_patient".
    status: str
    patient: Patient | None = None
    visit: Visit | None = None
    ticket: QueueTicket | None = None
    print_job: PrintJob | None = None
    qr: CccdQr | None = None
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Set when the scanned record was merged into another one.
    merged_from: str = ""

    def as_json(self, *, include_patient: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "warnings": self.warnings}
        if self.ticket is not None:
            data["ticket"] = {"id": str(self.ticket.id), "number": self.ticket.number, "room": self.ticket.room_code,
                              "room_name": self.ticket.room.name if self.ticket.room else self.ticket.room_code,
                              "state": self.ticket.state, "priority": self.ticket.priority_reason,
                              "priority_label": queue.rule_label(self.ticket.priority_reason)}
        if self.visit is not None:
            data["visit"] = {"id": str(self.visit.id), "visit_key": self.visit.visit_key,
                             "eligibility": self.visit.eligibility, "eligibility_note": self.visit.eligibility_note}
        if self.print_job is not None:
            data["print_job"] = {"id": str(self.print_job.id), "state": self.print_job.state}
        if include_patient and self.patient is not None:
            data["patient"] = {"id": str(self.patient.id), "code": self.patient.code, "name": self.patient.full_name,
                               "birth_date": self.patient.birth_date.strftime("%d/%m/%Y"),
                               "sex": SEX_LABELS.get(self.patient.sex, self.patient.sex)}
            data["changes"] = [c.__dict__ for c in self.changes]
            data["merged_from"] = self.merged_from
        if include_patient and self.qr is not None and self.status == "unknown_patient":
            data["card"] = {"number": self.qr.number, "name": title_case(self.qr.full_name),
                            "birth_date": self.qr.birth_date.strftime("%d/%m/%Y"),
                            "sex": SEX_LABELS.get(self.qr.sex, self.qr.sex), "address": self.qr.address,
                            "old_id": self.qr.old_id or ""}
        return data


def parse_scan(text: str, *, today: date) -> CccdQr:
    """Parse a scanned QR; a garbage or half scan raises ValidationFailed with the parser's message."""
    try:
        return parse_cccd_qr(text or "", today=today)
    except CccdQrError as error:
        raise ValidationFailed(f"Không đọc được mã QR căn cước: {error} Vui lòng quét lại.", field="scan") from None


def survivor(session: Session, patient: Patient) -> tuple[Patient, str]:
    """Follow merges to the surviving record; return it and the merged code ("" if none)."""
    merged_from = ""
    seen: set[uuid.UUID] = set()
    while patient.status == "merged" and patient.merged_into_id and patient.id not in seen:
        seen.add(patient.id)
        merged_from = merged_from or patient.code
        target = session.get(Patient, patient.merged_into_id)
        if target is None:
            break
        patient = target
    if patient.status == "deceased":
        raise ValidationFailed(f"Hồ sơ {patient.code} đã ghi nhận tử vong; không thể tiếp đón. Kiểm tra lại thẻ.")
    return patient, merged_from


def find_by_cccd(session: Session, number: str) -> Patient | None:
    """The patient holding personal ID *number* (active first, then a cancelled/replaced one)."""
    rows = session.execute(
        select(PatientIdentifier.patient_id, PatientIdentifier.status)
        .where(PatientIdentifier.kind == "cccd", PatientIdentifier.value == number)).all()
    if not rows:
        return None
    rows.sort(key=lambda r: r.status != "active")
    return session.get(Patient, rows[0].patient_id)


def card_changes(patient: Patient, qr: CccdQr) -> list[Change]:
    """What the card says differently from the record (name, birth date, sex, card address)."""
    changes: list[Change] = []
    name = title_case(qr.full_name)
    if name != patient.full_name:
        changes.append(Change("full_name", "Họ và tên", patient.full_name, name))
    if qr.birth_date != patient.birth_date:
        changes.append(Change("birth_date", "Ngày sinh", patient.birth_date.strftime("%d/%m/%Y"),
                              qr.birth_date.strftime("%d/%m/%Y")))
    if qr.sex != patient.sex:
        changes.append(Change("sex", "Giới tính", SEX_LABELS.get(patient.sex, patient.sex), SEX_LABELS.get(qr.sex, qr.sex)))
    if clean(qr.address) != clean(patient.card_address or ""):
        changes.append(Change("card_address", "Địa chỉ trên thẻ", patient.card_address or "", clean(qr.address)))
    return changes


def accept_changes(session: Session, patient: Patient, qr: CccdQr, fields: list[str], *, actor: Actor) -> list[str]:
    """Copy the chosen *fields* from the card into the record; audited; return what changed."""
    applied = []
    for change in card_changes(patient, qr):
        if change.field not in fields:
            continue
        if change.field == "full_name":
            patient.full_name = change.new
            patient.name_folded = fold(change.new)
        elif change.field == "birth_date":
            patient.birth_date = qr.birth_date
            patient.birth_year = qr.birth_date.year
            patient.birth_precision = "day"
        elif change.field == "sex":
            patient.sex = qr.sex
        elif change.field == "card_address":
            patient.card_address = change.new[:300]
        applied.append(change.field)
    if applied:
        session.flush()
        audit.record(session, actor, "patient.update", entity_type="patient", entity_id=patient.id,
                     detail={"fields": applied, "source": "cccd_qr"})
    return applied


def register_from_qr(session: Session, text: str, *, actor: Actor, clock: Clock | None = None,
                     phone: str = "") -> Patient:
    """Create the patient of a scanned card after the user confirmed it; Conflict-free if it exists already."""
    qr = parse_scan(text, today=local_today(clock))
    lock_for_append(session, f"register:{qr.number}")
    existing = find_by_cccd(session, qr.number)
    if existing is not None:
        return survivor(session, existing)[0]
    extra = {"phone": clean(phone)} if phone.strip() else None
    registration = patient_services.register_patient_from_qr(session, qr, actor=actor, clock=clock, extra=extra)
    return survivor(session, registration.patient)[0]


def _like_escape(text: str) -> str:
    """Escape LIKE wildcards typed into a name (a literal %, _ or backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def double_scan_window(config: dict[str, Any] | None) -> timedelta:
    return timedelta(minutes=int((config or {}).get("RECEPTION_DOUBLE_SCAN_MINUTES", DEFAULT_DOUBLE_SCAN_MINUTES)))


def checkin(session: Session, patient: Patient, *, room_code: str, actor: Actor, channel: str = "reception",
            reason: str = "", flags: list[str] | tuple[str, ...] = (), use_insurance: bool = True,
            config: dict[str, Any] | None = None, clock: Clock | None = None, print_ticket: bool = True,
            facility: Facility | None = None, printer_name: str = "") -> CheckinResult:
    """Admit *patient* to *room_code*: one visit, one number, one ticket job (flush only).

    A second check-in within the double-scan window returns the open visit and its
    number instead of opening another (also under concurrency: the patient is locked).
    """
    patient, merged_from = survivor(session, patient)
    room = queue.get_room(session, room_code)
    now = (clock or SystemClock()).now()
    visits.lock_patient_checkin(session, patient.id)
    recent = visits.find_recent_visit(session, patient.id, now=now, window=double_scan_window(config))
    if recent is not None:
        ticket = queue.ticket_for_visit(session, recent.id)
        audit.record(session, actor, "visit.rescan", entity_type="visit", entity_id=recent.id,
                     detail={"patient": str(patient.id)}, clock=clock)
        return CheckinResult("existing_visit", patient=patient, visit=recent, ticket=ticket,
                             merged_from=merged_from,
                             warnings=["Người bệnh đã được tiếp đón cách đây ít phút: dùng lại lượt khám và số đã cấp."])
    facility = facility or get_facility(session)
    card = patient_services.current_card(patient, local_today(clock))
    can_lookup = use_insurance and (card is not None or patient.active_identifier("cccd"))
    visit = visits.open_visit(session, patient, facility_code=facility.facility_code if facility else "",
                              room_code=room.code, actor=actor, reason=reason, channel=channel,
                              eligibility="to_verify" if can_lookup else "uninsured",
                              bhyt_card_id=card.id if card is not None and use_insurance else None, clock=clock)
    if can_lookup:
        visit.eligibility_note = "Đang chờ tra cứu thẻ BHYT."
    today = to_local(now).date()
    priority = queue.assess_priority(session, patient, today=today, flags=flags,
                                     rules=queue.priority_rules(config))
    ticket = queue.issue_ticket(session, visit, room, priority=priority, channel=channel, clock=clock)
    job = None
    if print_ticket:
        job = enqueue(session, "ticket", ticket_payload(facility, room, ticket, patient, visit), actor=actor,
                      room_code=room.code, printer_name=printer_name,
                      subject_type="visit", subject_id=visit.id, patient_id=patient.id)
    warnings = []
    if merged_from:
        warnings.append(f"Hồ sơ {merged_from} đã được gộp vào hồ sơ {patient.code}; lượt khám ghi vào hồ sơ {patient.code}.")
    return CheckinResult("checked_in", patient=patient, visit=visit, ticket=ticket, print_job=job,
                         merged_from=merged_from, warnings=warnings)


def ticket_payload(facility: Facility | None, room: Room, ticket: QueueTicket, patient: Patient,
                   visit: Visit) -> dict[str, Any]:
    """Exactly the fields of printers.layouts.TicketData (issued_at as local ISO 8601)."""
    payload: dict[str, Any] = {
        "station_name": facility.name if facility else "Trạm Y tế",
        "room": room.name,
        "number": ticket.number,
        "patient_name": patient.full_name,
        "issued_at": to_local(ticket.issued_at).replace(microsecond=0).isoformat(),
        "visit_key": visit.visit_key,
    }
    label = queue.rule_label(ticket.priority_reason)
    if label:
        payload["note"] = f"Ưu tiên: {label}. Vui lòng chờ đến lượt được gọi số."
    return payload


def checkin_from_qr(session: Session, text: str, *, room_code: str, actor: Actor, channel: str = "reception",
                    reason: str = "", flags: list[str] | tuple[str, ...] = (), use_insurance: bool = True,
                    config: dict[str, Any] | None = None, clock: Clock | None = None,
                    printer_name: str = "") -> CheckinResult:
    """Scan → check-in for a known card; for an unknown card return "unknown_patient" and create nothing."""
    qr = parse_scan(text, today=local_today(clock))
    patient = find_by_cccd(session, qr.number)
    if patient is None:
        return CheckinResult("unknown_patient", qr=qr, warnings=list(qr.warnings))
    result = checkin(session, patient, room_code=room_code, actor=actor, channel=channel, reason=reason, flags=flags,
                     use_insurance=use_insurance, config=config, clock=clock, printer_name=printer_name)
    result.qr = qr
    result.changes = card_changes(result.patient, qr) if result.patient is not None else []
    result.warnings = list(qr.warnings) + result.warnings
    return result


def search_patients(session: Session, *, actor: Actor, cccd: str = "", bhyt: str = "", name: str = "",
                    birth_date: date | None = None, limit: int = 20) -> list[Patient]:
    """Manual fallback: by personal ID, BHYT code / BHXH number, or name + date of birth; audited."""
    cccd, bhyt, name = (cccd or "").strip(), (bhyt or "").strip(), clean(name or "")
    patients: list[Patient] = []
    if cccd:
        try:
            number = validate_cccd_number(cccd)
        except CccdQrError as error:
            raise ValidationFailed(str(error), field="cccd") from None
        found = find_by_cccd(session, number)
        patients = [found] if found else []
        criterion = "cccd"
    elif bhyt:
        compact = "".join(bhyt.split()).upper()
        try:
            if len(compact) == 10:
                number = validate_bhxh_number(compact)
                condition = or_(BhytCard.card_code.like(f"%{number}"))
                ident = select(PatientIdentifier.patient_id).where(PatientIdentifier.kind == "bhxh",
                                                                   PatientIdentifier.value == number)
                ids = set(session.scalars(select(BhytCard.patient_id).where(condition))) | set(session.scalars(ident))
            else:
                code = parse_bhyt_code(compact).code
                ids = set(session.scalars(select(BhytCard.patient_id).where(BhytCard.card_code == code)))
        except BhytCodeError as error:
            raise ValidationFailed(str(error), field="bhyt") from None
        patients = [p for p in (session.get(Patient, i) for i in ids) if p is not None]
        criterion = "bhyt"
    elif name and birth_date is not None:
        patients = list(session.scalars(
            select(Patient).where(and_(Patient.birth_year == birth_date.year, Patient.name_folded == fold(name),
                                       Patient.birth_date == birth_date)).limit(limit)))
        if not patients:
            patients = list(session.scalars(
                select(Patient).where(Patient.birth_year == birth_date.year,
                                      Patient.name_folded.like(f"%{_like_escape(fold(name))}%", escape="\\"))
                .limit(limit)))
        criterion = "name_dob"
    else:
        raise ValidationFailed("Nhập số CCCD, hoặc mã thẻ BHYT, hoặc họ tên kèm ngày sinh để tìm.")
    audit.record(session, actor, "patient.search", entity_type="patient",
                 detail={"by": criterion, "found": len(patients)})
    return patients[:limit]


def get_patient(session: Session, patient_id: str, *, actor: Actor) -> Patient:
    """Load a patient by id for check-in; audited read."""
    try:
        patient = session.get(Patient, uuid.UUID(str(patient_id)))
    except ValueError:
        patient = None
    if patient is None:
        raise NotFound("Không tìm thấy hồ sơ người bệnh.")
    audit.record(session, actor, "patient.view", entity_type="patient", entity_id=patient.id,
                 detail={"purpose": "reception"})
    return patient


def ticket_print_alerts(session: Session, *, day: date, stale_seconds: int = 60, now: datetime | None = None) -> list[PrintJob]:
    """Today's ticket jobs that did not print (failed, cut off, or stuck with an error): reception must act."""
    now = now or SystemClock().now()
    start = datetime.combine(day, datetime.min.time(), tzinfo=to_local(now).tzinfo)
    jobs = session.scalars(
        select(PrintJob).where(PrintJob.document == "ticket", PrintJob.created_at >= start,
                               or_(PrintJob.state.in_(("failed", "needs_reprint")),
                                   and_(PrintJob.state.in_(("queued", "printing")),
                                        or_(PrintJob.last_error != "",
                                            PrintJob.created_at < now - timedelta(seconds=stale_seconds)))))
        .order_by(PrintJob.created_at.desc()).limit(20)).all()
    return list(jobs)
