"""Writing and verifying the audit trail.

Every read and change of a patient record is written here with the actor and
address, so that the station can answer "who saw this record" (Law 91/2025,
Decree 356/2025). Application logs never carry patient data; this table does,
by identifier only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.audit.models import AuditEvent
from station.clock import Clock, SystemClock
from station.db import in_read_transaction, lock_for_append, reset_write_intent, set_write_intent

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, an API client or the system, and from where."""

    id: str
    label: str
    address: str = ""

    @classmethod
    def system(cls, label: str = "system", address: str = "local") -> "Actor":
        return cls(id="system", label=label, address=address)


def _digest(prev_hash: str, occurred_at: datetime, actor: Actor, action: str,
            entity_type: str, entity_id: str, detail: str) -> str:
    body = json.dumps(
        [prev_hash, occurred_at.isoformat(), actor.id, actor.label, action, entity_type,
         entity_id, actor.address, detail],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(session: Session, actor: Actor, action: str, *, entity_type: str = "",
           entity_id: object = "", detail: dict | None = None,
           clock: Clock | None = None) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (flush, no commit).

    A page that only reads (a GET on SQLite runs in a read transaction) has
    its audit event written and committed in a short transaction of its own,
    before the page is sent: no record is shown without its trace.
    """
    if in_read_transaction(session):
        token = set_write_intent(True)
        try:
            with Session(bind=session.get_bind()) as own:
                event = _append(own, actor, action, entity_type, entity_id, detail, clock)
                own.commit()
                own.expunge(event)
                return event
        finally:
            reset_write_intent(token)
    return _append(session, actor, action, entity_type, entity_id, detail, clock)


def _append(session: Session, actor: Actor, action: str, entity_type: str, entity_id: object,
            detail: dict | None, clock: Clock | None) -> AuditEvent:
    lock_for_append(session, "audit_chain")
    session.flush()
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none() or GENESIS
    # Microsecond precision survives every database we support.
    occurred_at = (clock or SystemClock()).now()
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
    entity = str(entity_id) if entity_id else ""
    event = AuditEvent(
        occurred_at=occurred_at, actor_id=actor.id, actor_label=actor.label, action=action,
        entity_type=entity_type, entity_id=entity, address=actor.address, detail=detail_text,
        prev_hash=prev,
        hash=_digest(prev, occurred_at, actor, action, entity_type, entity, detail_text),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the audit chain."""

    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Recompute every hash in order; report the first row that does not fit."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            return ChainReport(checked=checked)
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(checked, row.id, "prev_hash does not match the previous row (row removed or reordered)")
            actor = Actor(id=row.actor_id, label=row.actor_label, address=row.address)
            expected = _digest(prev, row.occurred_at, actor, row.action, row.entity_type,
                               row.entity_id, row.detail)
            if expected != row.hash:
                return ChainReport(checked, row.id, "hash does not match the row's content (row edited)")
            prev = row.hash
            checked += 1
            last_id = row.id
        session.expunge_all()
