"""Queueing print jobs inside the caller's transaction."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from printers import PrinterProfile, ProfileError, get_profile, profile_from_config

from station.audit import services as audit
from station.audit.services import Actor
from station.clock import Clock, SystemClock
from station.errors import Conflict, NotFound, ValidationFailed
from station.printing.models import PrintJob, PrinterConfig
from station.text import nfc

DOCUMENTS = {"ticket", "receipt", "prescription_slip", "followup_slip", "test_page"}


def enqueue(session: Session, document: str, data: dict[str, Any], *, actor: Actor, room_code: str = "",
            printer_name: str = "", subject_type: str = "", subject_id: object = "",
            patient_id: uuid.UUID | None = None) -> PrintJob:
    """Queue *document* with *data* for printing; flush only (commits with the caller's change)."""
    if document not in DOCUMENTS:
        raise ValidationFailed(f"Loại giấy in không được hỗ trợ: {document}")
    job = PrintJob(document=document, payload=json.dumps(data, ensure_ascii=False, default=str),
                   room_code=room_code, printer_name=printer_name, requested_by=actor.label,
                   subject_type=subject_type, subject_id=str(subject_id or ""), patient_id=patient_id)
    session.add(job)
    session.flush()
    return job


def _receipt_cancelled(session: Session, payment_id: str) -> bool:
    """True when the payment a receipt slip was printed for has been cancelled."""
    from station.billing.models import Payment  # billing prints through this area, not the reverse

    try:
        payment = session.get(Payment, uuid.UUID(payment_id))
    except ValueError:
        return False
    return payment is not None and payment.status == "cancelled"


def reprint(session: Session, job: PrintJob, *, reason: str, actor: Actor, printer_name: str | None = None) -> PrintJob:
    """Queue a reprint of *job*: a reason is required, it is audited, and the paper says "BẢN IN LẠI"."""
    if len(reason.strip()) < 5:
        raise ValidationFailed("In lại cần ghi rõ lý do (ít nhất 5 ký tự).", field="reason")
    if job.subject_type == "receipt" and _receipt_cancelled(session, job.subject_id):
        raise ValidationFailed("Biên lai này đã bị hủy: không in lại biên lai đã hủy (số tiền trên giấy không còn đúng).")
    data = json.loads(job.payload)
    data["reprint"] = True
    copy = enqueue(session, job.document, data, actor=actor, room_code=job.room_code,
                   printer_name=job.printer_name if printer_name is None else printer_name,
                   subject_type=job.subject_type, subject_id=job.subject_id, patient_id=job.patient_id)
    copy.reprint_of_id = job.id
    copy.reprint_reason = reason.strip()
    audit.record(session, actor, "print.reprint", entity_type="print_job", entity_id=job.id,
                 detail={"reason": reason.strip(), "new_job": str(copy.id)})
    return copy


# ---------------------------------------------------------------------------
# Printer configuration
# ---------------------------------------------------------------------------

FLOW_CONTROLS: dict[str, str] = {"none": "Không", "rtscts": "RTS/CTS (phần cứng)", "xonxoff": "XON/XOFF (phần mềm)"}
BAUD_RATES = (2400, 4800, 9600, 19200, 38400, 57600, 115200)
_URL_SCHEMES = {"serial", "tcp", "file", "loop", "socket", "rfc2217", "spy", "fake"}

#: Vietnamese labels of job states.
STATE_LABELS: dict[str, str] = {
    "queued": "Đang chờ in",
    "printing": "Đang in",
    "done": "Đã in",
    "failed": "In thất bại",
    "needs_reprint": "Cần in lại",
    "cancelled": "Đã hủy",
}


def parse_profile(text: str) -> PrinterProfile:
    """Return the profile named by *text* (built-in name) or described by it (JSON object).

    Raises:
        ValidationFailed: unknown name, bad JSON or a profile printers rejects (e.g. an
        unknown code page), with the Vietnamese reason, on the ``profile`` field.
    """
    value = (text or "").strip()
    if not value:
        raise ValidationFailed("Cần chọn hồ sơ máy in.", field="profile")
    try:
        if value.startswith("{"):
            try:
                config = json.loads(value)
            except ValueError as error:
                raise ValidationFailed(f"Hồ sơ máy in tự khai báo không phải JSON hợp lệ: {error.msg} "
                                       f"(dòng {error.lineno}, cột {error.colno}).", field="profile") from None
            if not isinstance(config, dict):
                raise ValidationFailed("Hồ sơ máy in tự khai báo phải là một đối tượng JSON {...}.", field="profile")
            return profile_from_config(config)
        return get_profile(value)
    except ProfileError as error:
        raise ValidationFailed(str(error), field="profile") from None


def _check_url(url: str) -> str:
    """Validate a port URL (scheme and shape) without opening it."""
    value = url.strip()
    if not value:
        raise ValidationFailed("Cần nhập cổng máy in.", field="url")
    if value.startswith("/"):
        return value
    parts = urlsplit(value)
    if parts.scheme.lower() not in _URL_SCHEMES:
        raise ValidationFailed(f"Cổng máy in {value!r} không hợp lệ: dùng serial:///dev/ttyUSB0, /dev/ttyS0, "
                               "tcp://192.168.1.50:9100 hoặc file:///đường/dẫn.", field="url")
    if parts.scheme.lower() == "tcp" and not parts.hostname:
        raise ValidationFailed("Máy in mạng cần địa chỉ, ví dụ tcp://192.168.1.50:9100.", field="url")
    if parts.scheme.lower() in ("serial", "file") and not parts.path:
        raise ValidationFailed("Cổng máy in thiếu đường dẫn thiết bị hoặc tệp.", field="url")
    return value


def _csv(value: str) -> str:
    """Normalise a comma-separated list: trimmed, de-duplicated, in order."""
    seen: list[str] = []
    for item in (value or "").split(","):
        item = item.strip()
        if item and item not in seen:
            seen.append(item)
    return ",".join(seen)


def save_printer(session: Session, *, actor: Actor, name: str, url: str, baudrate: int = 9600,
                 flow_control: str = "none", profile: str = "epson-tm-t20ii", rooms: str = "",
                 documents: str = "", active: bool = True, printer: PrinterConfig | None = None) -> PrinterConfig:
    """Create or update a printer configuration after validating every field; audited."""
    name = nfc(name.strip())
    if not name:
        raise ValidationFailed("Cần nhập tên máy in.", field="name")
    if baudrate not in BAUD_RATES:
        raise ValidationFailed(f"Tốc độ cổng {baudrate} không hợp lệ (chọn {', '.join(map(str, BAUD_RATES))}).",
                               field="baudrate")
    if flow_control not in FLOW_CONTROLS:
        raise ValidationFailed("Kiểu điều khiển luồng không hợp lệ.", field="flow_control")
    parse_profile(profile)
    url = _check_url(url)
    documents = _csv(documents)
    unknown = [d for d in documents.split(",") if d and d not in DOCUMENTS]
    if unknown:
        raise ValidationFailed(f"Loại giấy in không có: {', '.join(unknown)} (có: {', '.join(sorted(DOCUMENTS))}).",
                               field="documents")
    clash = session.scalar(select(PrinterConfig).where(PrinterConfig.name == name))
    if clash is not None and clash is not printer:
        raise Conflict(f"Đã có máy in tên {name}.")
    created = printer is None
    if printer is None:
        printer = PrinterConfig(name=name)
        session.add(printer)
    printer.name = name
    printer.url = url
    printer.baudrate = baudrate
    printer.flow_control = flow_control
    printer.profile = profile.strip()
    printer.rooms = _csv(rooms)
    printer.documents = documents
    printer.active = active
    session.flush()
    audit.record(session, actor, "printer.create" if created else "printer.update", entity_type="printer",
                 entity_id=printer.id, detail={"name": name, "url": url, "active": active})
    return printer


def printer_url(printer: PrinterConfig) -> str:
    """Return the URL to open: serial ports get baudrate and flow control in the query."""
    url = printer.url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("tcp", "file", "fake"):
        return url
    options = dict(parse_qsl(parts.query))
    options.setdefault("baudrate", str(printer.baudrate))
    options.setdefault("rtscts", "1" if printer.flow_control == "rtscts" else "0")
    options.setdefault("xonxoff", "1" if printer.flow_control == "xonxoff" else "0")
    if not scheme:
        return f"serial://{url}?{urlencode(options)}"
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(options)}"


def port_key(printer: PrinterConfig) -> str:
    """Return the physical port a printer uses (one spooler worker per port)."""
    parts = urlsplit(printer.url)
    scheme = parts.scheme.lower() or "serial"
    if scheme == "tcp":
        return f"tcp://{parts.hostname}:{parts.port or 9100}"
    if scheme in ("serial", ""):
        return f"serial://{os.path.realpath(unquote(parts.path or printer.url))}"
    return printer.url.split("?", 1)[0]


def get_printer(session: Session, name: str) -> PrinterConfig:
    """Return the printer called *name* or raise NotFound."""
    printer = session.scalar(select(PrinterConfig).where(PrinterConfig.name == name))
    if printer is None:
        raise NotFound(f"Không có máy in tên {name}.")
    return printer


def active_printers(session: Session) -> list[PrinterConfig]:
    """Return the active printers, by name."""
    return list(session.scalars(select(PrinterConfig).where(PrinterConfig.active.is_(True))
                                .order_by(PrinterConfig.name)))


def queue_test_page(session: Session, printer: PrinterConfig, *, actor: Actor, clock: Clock | None = None) -> PrintJob:
    """Queue a test page for *printer* (flush only)."""
    now = (clock or SystemClock()).now()
    return enqueue(session, "test_page", {"printer_name": printer.name, "requested_at": now.isoformat()},
                   actor=actor, printer_name=printer.name)


# ---------------------------------------------------------------------------
# The queue, as the spooler and the print-queue page see it
# ---------------------------------------------------------------------------

def route_hint(job: PrintJob, printers: list[PrinterConfig]) -> str:
    """Explain, in Vietnamese, why a queued job has no printer (empty when routing is fine)."""
    if job.printer_name:
        match = [p for p in printers if p.name == job.printer_name]
        if not match:
            return f"Không có máy in nào tên {job.printer_name} đang hoạt động."
        return ""
    if not any(p.serves(job.room_code, job.document) for p in printers):
        room = f"phòng {job.room_code}" if job.room_code else "lệnh in không ghi phòng"
        return f"Chưa có máy in nào được cấu hình cho {room} ({job.document})."
    return ""


def _routing_filter(printers: list[PrinterConfig]) -> Any:
    """SQL condition: jobs that one of *printers* may print."""
    conditions = []
    for printer in printers:
        conditions.append(PrintJob.printer_name == printer.name)
        rooms = printer.room_codes()
        documents = printer.document_names()
        room_cond = (PrintJob.printer_name == "")
        if "*" not in rooms:
            if not rooms:
                continue
            room_cond = and_(room_cond, PrintJob.room_code.in_(sorted(rooms)))
        if documents:
            room_cond = and_(room_cond, PrintJob.document.in_(sorted(documents)))
        conditions.append(room_cond)
    return or_(*conditions)


def next_due_job(session: Session, printers: list[PrinterConfig], now: datetime) -> PrintJob | None:
    """Return the oldest queued job that is due and routed to one of *printers*."""
    if not printers:
        return None
    return session.scalars(
        select(PrintJob)
        .where(PrintJob.state == "queued", PrintJob.document.in_(sorted(DOCUMENTS)),
               or_(PrintJob.next_attempt_at.is_(None), PrintJob.next_attempt_at <= now),
               _routing_filter(printers))
        .order_by(PrintJob.created_at, PrintJob.id)
        .limit(1)
    ).first()


def printer_for_job(job: PrintJob, printers: list[PrinterConfig]) -> PrinterConfig | None:
    """Return the printer of *printers* that should print *job*."""
    for printer in printers:
        if job.printer_name and printer.name == job.printer_name:
            return printer
    if not job.printer_name:
        for printer in printers:
            if printer.serves(job.room_code, job.document):
                return printer
    return None


def backoff_seconds(attempts: int, *, base: float = 2.0, cap: float = 60.0) -> float:
    """Return the wait before attempt number *attempts* + 1: base * 2^(attempts-1), capped."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


def _job_or_error(job: PrintJob, allowed: set[str], message: str) -> None:
    if job.state not in allowed:
        raise Conflict(message)


def retry(session: Session, job: PrintJob, *, actor: Actor) -> PrintJob:
    """Put a waiting or failed job back at the head of the queue now; audited."""
    _job_or_error(job, {"queued", "failed"},
                  "Chỉ thử lại được lệnh đang chờ hoặc đã thất bại; giấy in dở thì dùng \"In lại\".")
    if job.state == "failed":
        job.attempts = 0
    job.state = "queued"
    job.next_attempt_at = None
    session.flush()
    audit.record(session, actor, "print.retry", entity_type="print_job", entity_id=job.id)
    return job


def cancel(session: Session, job: PrintJob, *, actor: Actor) -> PrintJob:
    """Cancel a job that has not been printed (or that needs a reprint nobody wants); audited."""
    _job_or_error(job, {"queued", "failed", "needs_reprint"}, "Lệnh in này không hủy được (đang in hoặc đã in).")
    job.state = "cancelled"
    job.next_attempt_at = None
    session.flush()
    audit.record(session, actor, "print.cancel", entity_type="print_job", entity_id=job.id)
    return job


def record_form(session: Session, form: str, data: dict[str, Any], *, actor: Actor, subject_type: str = "",
                subject_id: object = "", patient_id: uuid.UUID | None = None,
                clock: Clock | None = None) -> PrintJob:
    """Record an A4/A5 form generated as PDF: a PrintJob in state "done", audited (flush only).

    The payload is the form's context, so the same document can be rendered
    again from the patient's timeline.
    """
    now = (clock or SystemClock()).now()
    job = PrintJob(document=f"a4_{form}", payload=json.dumps(data, ensure_ascii=False, default=str),
                   printer_name="pdf", state="done", printed_at=now, requested_by=actor.label,
                   subject_type=subject_type, subject_id=str(subject_id or ""), patient_id=patient_id)
    session.add(job)
    session.flush()
    audit.record(session, actor, "print.form", entity_type="print_job", entity_id=job.id,
                 detail={"form": form, "patient_id": str(patient_id or "")})
    return job
