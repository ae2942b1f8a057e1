"""Print jobs: rows written in the same transaction as what they print."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from station.db import TimestampMixin, UUIDMixin
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


class PrinterConfig(UUIDMixin, TimestampMixin, db.Model):
    """A configured thermal printer: where it hangs, how it speaks, what it prints.

    Station-local configuration (not synced). The spooler runs one worker per
    port; several configurations may name the same port (e.g. one printer that
    serves two rooms under two names) and then share that worker.
    """

    __tablename__ = "printers"

    #: Unique short name used to route jobs ("quay-tiep-don").
    name: Mapped[str] = mapped_column(String(40), unique=True)
    #: Port URL: serial:///dev/ttyUSB0, /dev/ttyS0, tcp://192.168.1.50:9100, file:///tmp/out.bin.
    url: Mapped[str] = mapped_column(String(255))
    baudrate: Mapped[int] = mapped_column(Integer, default=9600)
    #: "none", "rtscts" or "xonxoff".
    flow_control: Mapped[str] = mapped_column(String(8), default="none")
    #: A built-in profile name, or a JSON object for printers.profile_from_config.
    profile: Mapped[str] = mapped_column(Text, default="epson-tm-t20ii")
    #: Comma-separated room codes served; "*" = jobs of any room (and jobs without a room).
    rooms: Mapped[str] = mapped_column(String(255), default="")
    #: Comma-separated documents served; "" = every thermal document.
    documents: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def room_codes(self) -> set[str]:
        """Return the room codes this printer serves."""
        return {code.strip() for code in self.rooms.split(",") if code.strip()}

    def document_names(self) -> set[str]:
        """Return the documents this printer serves (empty = all)."""
        return {name.strip() for name in self.documents.split(",") if name.strip()}

    def serves(self, room_code: str, document: str) -> bool:
        """Return True when a job for *room_code* and *document* may go to this printer."""
        rooms = self.room_codes()
        room_ok = "*" in rooms or (bool(room_code) and room_code in rooms)
        documents = self.document_names()
        return room_ok and (not documents or document in documents)
