"""The change log (the sync feed) and the station's sync state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from station.extensions import db


class ChangeLog(db.Model):
    """One insert, update or delete of a synced entity, in commit order.

    ``seq`` is the cursor of push and pull: it is assigned inside the business
    transaction, and writers take turns (SQLite's single writer, an advisory
    lock on PostgreSQL), so a reader of ``seq > cursor`` never skips a row.
    The payload is not stored: it is built from the entity's current state
    when the row is sent (a full snapshot, so re-sending is idempotent).
    """

    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Entity type as the hub knows it, e.g. "Patient", "Encounter".
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    #: "upsert" or "delete" (a tombstone).
    op: Mapped[str] = mapped_column(String(8))
    #: The entity's version after this change.
    version: Mapped[int] = mapped_column(Integer)
    #: Groups the changes of one transaction.
    txn_id: Mapped[str] = mapped_column(String(36))
    #: Station time, informational only (never a cursor).
    changed_at: Mapped[datetime]


class SyncState(db.Model):
    """The station's side of the sync: one row."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Highest seq the hub has acknowledged.
    acked_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    #: "ok", "partial", "failed", "refused" (restored backup) or "" before the first run.
    last_result: Mapped[str] = mapped_column(String(16), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: Set when the hub refused the station as a restored copy: an admin must re-baseline.
    needs_rebaseline: Mapped[bool] = mapped_column(default=False)


class SetAsideChange(db.Model):
    """A change the hub rejected as invalid: listed for the admin, never blocking the rest."""

    __tablename__ = "sync_set_aside"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    resolved: Mapped[bool] = mapped_column(default=False)
