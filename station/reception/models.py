"""Reception: rooms, the daily queue per room, and scans waiting for their screen.

The consultation area reads :class:`QueueTicket` for the doctor's worklist:
one ticket per visit, numbered per room and day ("PK1-023"), ordered by
``priority`` (higher first) then ``issued_at``. Its ``state`` moves
waiting → called → in_consultation → done, or to skipped / no_show; every
transition keeps its time, so waiting times are a plain query.

Calls are optimistic: every state change is a conditional UPDATE that also
checks ``version`` (see :mod:`station.reception.queue`), so two people calling
the same number at once cannot both win.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from station.db import TimestampMixin, UUIDMixin
from station.extensions import db
from station.patients.models import Patient
from station.visits.models import Visit

#: Ticket states, in the order of a normal visit.
WAITING = "waiting"
CALLED = "called"
IN_CONSULTATION = "in_consultation"
DONE = "done"
SKIPPED = "skipped"
NO_SHOW = "no_show"
TICKET_STATES = (WAITING, CALLED, IN_CONSULTATION, DONE, SKIPPED, NO_SHOW)
#: States still in the queue (shown on worklists and the calling display).
OPEN_STATES = (WAITING, CALLED, IN_CONSULTATION, SKIPPED)

TICKET_STATE_LABELS: dict[str, str] = {
    WAITING: "Đang chờ",
    CALLED: "Đã gọi",
    IN_CONSULTATION: "Đang khám",
    DONE: "Đã xong",
    SKIPPED: "Bỏ qua (gọi lại sau)",
    NO_SHOW: "Vắng mặt",
}


class Room(TimestampMixin, db.Model):
    """A room or service point patients queue for (phòng khám, tiêm chủng, khám thai...)."""

    __tablename__ = "rooms"

    #: Short code used in queue numbers and print routing, e.g. "PK1".
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: Room name shown on screens and tickets, e.g. "Phòng khám 1".
    name: Mapped[str] = mapped_column(String(80))
    #: The service offered, as the kiosk shows it, e.g. "Khám bệnh đa khoa".
    service_name: Mapped[str] = mapped_column(String(120), default="")
    #: "exam" (khám bệnh, visit type "01"), "vaccination", "antenatal", "other".
    kind: Mapped[str] = mapped_column(String(12), default="exam")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Offered on the self-service kiosk.
    on_kiosk: Mapped[bool] = mapped_column(Boolean, default=True)


class QueueTicket(UUIDMixin, TimestampMixin, db.Model):
    """A numbered place in a room's queue for one visit on one day."""

    __tablename__ = "queue_tickets"
    __table_args__ = (
        UniqueConstraint("room_code", "service_date", "seq", name="uq_queue_tickets_room_day_seq"),
        Index("ix_queue_tickets_room_day_state", "room_code", "service_date", "state"),
    )

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    room_code: Mapped[str] = mapped_column(String(10), ForeignKey("rooms.code"))
    #: Local (Asia/Ho_Chi_Minh) day the number belongs to; numbers restart each day.
    service_date: Mapped[date] = mapped_column(Date)
    #: Position in the room's daily sequence (1, 2, 3 ...).
    seq: Mapped[int] = mapped_column(Integer)
    #: The number as shown and printed: "PK1-023".
    number: Mapped[str] = mapped_column(String(20))
    #: Higher is called first (0 = normal); from the priority rules (station.reception.queue).
    priority: Mapped[int] = mapped_column(Integer, default=0)
    #: Rule key that gave the priority: "emergency", "child_under_6", "elderly", "disability", "pregnant" or "".
    priority_reason: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    #: Counter for optimistic concurrency: every transition checks and bumps it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    issued_at: Mapped[datetime]
    #: First call; ``last_called_at`` moves on every recall.
    called_at: Mapped[datetime | None]
    last_called_at: Mapped[datetime | None]
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    called_by: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: "reception", "kiosk" or "manual".
    channel: Mapped[str] = mapped_column(String(10), default="reception")

    visit: Mapped[Visit] = relationship()
    patient: Mapped[Patient] = relationship()
    room: Mapped[Room] = relationship()

    @property
    def state_label(self) -> str:
        return TICKET_STATE_LABELS.get(self.state, self.state)

    @property
    def wait_seconds(self) -> int | None:
        """Seconds from the ticket to the first call, when called."""
        if self.called_at is None:
            return None
        return int((self.called_at - self.issued_at).total_seconds())


class PendingScan(UUIDMixin, db.Model):
    """A QR read by a serial (USB-COM) scanner, waiting for the screen its port is assigned to.

    Rows live seconds: the screen takes them (deleted on take) and the reader
    purges anything older than a few minutes, so scanned card data does not pile up.
    """

    __tablename__ = "pending_scans"

    #: Screen the scanner's port is assigned to, e.g. "reception-1" or "kiosk-1".
    screen: Mapped[str] = mapped_column(String(40), index=True)
    #: Configured port name (SCANNERS key), for the operator.
    port: Mapped[str] = mapped_column(String(40), default="")
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class EligibilityCheck(UUIDMixin, db.Model):
    """One lookup of a visit's BHYT card on the BHXH portal (the retry trail of "to verify")."""

    __tablename__ = "eligibility_checks"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), index=True)
    checked_at: Mapped[datetime]
    #: "verified", "rejected", "expired", "unreachable".
    outcome: Mapped[str] = mapped_column(String(12))
    #: Portal result code or our error class, never patient data.
    code: Mapped[str] = mapped_column(String(40), default="")
    message: Mapped[str] = mapped_column(String(255), default="")
    checked_by: Mapped[str] = mapped_column(String(64), default="")
