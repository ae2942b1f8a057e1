"""Queueing print jobs inside the caller's transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from station.audit import services as audit
from station.audit.services import Actor
from station.errors import ValidationFailed
from station.printing.models import PrintJob

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


def reprint(session: Session, job: PrintJob, *, reason: str, actor: Actor, printer_name: str | None = None) -> PrintJob:
    """Queue a reprint of *job*: a reason is required, it is audited, and the paper says "BẢN IN LẠI"."""
    if len(reason.strip()) < 5:
        raise ValidationFailed("In lại cần ghi rõ lý do (ít nhất 5 ký tự).", field="reason")
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
