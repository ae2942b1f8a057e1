"""The daily queue of each room: numbers, priority, calling and the display board.

Numbers restart each local day per room ("PK1-001" ...) through a gap-free
counter named ``queue:<room>:<yyyymmdd>``. Priority follows rules kept as data
(:data:`DEFAULT_PRIORITY_RULES`, overridable by ``RECEPTION_PRIORITY_RULES``):
emergencies, children under 6, the elderly, people with disabilities and
pregnant women are called before others (Luật Khám bệnh, chữa bệnh 2023 Đ 12;
Luật Người cao tuổi). Within one priority level patients are called in the
order they arrived.

Every transition is one conditional UPDATE that checks the ticket's state and
``version``: two people pressing "call" on the same number at once get one
success and one :class:`~station.errors.Conflict` with a clear message.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from station.auth.models import User
from station.auth.roles import Role
from station.admin.numbering import next_number
from station.audit import services as audit
from station.audit.services import Actor
from station.clock import Clock, SystemClock, local_today, to_local
from station.errors import Conflict, NotFound, ValidationFailed
from station.patients.models import Disability, Patient
from station.reception.models import (CALLED, DONE, IN_CONSULTATION, NO_SHOW, OPEN_STATES, SKIPPED, WAITING,
                                      QueueTicket, Room)
from station.visits.models import Visit


@dataclass(frozen=True)
class PriorityRule:
    """One priority rule: who it applies to, its weight and the label shown."""

    key: str
    weight: int
    label: str
    #: "age_min" (years >= value), "age_under_months" (age < value months), "disability", "flag".
    test: str
    value: int = 0


#: Checked in order; the highest weight that applies wins.
DEFAULT_PRIORITY_RULES: tuple[PriorityRule, ...] = (
    PriorityRule("emergency", 100, "Cấp cứu", "flag"),
    PriorityRule("child_under_6", 30, "Trẻ em dưới 6 tuổi", "age_under_months", 72),
    PriorityRule("elderly", 20, "Người cao tuổi (từ 75 tuổi)", "age_min", 75),
    PriorityRule("disability", 20, "Người khuyết tật nặng", "disability"),
    PriorityRule("pregnant", 20, "Phụ nữ có thai", "flag"),
)


def priority_rules(config: dict[str, Any] | None = None) -> tuple[PriorityRule, ...]:
    """Return the configured rules (``RECEPTION_PRIORITY_RULES``: list of dicts) or the defaults."""
    raw = (config or {}).get("RECEPTION_PRIORITY_RULES")
    if not raw:
        return DEFAULT_PRIORITY_RULES
    return tuple(PriorityRule(**item) for item in raw)


def _age_months(birth: date, today: date) -> int:
    months = (today.year - birth.year) * 12 + today.month - birth.month
    return months - (1 if today.day < birth.day else 0)


def assess_priority(session: Session, patient: Patient, *, today: date, flags: Iterable[str] = (),
                    rules: tuple[PriorityRule, ...] = DEFAULT_PRIORITY_RULES) -> tuple[int, str]:
    """Return (weight, rule key) of the highest rule that applies to *patient*; (0, "") if none.

    ``flags`` are what reception declares on arrival ("emergency", "pregnant", "disability").
    """
    flags = set(flags)
    best: tuple[int, str] = (0, "")
    months = _age_months(patient.birth_date, today)
    has_disability: bool | None = None
    for rule in rules:
        applies = False
        if rule.test == "flag":
            applies = rule.key in flags
        elif rule.test == "age_min":
            applies = months >= rule.value * 12
        elif rule.test == "age_under_months":
            applies = months < rule.value
        elif rule.test == "disability":
            if "disability" in flags:
                applies = True
            else:
                if has_disability is None:
                    has_disability = session.scalar(
                        select(func.count()).select_from(Disability).where(
                            Disability.patient_id == patient.id, Disability.level.in_(("severe", "very_severe")))) > 0
                applies = bool(has_disability)
        if applies and rule.weight > best[0]:
            best = (rule.weight, rule.key)
    return best


def rule_label(key: str, rules: tuple[PriorityRule, ...] = DEFAULT_PRIORITY_RULES) -> str:
    for rule in rules:
        if rule.key == key:
            return rule.label
    return ""


def get_room(session: Session, code: str) -> Room:
    """Return the active room *code* or raise ValidationFailed."""
    room = session.get(Room, (code or "").strip().upper())
    if room is None or not room.active:
        raise ValidationFailed(f"Phòng «{code}» không có hoặc đã ngừng tiếp nhận.", field="room")
    return room


def active_rooms(session: Session, *, kiosk_only: bool = False) -> list[Room]:
    query = select(Room).where(Room.active.is_(True))
    if kiosk_only:
        query = query.where(Room.on_kiosk.is_(True))
    return list(session.scalars(query.order_by(Room.sort_order, Room.code)))


def issue_ticket(session: Session, visit: Visit, room: Room, *, priority: tuple[int, str] = (0, ""),
                 channel: str = "reception", clock: Clock | None = None) -> QueueTicket:
    """Give *visit* the next number of *room* for today; flush only."""
    now = (clock or SystemClock()).now()
    day = to_local(now).date()
    seq = next_number(session, f"queue:{room.code}:{day:%Y%m%d}")
    ticket = QueueTicket(visit_id=visit.id, patient_id=visit.patient_id, room_code=room.code, service_date=day,
                         seq=seq, number=f"{room.code}-{seq:03d}", priority=priority[0],
                         priority_reason=priority[1], state=WAITING, version=1, issued_at=now,
                         call_count=0, called_by="", channel=channel)
    session.add(ticket)
    session.flush()
    return ticket


def ticket_for_visit(session: Session, visit_id: uuid.UUID) -> QueueTicket | None:
    return session.scalar(select(QueueTicket).where(QueueTicket.visit_id == visit_id))


def room_queue(session: Session, room_code: str, *, day: date, states: Iterable[str] = OPEN_STATES) -> list[QueueTicket]:
    """Tickets of a room's day in calling order (priority, then arrival)."""
    return list(session.scalars(
        select(QueueTicket).where(QueueTicket.room_code == room_code, QueueTicket.service_date == day,
                                  QueueTicket.state.in_(tuple(states)))
        .order_by(QueueTicket.priority.desc(), QueueTicket.issued_at, QueueTicket.seq)))


def _transition(session: Session, ticket: QueueTicket, *, from_states: tuple[str, ...], values: dict[str, Any],
                expected_version: int | None, conflict: str) -> QueueTicket:
    """Apply *values* if the ticket is still in *from_states* (and at *expected_version*); else Conflict."""
    version = ticket.version if expected_version is None else expected_version
    result = session.execute(
        update(QueueTicket)
        .where(QueueTicket.id == ticket.id, QueueTicket.version == version, QueueTicket.state.in_(from_states))
        .values(version=QueueTicket.version + 1, updated_at=values.get("_now"),
                **{k: v for k, v in values.items() if not k.startswith("_")})
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(ticket)
        raise Conflict(conflict.format(number=ticket.number, state=ticket.state_label))
    session.refresh(ticket)
    return ticket


def call_ticket(session: Session, ticket: QueueTicket, *, actor: Actor, expected_version: int | None = None,
                clock: Clock | None = None) -> QueueTicket:
    """Call (or call again) *ticket*; Conflict when someone else changed it first."""
    now = (clock or SystemClock()).now()
    if ticket.state in (DONE, NO_SHOW, IN_CONSULTATION) and expected_version is None:
        raise Conflict(f"Số {ticket.number} đang ở trạng thái «{ticket.state_label}», không gọi được.")
    values: dict[str, Any] = {"state": CALLED, "last_called_at": now, "call_count": QueueTicket.call_count + 1,
                              "called_by": actor.label[:64], "_now": now}
    if ticket.called_at is None:
        values["called_at"] = now
    _transition(session, ticket, from_states=(WAITING, CALLED, SKIPPED), values=values,
                expected_version=expected_version,
                conflict="Số {number} vừa được người khác xử lý (hiện: {state}); màn hình đã được cập nhật.")
    audit.record(session, actor, "queue.call", entity_type="queue_ticket", entity_id=ticket.id,
                 detail={"number": ticket.number, "room": ticket.room_code}, clock=clock)
    return ticket


def call_next(session: Session, room_code: str, *, actor: Actor, clock: Clock | None = None,
              attempts: int = 5) -> QueueTicket:
    """Call the next waiting ticket of *room_code* (priority first); NotFound when nobody waits.

    When a concurrent caller takes the same ticket first, the next one is tried.
    """
    day = local_today(clock)
    for _ in range(attempts):
        ticket = session.scalar(
            select(QueueTicket).where(QueueTicket.room_code == room_code, QueueTicket.service_date == day,
                                      QueueTicket.state == WAITING)
            .order_by(QueueTicket.priority.desc(), QueueTicket.issued_at, QueueTicket.seq).limit(1))
        if ticket is None:
            raise NotFound(f"Không còn người bệnh nào đang chờ ở phòng {room_code}.")
        try:
            return call_ticket(session, ticket, actor=actor, expected_version=ticket.version, clock=clock)
        except Conflict:
            continue
    raise Conflict("Nhiều người đang gọi số cùng lúc; vui lòng bấm lại.")


def find_ticket(session: Session, room_code: str, number: str, *, day: date) -> QueueTicket:
    """Find today's ticket by its number ("PK1-023" or just "23")."""
    text = (number or "").strip().upper()
    if text.isdigit():
        query = select(QueueTicket).where(QueueTicket.seq == int(text))
    else:
        query = select(QueueTicket).where(QueueTicket.number == text)
    ticket = session.scalar(query.where(QueueTicket.room_code == room_code, QueueTicket.service_date == day))
    if ticket is None:
        raise NotFound(f"Không có số «{number}» hôm nay ở phòng {room_code}.")
    return ticket


def start_consultation(session: Session, ticket: QueueTicket, *, actor: Actor, expected_version: int | None = None,
                       clock: Clock | None = None) -> QueueTicket:
    """Mark the called patient as being seen (the visit moves to "in_consultation")."""
    now = (clock or SystemClock()).now()
    _transition(session, ticket, from_states=(CALLED, WAITING, SKIPPED),
                values={"state": IN_CONSULTATION, "started_at": now, "_now": now},
                expected_version=expected_version,
                conflict="Số {number} không thể bắt đầu khám (hiện: {state}).")
    visit = session.get(Visit, ticket.visit_id)
    if visit is not None and visit.status == "open":
        visit.status = "in_consultation"
        # Only a doctor becomes the visit's doctor (MA_BAC_SI of the claim), not the nurse who pressed "start".
        if actor.id and actor.id not in ("system", "anonymous") and not actor.id.startswith("client:"):
            try:
                user = session.get(User, uuid.UUID(actor.id))
            except ValueError:
                user = None
            if user is not None and user.role is Role.DOCTOR:
                visit.doctor_id = user.id
    audit.record(session, actor, "queue.start", entity_type="queue_ticket", entity_id=ticket.id,
                 detail={"number": ticket.number}, clock=clock)
    return ticket


def finish(session: Session, ticket: QueueTicket, *, actor: Actor, clock: Clock | None = None) -> QueueTicket:
    """Mark the ticket done (the consultation area completes the visit itself)."""
    now = (clock or SystemClock()).now()
    _transition(session, ticket, from_states=(IN_CONSULTATION, CALLED), values={"state": DONE, "finished_at": now, "_now": now},
                expected_version=None, conflict="Số {number} không thể kết thúc (hiện: {state}).")
    audit.record(session, actor, "queue.done", entity_type="queue_ticket", entity_id=ticket.id, clock=clock)
    return ticket


def skip(session: Session, ticket: QueueTicket, *, actor: Actor, clock: Clock | None = None) -> QueueTicket:
    """Put a called patient who did not come aside; they can be called again later."""
    now = (clock or SystemClock()).now()
    _transition(session, ticket, from_states=(CALLED, WAITING), values={"state": SKIPPED, "_now": now},
                expected_version=None, conflict="Số {number} không thể bỏ qua (hiện: {state}).")
    audit.record(session, actor, "queue.skip", entity_type="queue_ticket", entity_id=ticket.id, clock=clock)
    return ticket


def mark_no_show(session: Session, ticket: QueueTicket, *, actor: Actor, clock: Clock | None = None) -> QueueTicket:
    """Close a ticket whose patient never came; the visit is cancelled."""
    now = (clock or SystemClock()).now()
    _transition(session, ticket, from_states=(CALLED, WAITING, SKIPPED),
                values={"state": NO_SHOW, "finished_at": now, "_now": now},
                expected_version=None, conflict="Số {number} không thể đánh dấu vắng (hiện: {state}).")
    visit = session.get(Visit, ticket.visit_id)
    if visit is not None and visit.status == "open":
        visit.status = "cancelled"
        visit.note = (visit.note + "\nVắng mặt khi gọi số.").strip()
    audit.record(session, actor, "queue.no_show", entity_type="queue_ticket", entity_id=ticket.id, clock=clock)
    return ticket


def display_board(session: Session, rooms: Iterable[str], *, day: date, recent: int = 5) -> dict[str, Any]:
    """What the calling display shows: per room the current call and the last calls; numbers only.

    No names: the TV is in the waiting room.
    """
    board: dict[str, Any] = {"rooms": []}
    for code in rooms:
        room = session.get(Room, code)
        if room is None:
            continue
        called = list(session.scalars(
            select(QueueTicket).where(QueueTicket.room_code == code, QueueTicket.service_date == day,
                                      QueueTicket.last_called_at.is_not(None),
                                      QueueTicket.state.in_((CALLED, IN_CONSULTATION)))
            .order_by(QueueTicket.last_called_at.desc()).limit(recent)))
        waiting = session.scalar(select(func.count()).select_from(QueueTicket).where(
            QueueTicket.room_code == code, QueueTicket.service_date == day, QueueTicket.state == WAITING))
        current = called[0] if called else None
        board["rooms"].append({
            "code": code, "name": room.name,
            "current": current.number if current else None,
            "current_call": f"{current.id}:{current.call_count}" if current else None,
            "called_at": current.last_called_at.isoformat() if current and current.last_called_at else None,
            "recent": [t.number for t in called[1:]],
            "waiting": int(waiting or 0),
        })
    return board


def waiting_statistics(session: Session, *, day: date, room_code: str | None = None) -> dict[str, Any]:
    """Waiting time (ticket to first call) of a day: count, average and maximum minutes."""
    query = select(QueueTicket).where(QueueTicket.service_date == day, QueueTicket.called_at.is_not(None))
    if room_code:
        query = query.where(QueueTicket.room_code == room_code)
    waits = [t.wait_seconds or 0 for t in session.scalars(query)]
    total = session.scalar(select(func.count()).select_from(QueueTicket).where(QueueTicket.service_date == day)) or 0
    return {"tickets": int(total), "called": len(waits),
            "average_wait_min": round(sum(waits) / len(waits) / 60, 1) if waits else None,
            "max_wait_min": round(max(waits) / 60, 1) if waits else None}


def when_local(value: datetime | None) -> str:
    return to_local(value).strftime("%H:%M") if value else ""
