"""The station's change log as a ``pusher.ChangeStore``: ChangeLog, SyncState and SetAsideChange.

``SqlChangeStore`` streams the log: each ``read_after`` reads at most ``limit`` rows
(``seq > cursor ORDER BY seq``) in its own short transaction and builds their FHIR payloads
with ``fhir.builders()``, one query per entity type per batch. Nothing holds the whole log
in memory, so a backlog of a million rows costs the same memory as one batch.

How a log row becomes a wire ``Change``:

* ``op == "delete"`` → a tombstone: ``op "delete"``, ``payload None``.
* ``op == "upsert"`` → the entity's **current** state as a FHIR resource (full snapshot;
  re-sending is idempotent). If the entity no longer exists (it was deleted later, so a
  tombstone follows in the log, or removed by a parent's cascade), the row is sent as
  ``op "delete"`` with ``payload None``: the hub learns the current truth and every seq
  still reaches it, so the hub's copy of the log has no holes.
* An entity type without a builder, or a record whose builder fails, cannot be expressed as
  FHIR: the row is **set aside** locally (``sync_set_aside``, with a Vietnamese reason) and
  skipped, exactly like a record the hub refuses (422). It never blocks the rest. The admin
  retries it from the sync page once the mapping or the data is fixed (``requeue``).

Within one store instance (one push run) a row's payload is frozen the first time it is
built, so a batch retried after a network failure is byte-identical and the hub's
idempotency check (same key, same sha256) recognises it even if the record changed
meanwhile. A new run rebuilds from the current state; the hub's cursor (checked at the start
of every run) prevents re-sending what it already holds.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from station.admin.models import Counter
from station.clock import now_utc
from station.db import lock_for_append
from station.sync import fhir
from station.sync.models import ChangeLog, SetAsideChange, SyncState
from station.sync.protocol import Change

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]

#: How many rows of a set-aside or feed listing to load at once.
PAGE = 500


@dataclass(frozen=True)
class SetAsideRow:
    """A set-aside change as the sync page lists it (no patient data: type, id, reason)."""

    seq: int
    entity: str
    entity_id: str
    reason: str
    at: datetime
    resolved: bool


def get_state(session: Session) -> SyncState:
    """Return the single SyncState row, creating it (flush only) if missing."""
    state = session.scalar(select(SyncState).order_by(SyncState.id).limit(1))
    if state is None:
        state = SyncState(id=1, acked_seq=0, last_result="", last_error="", needs_rebaseline=False)
        session.add(state)
        session.flush()
    return state


def _not_set_aside() -> Any:
    """SQL condition: the change-log row is not set aside."""
    return ~exists().where(SetAsideChange.seq == ChangeLog.seq)


class SqlChangeStore:
    """``pusher.ChangeStore`` over the station database; see the module docstring."""

    def __init__(self, session_factory: SessionFactory, *, settings: fhir.FhirSettings,
                 db_identity: str | None = None,
                 on_advance: Callable[[str, int], None] | None = None,
                 builders: Mapping[str, fhir.Builder] | None = None) -> None:
        self._sessions = session_factory
        self.settings = settings
        self._identity = db_identity
        self._on_advance = on_advance
        self._builders = dict(builders) if builders is not None else fhir.builders()
        #: Payloads frozen for this run, by seq (bounded: entries at or below the cursor are dropped).
        self._built: dict[int, Change] = {}

    # ------------------------------------------------------------------ ChangeStore protocol

    def db_identity(self) -> str:
        """Return Facility.db_identity (read once per store instance)."""
        if self._identity is None:
            from station.admin.models import Facility

            with self._sessions() as session:
                value = session.scalar(select(Facility.db_identity).limit(1))
            if value is None:
                raise RuntimeError("the station has no facility row: run `station init` first")
            self._identity = str(value)
        return self._identity

    def acked_seq(self) -> int:
        """Return the last seq the hub acknowledged."""
        with self._sessions() as session:
            value = session.scalar(select(SyncState.acked_seq).order_by(SyncState.id).limit(1))
        return int(value or 0)

    def last_seq(self) -> int:
        """Return the highest seq in the log (0 if empty)."""
        with self._sessions() as session:
            return int(session.scalar(select(func.max(ChangeLog.seq))) or 0)

    def read_after(self, seq: int, limit: int) -> list[Change]:
        """Return up to *limit* changes after *seq* in seq order, skipping set-aside rows."""
        for stale in [s for s in self._built if s <= seq]:
            del self._built[stale]
        while True:
            with self._sessions() as session:
                rows = session.execute(
                    select(ChangeLog.seq, ChangeLog.entity, ChangeLog.entity_id, ChangeLog.op,
                           ChangeLog.version, ChangeLog.changed_at)
                    .where(ChangeLog.seq > seq, _not_set_aside())
                    .order_by(ChangeLog.seq).limit(limit)).all()
                fresh = [r for r in rows if r.seq not in self._built]
                built, refused = build_changes(session, fresh, self._builders, self.settings)
            for change in built:
                self._built[change.seq] = change
            if not refused:
                return [self._built[r.seq] for r in rows]
            for bad_seq, reason in refused.items():
                self.set_aside(bad_seq, reason)
            # Read again so that the batch is still *limit* rows long without the refused ones.

    def advance(self, to_seq: int) -> None:
        """Durably record the hub's acknowledgement up to *to_seq* (forward only, own transaction)."""
        with self._sessions() as session, session.begin():
            state = get_state(session)
            session.execute(update(SyncState).where(SyncState.id == state.id, SyncState.acked_seq < to_seq)
                            .values(acked_seq=to_seq))
        if self._on_advance is not None:
            self._on_advance(self.db_identity(), to_seq)

    def set_aside(self, seq: int, reason: str) -> None:
        """Mark one change as refused so that it is no longer sent (own transaction)."""
        self._built.pop(seq, None)
        with self._sessions() as session, session.begin():
            row = session.get(SetAsideChange, seq)
            if row is None:
                session.add(SetAsideChange(seq=seq, reason=reason[:2000], at=now_utc(), resolved=False))
            else:
                row.reason, row.at, row.resolved = reason[:2000], now_utc(), False
        log.warning("sync: change seq %s set aside", seq)

    def pending_count(self) -> int:
        """Return how many changes after the acked cursor are still to send (not set aside)."""
        acked = self.acked_seq()
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(ChangeLog)
                                      .where(ChangeLog.seq > acked, _not_set_aside())) or 0)

    # ------------------------------------------------------------------ beyond the protocol

    def set_aside_count(self, *, unresolved_only: bool = True) -> int:
        """Return how many changes are set aside."""
        with self._sessions() as session:
            q = select(func.count()).select_from(SetAsideChange)
            if unresolved_only:
                q = q.where(SetAsideChange.resolved.is_(False))
            return int(session.scalar(q) or 0)


def build_changes(session: Session, rows: list[Any], builders: Mapping[str, fhir.Builder],
                  settings: fhir.FhirSettings) -> tuple[list[Change], dict[int, str]]:
    """Turn change-log rows into wire changes (one builder call per entity type).

    Returns the changes (seq order) and, by seq, the Vietnamese reason of rows that cannot be
    expressed as FHIR (no builder for the type, or the builder fails on that record).
    """
    wanted: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.op != "delete":
            wanted[r.entity].add(r.entity_id)
    payloads: dict[str, dict[str, dict[str, Any]]] = {}
    broken: dict[tuple[str, str], str] = {}
    for entity, ids in wanted.items():
        builder = builders.get(entity)
        if builder is None:
            continue
        try:
            payloads[entity] = builder(session, sorted(ids), settings)
        except Exception:  # noqa: BLE001 - one bad record must not stop the batch
            session.rollback()
            payloads[entity] = {}
            for one in sorted(ids):  # isolate the failing record(s)
                try:
                    payloads[entity].update(builder(session, [one], settings))
                except Exception as exc:  # noqa: BLE001
                    session.rollback()
                    broken[(entity, one)] = f"lỗi khi dựng bản ghi FHIR {entity} ({type(exc).__name__})"
    changes: list[Change] = []
    refused: dict[int, str] = {}
    for r in rows:
        at = r.changed_at.isoformat()
        if r.op == "delete":
            changes.append(Change(r.seq, r.entity, r.entity_id, "delete", r.version, None, at))
            continue
        if r.entity not in builders:
            refused[r.seq] = f"chưa có ánh xạ FHIR cho loại dữ liệu {r.entity}"
            continue
        if (r.entity, r.entity_id) in broken:
            refused[r.seq] = broken[(r.entity, r.entity_id)]
            continue
        payload = payloads.get(r.entity, {}).get(r.entity_id)
        if payload is None:  # the entity is gone: its current state is "deleted"
            changes.append(Change(r.seq, r.entity, r.entity_id, "delete", r.version, None, at))
        else:
            changes.append(Change(r.seq, r.entity, r.entity_id, "upsert", r.version, payload, at))
    return changes, refused


# ---------------------------------------------------------------------- feed, snapshot, upkeep


def read_feed(session: Session, after: int, limit: int, builders: Mapping[str, fhir.Builder],
              settings: fhir.FhirSettings) -> tuple[list[Change], int, bool]:
    """Return (changes, next_after, has_more) for the hub's pull feed (read-only).

    Set-aside rows and rows that cannot be built are skipped (the next push sets the latter
    aside); ``next_after`` is the last seq *scanned*, so skipped rows are never re-read.
    """
    rows = session.execute(
        select(ChangeLog.seq, ChangeLog.entity, ChangeLog.entity_id, ChangeLog.op, ChangeLog.version,
               ChangeLog.changed_at)
        .where(ChangeLog.seq > after, _not_set_aside()).order_by(ChangeLog.seq).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes, _ = build_changes(session, rows, builders, settings)
    return changes, (rows[-1].seq if rows else after), has_more


def oldest_retained_seq(session: Session, retain_from: int = 0) -> int:
    """Return the oldest seq the pull feed can still serve (compaction or SYNC_RETAIN_FROM)."""
    low, high = session.execute(select(func.min(ChangeLog.seq), func.max(ChangeLog.seq))).one()
    oldest = int(low) if low is not None else int(high or 0) + 1
    # Set-aside rows outlive compaction, so the smallest seq left says nothing about what was
    # deleted after it: compaction records the highest seq it removed.
    compacted = session.scalar(select(Counter.value).where(Counter.name == COMPACTED_THROUGH)) or 0
    return max(oldest, int(compacted) + 1, int(retain_from or 0), 1)


def root_models() -> dict[str, type]:
    """Return the root model class of every synced entity type (``__sync_entity__``)."""
    from station.extensions import db
    from station.sync.capture import Synced

    found: dict[str, type] = {}
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        if issubclass(cls, Synced) and not getattr(cls, "__sync_parent__", None) \
                and getattr(cls, "__sync_entity__", None):
            found[cls.__sync_entity__] = cls
    return found


def iter_snapshot(session_factory: SessionFactory, builders: Mapping[str, fhir.Builder],
                  settings: fhir.FhirSettings, *, chunk: int = PAGE) -> Iterator[dict[str, Any]]:
    """Yield the current FHIR resource of every synced entity, chunk by chunk (keyset on id).

    Each chunk is read in its own short transaction, so a long download never holds the
    database. Resources are at least as new as the high-water seq read before the first chunk.
    """
    for entity, model in sorted(root_models().items()):
        builder = builders.get(entity)
        if builder is None:
            continue
        last: uuid.UUID | None = None
        while True:
            with session_factory() as session:
                q = select(model.id).order_by(model.id).limit(chunk)  # type: ignore[attr-defined]
                if last is not None:
                    q = q.where(model.id > last)  # type: ignore[attr-defined]
                ids = list(session.scalars(q))
                if not ids:
                    break
                built = builder(session, [str(i) for i in ids], settings)
            for i in ids:
                resource = built.get(str(i))
                if resource is not None:
                    yield resource
            last = ids[-1]


def list_set_aside(session: Session, *, include_resolved: bool = False, limit: int = 200) -> list[SetAsideRow]:
    """Return set-aside changes, newest first, with their entity type and id."""
    q = (select(SetAsideChange, ChangeLog.entity, ChangeLog.entity_id)
         .join(ChangeLog, ChangeLog.seq == SetAsideChange.seq, isouter=True)
         .order_by(SetAsideChange.seq.desc()).limit(limit))
    if not include_resolved:
        q = q.where(SetAsideChange.resolved.is_(False))
    return [SetAsideRow(a.seq, entity or "?", entity_id or "", a.reason, a.at, a.resolved)
            for a, entity, entity_id in session.execute(q)]


def requeue(session: Session, seq: int) -> int | None:
    """Resolve set-aside change *seq* and append a fresh change-log row for its entity (flush only).

    The old seq is never sent again; the new row carries the entity's current state (or a
    tombstone if it is gone) and syncs normally. Returns the new seq, or None if *seq* is not
    set aside or already resolved.
    """
    row = session.get(SetAsideChange, seq)
    if row is None or row.resolved:
        return None
    original = session.get(ChangeLog, seq)
    row.resolved = True
    if original is None:  # compacted away: nothing left to re-send
        session.flush()
        return None
    lock_for_append(session, "change_log")
    fresh = ChangeLog(entity=original.entity, entity_id=original.entity_id, op=original.op,
                      version=original.version, txn_id=str(uuid.uuid4()), changed_at=now_utc())
    session.add(fresh)
    session.flush()
    return fresh.seq


def compact(session: Session, *, older_than: datetime) -> int:
    """Delete acknowledged change-log rows older than *older_than* (flush only); return how many.

    Never deletes: rows after the acked cursor, set-aside rows, or the newest row (SQLite
    reuses the highest INTEGER PRIMARY KEY if it is deleted, and seqs must never be reused).
    """
    acked = get_state(session).acked_seq
    newest = session.scalar(select(func.max(ChangeLog.seq))) or 0
    doomed = (ChangeLog.seq <= acked, ChangeLog.seq < newest, ChangeLog.changed_at < older_than, _not_set_aside())
    highest = session.scalar(select(func.max(ChangeLog.seq)).where(*doomed))
    if highest is None:
        return 0
    mark = session.get(Counter, COMPACTED_THROUGH)
    if mark is None:
        session.add(Counter(name=COMPACTED_THROUGH, value=int(highest)))
    else:
        mark.value = max(mark.value, int(highest))
    result = session.execute(delete(ChangeLog).where(*doomed).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


#: Counter row holding the highest change-log seq compaction has deleted.
COMPACTED_THROUGH = "sync:compacted_through"
