"""Capture every change of a synced entity into the change log, in one place.

Models opt in by inheriting :class:`Synced` (or by naming a parent aggregate
with ``__sync_parent__``). A session ``after_flush`` listener appends the log
rows with the same connection, so the change and its log row commit or roll
back together, and no service can forget to log.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Integer, event, insert
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from station.clock import now_utc
from station.db import TimestampMixin, UUIDMixin, lock_for_append
from station.sync.models import ChangeLog


class Synced(UUIDMixin, TimestampMixin):
    """An entity that leaves the station: UUID key, version counter, change-logged.

    ``version`` is also the ORM's optimistic-concurrency column: an UPDATE that
    finds another version raises StaleDataError instead of overwriting.
    """

    #: Entity type in the feed, e.g. "Patient".
    __sync_entity__: ClassVar[str]

    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def _aggregate(obj: Any) -> tuple[str, Any, int] | None:
    """Return (entity, id, version) of the synced aggregate *obj* belongs to, if any."""
    parent_attr = getattr(type(obj), "__sync_parent__", None)
    if parent_attr:
        parent = getattr(obj, parent_attr, None)
        return _aggregate(parent) if parent is not None else None
    if isinstance(obj, Synced):
        return obj.__sync_entity__, obj.id, obj.version or 1
    return None


@event.listens_for(Session, "after_flush")
def _log_changes(session: Session, flush_context: Any) -> None:
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def add(obj: Any, op: str) -> None:
        found = _aggregate(obj)
        if found is None:
            return
        entity, entity_id, version = found
        is_root = isinstance(obj, Synced) and not getattr(type(obj), "__sync_parent__", None)
        key = (entity, str(entity_id))
        # A child's delete is an update of its parent; only the root itself is deleted.
        row_op = op if is_root else "upsert"
        if key in rows and rows[key]["op"] == "delete":
            return
        rows[key] = {"entity": entity, "entity_id": str(entity_id), "op": row_op, "version": version}

    for obj in session.new:
        add(obj, "upsert")
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            add(obj, "upsert")
    for obj in session.deleted:
        add(obj, "delete")
    if not rows:
        return
    txn = session.info.setdefault("sync_txn_id", str(uuid.uuid4()))
    at: datetime = now_utc()
    lock_for_append(session, "change_log")
    session.connection().execute(insert(ChangeLog), [
        {**row, "txn_id": txn, "changed_at": at} for row in rows.values()])


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _new_transaction(session: Session) -> None:
    session.info.pop("sync_txn_id", None)
