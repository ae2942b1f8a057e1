"""Push the station's change log to the hub: batches after the acked cursor, advance only on ack.

Contract of ``push_all``:

* Reads ``seq > pos ORDER BY seq`` (``pos`` starts at the store's acked cursor), caps each batch
  at ``batch_size`` rows and ``max_bytes`` of uncompressed NDJSON (at least one row), and
  advances the stored cursor only after the hub acknowledges the batch.
* ``HubUnavailable`` is retried with full-jitter backoff until ``deadline`` (a ``monotonic()``
  value); the loop never sleeps past the deadline.
* On a 409 gap the hub's expected seq decides where to read next, with two limits:
  the hub's value moves the *stored* cursor only **forward** and only **within what the
  station's log holds** (``last_seq``) — if the hub claims more than the station ever wrote,
  the run stops as refused (a restored backup that kept its db identity). When the hub is
  **behind** (hub restored), the station re-reads from the hub's position without moving its
  stored cursor backwards, so nothing is lost and the hub de-duplicates.
* On 422 the named records are set aside (``ChangeStore.set_aside``) and the batch is rebuilt
  without them, so a poison record never blocks the rest. A set-aside row stays in the station
  log; fixing the data writes a new change-log row, which syncs normally.
* ``StationRefused`` (restored backup, bad key, clock skew) and other rejections stop the run.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from station.sync.backoff import Backoff
from station.sync.client import (
    BatchRejected,
    GapDetected,
    HubClient,
    HubUnavailable,
    InvalidRecords,
    StationRefused,
    SyncError,
)
from station.sync.protocol import Change, InvalidRecord, make_batch


class ChangeStore(Protocol):
    """The station change log as the pusher sees it."""

    def db_identity(self) -> str:
        """Return the identity of this database instance (new after every restore)."""
        ...

    def acked_seq(self) -> int:
        """Return the last seq the hub acknowledged."""
        ...

    def last_seq(self) -> int:
        """Return the highest seq in the log (0 if empty)."""
        ...

    def read_after(self, seq: int, limit: int) -> list[Change]:
        """Return up to *limit* changes with seq > *seq* in seq order, skipping set-aside rows."""
        ...

    def advance(self, to_seq: int) -> None:
        """Durably record that the hub acknowledged everything up to *to_seq* (forward only)."""
        ...

    def set_aside(self, seq: int, reason: str) -> None:
        """Mark one change as refused by the hub so it is no longer sent."""
        ...

    def pending_count(self) -> int:
        """Return how many changes after the acked cursor are still to send (not set aside)."""
        ...


@dataclass
class PushReport:
    """Outcome of one ``push_all`` run."""

    #: "done", "deadline", "refused", "rejected" or "gap"
    outcome: str = "done"
    start_seq: int = 0
    acked_seq: int = 0
    batches: int = 0
    changes: int = 0
    duplicates: int = 0
    retries: int = 0
    set_aside: list[InvalidRecord] = field(default_factory=list)
    pending: int = 0
    error: str | None = None
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        """Return True if the run sent everything it could."""
        return self.outcome == "done"


def push_all(
    store: ChangeStore,
    client: HubClient,
    *,
    batch_size: int = 500,
    max_bytes: int = 1_500_000,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    progress: Callable[[PushReport], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    backoff: Backoff | None = None,
    check_cursor: bool = True,
    max_gap_retries: int = 3,
) -> PushReport:
    """Push every pending change to the hub; see the module docstring for the contract."""
    if batch_size < 1 or max_bytes < 1:
        raise ValueError("batch_size and max_bytes must be positive")
    backoff = backoff or Backoff(rng=rng or random.Random())
    pos = store.acked_seq()
    report = PushReport(start_seq=pos, acked_seq=pos)
    attempt = gaps = 0
    need_cursor = check_cursor

    def stop(outcome: str, exc: BaseException | None = None) -> PushReport:
        report.outcome = outcome
        if exc is not None:
            report.error = str(exc)
            report.error_code = getattr(exc, "code", None)
        report.acked_seq = store.acked_seq()
        report.pending = store.pending_count()
        return report

    while True:
        if monotonic() >= deadline:
            return stop("deadline")
        try:
            if need_cursor:
                cursor = client.get_cursor()
                need_cursor = False
                if cursor.db_identity in (None, store.db_identity()):
                    pos = _follow_hub(store, pos, cursor.acked_seq)
                continue
            changes, lines = _take(store.read_after(pos, batch_size), max_bytes)
            if not changes:
                return stop("done")
            batch = make_batch(client.station_id, store.db_identity(), pos, changes, lines=lines)
            try:
                ack = client.push_batch(batch)
            except InvalidRecords as exc:
                named = [r for r in exc.invalid if any(c.seq == r.seq for c in batch.changes)]
                if not named:
                    return stop("rejected", exc)
                for record in named:
                    store.set_aside(record.seq, f"{record.code}: {record.message}")
                report.set_aside.extend(named)
                continue
        except HubUnavailable as exc:
            delay = backoff.delay(attempt)
            attempt += 1
            report.retries += 1
            report.error, report.error_code = str(exc), exc.code
            if monotonic() + delay >= deadline:
                return stop("deadline", exc)
            sleep(delay)
            continue
        except GapDetected as exc:
            gaps += 1
            if gaps > max_gap_retries:
                return stop("gap", exc)
            try:
                pos = _follow_hub(store, pos, exc.expected_seq - 1)
            except StationRefused as refused:
                return stop("refused", refused)
            continue
        except StationRefused as exc:
            return stop("refused", exc)
        except BatchRejected as exc:
            return stop("rejected", exc)
        except SyncError as exc:
            return stop("rejected", exc)
        if ack.acked_to < batch.header.to_seq:
            return stop("rejected", RuntimeError(f"hub acked {ack.acked_to} < sent {batch.header.to_seq}"))
        attempt = gaps = 0
        report.error = report.error_code = None
        pos = batch.header.to_seq
        if pos > store.acked_seq():
            store.advance(pos)
        report.batches += 1
        report.changes += len(batch.changes)
        report.duplicates += int(ack.duplicate)
        report.acked_seq = pos
        if progress is not None:
            progress(report)


def _follow_hub(store: ChangeStore, pos: int, hub_acked: int) -> int:
    """Return the next read position given the hub's acked seq (forward only within the log)."""
    if hub_acked > store.last_seq():
        raise StationRefused(
            f"máy chủ đã nhận tới seq {hub_acked} nhưng nhật ký trạm chỉ tới {store.last_seq()}:"
            " có thể là bản sao lưu được khôi phục", code="hub_ahead_of_log")
    if hub_acked > store.acked_seq():
        store.advance(hub_acked)
    return hub_acked


def _take(changes: Sequence[Change], max_bytes: int) -> tuple[list[Change], list[bytes]]:
    """Return the leading changes whose NDJSON fits in *max_bytes* (at least one) and their lines."""
    taken: list[Change] = []
    lines: list[bytes] = []
    size = 0
    for change in changes:
        line = change.to_line()
        if taken and size + len(line) > max_bytes:
            break
        taken.append(change)
        lines.append(line)
        size += len(line)
    return taken, lines


class MemoryChangeStore:
    """An in-memory ChangeStore (tests, bench, demo mode); ``snapshot`` makes it persistable."""

    def __init__(self, changes: Iterable[Change] = (), *, acked_seq: int = 0,
                 db_identity: str | None = None, set_aside: dict[int, str] | None = None) -> None:
        self._changes = sorted(changes, key=lambda c: c.seq)
        self._seqs = [c.seq for c in self._changes]
        if len(set(self._seqs)) != len(self._seqs):
            raise ValueError("duplicate seq in change log")
        self._acked = acked_seq
        self._identity = db_identity or str(uuid.uuid4())
        self._aside: dict[int, str] = dict(set_aside or {})
        self._lock = threading.Lock()

    def append(self, entity: str, entity_id: str, op: str, payload: dict[str, Any] | None, *,
               version: int = 1, changed_at: str | None = None) -> Change:
        """Append a change with the next seq and return it."""
        with self._lock:
            seq = (self._seqs[-1] if self._seqs else 0) + 1
            change = Change(seq, entity, entity_id, op, version, payload,
                            changed_at or datetime.now(UTC).isoformat())
            self._changes.append(change)
            self._seqs.append(seq)
            return change

    def db_identity(self) -> str:
        """Return the database identity."""
        return self._identity

    def acked_seq(self) -> int:
        """Return the acknowledged cursor."""
        return self._acked

    def last_seq(self) -> int:
        """Return the highest seq held."""
        return self._seqs[-1] if self._seqs else 0

    def read_after(self, seq: int, limit: int) -> list[Change]:
        """Return up to *limit* changes after *seq*, skipping set-aside rows."""
        with self._lock:
            out: list[Change] = []
            i = bisect.bisect_right(self._seqs, seq)
            while i < len(self._changes) and len(out) < limit:
                if self._changes[i].seq not in self._aside:
                    out.append(self._changes[i])
                i += 1
            return out

    def advance(self, to_seq: int) -> None:
        """Move the acked cursor forward to *to_seq* (never backwards)."""
        with self._lock:
            self._acked = max(self._acked, to_seq)

    def set_aside(self, seq: int, reason: str) -> None:
        """Mark *seq* as refused by the hub."""
        with self._lock:
            self._aside[seq] = reason

    def set_aside_rows(self) -> dict[int, str]:
        """Return the set-aside seqs and their reasons."""
        return dict(self._aside)

    def pending_count(self) -> int:
        """Return the number of unsent, not set-aside changes after the cursor."""
        with self._lock:
            after = len(self._seqs) - bisect.bisect_right(self._seqs, self._acked)
            return after - sum(1 for s in self._aside if s > self._acked)

    def changes(self) -> list[Change]:
        """Return every change held."""
        return list(self._changes)

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-serialisable snapshot of the store."""
        with self._lock:
            return {"db_identity": self._identity, "acked_seq": self._acked,
                    "set_aside": {str(k): v for k, v in self._aside.items()},
                    "changes": [c.to_dict() for c in self._changes]}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> MemoryChangeStore:
        """Rebuild a store from ``snapshot()`` output."""
        return cls((Change.from_dict(c) for c in data["changes"]), acked_seq=int(data["acked_seq"]),
                   db_identity=str(data["db_identity"]),
                   set_aside={int(k): str(v) for k, v in data.get("set_aside", {}).items()})
