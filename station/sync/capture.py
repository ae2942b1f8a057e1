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

from sqlalchemy import Integer, event, insert, inspect
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


def _parent_of(obj: Any) -> Any:
    """Return the parent a child row belongs to (or belonged to, when just removed from it)."""
    parent_attr = getattr(type(obj), "__sync_parent__", None)
    if not parent_attr:
        return None
    parent = getattr(obj, parent_attr, None)
    if parent is None:
        # Removed from its parent's collection: the back-reference is already cleared,
        # but the attribute history still names the parent.
        deleted = inspect(obj).attrs[parent_attr].history.deleted
        parent = deleted[0] if deleted else None
    return parent


def _aggregate(obj: Any) -> tuple[str, Any, int] | None:
    """Return (entity, id, version) of the synced aggregate *obj* belongs to, if any."""
    if getattr(type(obj), "__sync_parent__", None):
        parent = _parent_of(obj)
        return _aggregate(parent) if parent is not None else None
    if isinstance(obj, Synced):
        return obj.__sync_entity__, obj.id, obj.version or 1
    return None


@event.listens_for(Session, "before_flush")
def _touch_parents(session: Session, flush_context: Any, instances: Any) -> None:
    # A change of a child row (an identifier, an allergy, a line) is a new version of its
    # aggregate: touching the parent makes the ORM bump its version, so the log row and the
    # FHIR meta.versionId name a version that really differs from the last one sent.
    now = now_utc()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        parent = _parent_of(obj)
        while parent is not None and not isinstance(parent, Synced):
            parent = _parent_of(parent)
        if parent is not None and parent not in session.deleted and inspect(parent).persistent:
            parent.updated_at = now


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
