"""Print jobs: rows written in the same transaction as what they print."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from station.extensions import db
from station.sync.capture import Synced


class PrintJob(Synced, db.Model):
    """One document to print on a thermal printer, or a record of a PDF form printed.

    The payload is the document's data (JSON), not printer bytes: the spooler
    renders it for the printer's profile when it prints, so a reprint on
    another printer still comes out right.
    """

    __tablename__ = "print_jobs"
    __sync_entity__ = "DocumentReference"

    #: Layout name: "ticket", "receipt", "prescription_slip", "followup_slip", "test_page", or an A4 form.
    document: Mapped[str] = mapped_column(String(30))
    #: Configured printer name; "" = the printer serving ``room_code``.
    printer_name: Mapped[str] = mapped_column(String(40), default="", index=True)
    room_code: Mapped[str] = mapped_column(String(10), default="")
    #: JSON object with everything the document shows.
    payload: Mapped[str] = mapped_column(Text)
    #: "queued", "printing", "done", "failed" (gave up), "needs_reprint" (cut off mid-way).
    state: Mapped[str] = mapped_column(String(14), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(255), default="")
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    printed_at: Mapped[datetime | None]
    #: The job this one reprints, and why (a reprint needs a reason and is audited).
    reprint_of_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("print_jobs.id"))
    reprint_reason: Mapped[str] = mapped_column(String(255), default="")
    #: The record the document is about (visit, prescription, receipt), for the timeline.
    subject_type: Mapped[str] = mapped_column(String(20), default="")
    subject_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
