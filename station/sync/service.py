"""Station-side sync runs: configuration, the run guard, push, status and the admin's re-baseline.

One push run (``push_now``) is used by the nightly scheduler, the catch-up at start, the
``station sync push`` command and the sync page. It

1. takes the in-process lock and the database lease (``sync_lease``), so two runs never overlap
   whatever starts them (TECH.md §6.1 option 4); a lease left by a process that was killed is
   taken over once its holder is gone (same host, dead pid) or it has expired;
2. checks the restore marker (``instance/sync-marker.json``: the db identity and acked seq last
   recorded after an acknowledgement). A database whose acked seq is *behind* the marker for the
   same identity was restored from a backup: the station gets a new ``db_identity`` (so the hub
   refuses it as ``restored_backup``), ``needs_rebaseline`` is set and nothing is sent;
3. runs ``pusher.push_all`` with ``SqlChangeStore`` and records the outcome in ``sync_state`` and
   ``sync_runs``. A hub refusal as a restored copy (``restored_backup``, ``hub_ahead_of_log``) sets
   ``needs_rebaseline``; while it is set, runs are skipped until an admin re-baselines;
4. after a complete run, compacts acknowledged change-log rows older than ``SYNC_RETAIN_DAYS``.

Configuration (``instance/station.cfg`` or ``STATION_SYNC_*`` environment variables) is read by
``SyncConfig.from_app``; the secret ``SYNC_KEY`` must never be committed to the repository.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Integer, String, Text, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from station.audit import services as audit
from station.audit.services import Actor
from station.clock import LOCAL_TZ, UTC, now_utc
from station.db import lock_for_append
from station.errors import Conflict, ValidationFailed
from station.extensions import db
from station.sync import fhir
from station.sync.client import HttpHubClient, HubClient, SyncError
from station.sync.models import SyncState
from station.sync.protocol import STATION_ID_RE
from station.sync.pusher import PushReport, push_all
from station.sync.store import SqlChangeStore, compact, get_state, oldest_retained_seq

log = logging.getLogger(__name__)

#: Hub refusal codes that mean "this database is a restored copy": an admin must re-baseline.
REBASELINE_CODES = frozenset({"restored_backup", "hub_ahead_of_log"})
#: push_all outcome → sync_state.last_result.
RESULTS = {"done": "ok", "deadline": "partial", "refused": "refused", "rejected": "failed", "gap": "failed"}
RESULT_LABELS = {"": "Chưa chạy", "ok": "Thành công", "partial": "Chưa xong (hết giờ)", "failed": "Thất bại",
                 "refused": "Bị máy chủ từ chối", "running": "Đang chạy", "skipped": "Bỏ qua"}
MARKER_FILE = "sync-marker.json"
LEASE_NAME = "push"


# ---------------------------------------------------------------------- tables of this area


class SyncLease(db.Model):
    """The run guard: at most one push run holds the lease at a time (TECH.md §6.1 option 4)."""

    __tablename__ = "sync_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: "host:pid:token" of the holder.
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SyncRun(db.Model):
    """One push run, kept for the sync page and the operator (the latest few hundred)."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: "schedule", "catch-up", "cli", "page".
    trigger: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: push_all outcome ("done", "deadline", "refused", "rejected", "gap"), "error" or "running".
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    start_seq: Mapped[int] = mapped_column(Integer, default=0)
    acked_seq: Mapped[int] = mapped_column(Integer, default=0)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    set_aside: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")


# ---------------------------------------------------------------------- errors


class SyncBusy(Conflict):
    """Another push run holds the guard."""


class SyncNotConfigured(ValidationFailed):
    """The hub URL, station id or key is missing or invalid."""


# ---------------------------------------------------------------------- configuration


def parse_hhmm(value: str, key: str) -> dtime:
    """Parse "HH:MM" (station local time) or raise SyncNotConfigured naming *key*."""
    try:
        hour, minute = (int(p) for p in str(value).strip().split(":"))
        return dtime(hour, minute)
    except (ValueError, TypeError):
        raise SyncNotConfigured(f"{key} phải có dạng HH:MM (giờ địa phương), nhận được {value!r}") from None


@dataclass(frozen=True)
class SyncConfig:
    """Sync settings, with defaults; see docs/sync.md §8 for every key."""

    enabled: bool = False
    hub_url: str = ""
    station_id: str = ""
    key_id: str = ""
    key: str = field(default="", repr=False)
    batch_size: int = 500
    max_bytes: int = 1_500_000
    timeout: float = 30.0
    push_at: dtime = dtime(1, 0)
    deadline_at: dtime = dtime(5, 0)
    misfire_grace: int = 6 * 3600
    retain_days: int = 30
    retain_from: int = 0
    pull_window: int = 300
    identifier_systems: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_app(cls, app: Flask) -> SyncConfig:
        """Read the SYNC_* keys of *app*'s configuration."""
        c = app.config
        systems = c.get("SYNC_IDENTIFIER_SYSTEMS") or {}
        if isinstance(systems, str):
            systems = json.loads(systems)
        return cls(
            enabled=bool(c.get("SYNC_ENABLED", False)),
            hub_url=str(c.get("SYNC_HUB_URL") or ""),
            station_id=str(c.get("SYNC_STATION_ID") or ""),
            key_id=str(c.get("SYNC_KEY_ID") or ""),
            key=str(c.get("SYNC_KEY") or ""),
            batch_size=int(c.get("SYNC_BATCH_SIZE", 500)),
            max_bytes=int(c.get("SYNC_MAX_BYTES", 1_500_000)),
            timeout=float(c.get("SYNC_TIMEOUT", 30.0)),
            push_at=parse_hhmm(c.get("SYNC_PUSH_AT", "01:00"), "SYNC_PUSH_AT"),
            deadline_at=parse_hhmm(c.get("SYNC_DEADLINE_HOUR", "05:00"), "SYNC_DEADLINE_HOUR"),
            misfire_grace=int(c.get("SYNC_MISFIRE_GRACE", 6 * 3600)),
            retain_days=int(c.get("SYNC_RETAIN_DAYS", 30)),
            retain_from=int(c.get("SYNC_RETAIN_FROM", 0)),
            pull_window=int(c.get("SYNC_PULL_WINDOW", 300)),
            identifier_systems=dict(systems),
        )


def session_factory() -> Callable[[], Session]:
    """Return a factory of short-lived sessions on the app's engine (call inside an app context)."""
    return sessionmaker(bind=db.engine, expire_on_commit=False)


def station_identity(session: Session, config: SyncConfig) -> tuple[str, str, str]:
    """Return (station_id, facility_code, db_identity); the station id defaults to the facility code."""
    from station.admin.models import Facility

    facility = session.scalar(select(Facility).limit(1))
    if facility is None:
        raise SyncNotConfigured("Chưa khởi tạo trạm (chạy `station init`).")
    return config.station_id or facility.facility_code, facility.facility_code, str(facility.db_identity)


def fhir_settings(session: Session, config: SyncConfig) -> fhir.FhirSettings:
    """Return the FHIR builder settings (facility code, identifier systems from configuration)."""
    _, code, _ = station_identity(session, config)
    return fhir.FhirSettings(facility_code=code, systems={**fhir.DEFAULT_SYSTEMS, **config.identifier_systems})


def build_client(config: SyncConfig, station_id: str) -> HttpHubClient:
    """Build the hub client from configuration or raise SyncNotConfigured naming the missing key."""
    if not config.hub_url:
        raise SyncNotConfigured("Chưa cấu hình địa chỉ máy chủ tổng hợp (SYNC_HUB_URL).")
    if not config.key:
        raise SyncNotConfigured("Chưa cấu hình khoá ký (SYNC_KEY, chỉ đặt trong instance/station.cfg "
                                "hoặc biến môi trường STATION_SYNC_KEY).")
    if not STATION_ID_RE.match(station_id):
        raise SyncNotConfigured(f"Mã trạm đồng bộ không hợp lệ (SYNC_STATION_ID): {station_id!r}")
    try:
        return HttpHubClient(config.hub_url, station_id, config.key_id or station_id, config.key,
                             timeout=config.timeout)
    except ValueError as exc:
        raise SyncNotConfigured(f"Cấu hình máy chủ tổng hợp không hợp lệ: {exc}") from None


# ---------------------------------------------------------------------- schedule arithmetic


def previous_scheduled(now: datetime, at: dtime) -> datetime:
    """Return the most recent scheduled time (*at*, station local) at or before *now* (aware UTC)."""
    local = now.astimezone(LOCAL_TZ)
    candidate = datetime.combine(local.date(), at, tzinfo=LOCAL_TZ)
    if candidate > local:
        candidate -= timedelta(days=1)
    return candidate.astimezone(UTC)


def next_scheduled(now: datetime, at: dtime) -> datetime:
    """Return the next scheduled time (*at*, station local) strictly after *now* (aware UTC)."""
    return previous_scheduled(now, at) + timedelta(days=1)


def missed_run(last_success: datetime | None, now: datetime, at: dtime) -> bool:
    """Return True if the last scheduled night passed without a successful run (catch up at start)."""
    return last_success is None or last_success < previous_scheduled(now, at)


def deadline_after(now: datetime, at: dtime) -> datetime:
    """Return the first *at* (station local) after *now*: when a run must stop sending."""
    return next_scheduled(now, at)


# ---------------------------------------------------------------------- the restore marker


def marker_path(app: Flask) -> Path:
    """Return the restore-marker file of the station's instance folder."""
    return Path(app.instance_path) / MARKER_FILE


def read_marker(app: Flask) -> dict[str, Any] | None:
    """Return the marker, or None if missing or unreadable."""
    try:
        data = json.loads(marker_path(app).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("acked_seq"), int):
        return None
    return data


def write_marker(app: Flask, identity: str, acked_seq: int) -> None:
    """Durably write the marker (write, fsync, rename)."""
    path = marker_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump({"db_identity": identity, "acked_seq": acked_seq}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def detect_restore(app: Flask, session: Session, *, actor: Actor) -> bool:
    """Rotate the db identity and require a re-baseline if the database went back in time (commits)."""
    from station.admin.models import Facility

    marker = read_marker(app)
    facility = session.scalar(select(Facility).limit(1))
    state = get_state(session)
    if marker is None or facility is None or marker.get("db_identity") != str(facility.db_identity):
        return False
    if int(marker["acked_seq"]) <= state.acked_seq:
        return False
    old = str(facility.db_identity)
    facility.db_identity = uuid.uuid4()
    state.needs_rebaseline = True
    state.last_result = "refused"
    state.last_error = (f"Cơ sở dữ liệu đã được khôi phục từ bản sao lưu (đã xác nhận tới seq {marker['acked_seq']}, "
                        f"bản khôi phục chỉ tới {state.acked_seq}). Quản trị viên cần đồng bộ lại mốc.")
    audit.record(session, actor, "sync.restore_detected", entity_type="facility", entity_id=facility.id,
                 detail={"old_db_identity": old, "new_db_identity": str(facility.db_identity),
                         "marker_acked_seq": marker["acked_seq"], "db_acked_seq": state.acked_seq})
    session.commit()
    write_marker(app, str(facility.db_identity), state.acked_seq)
    log.warning("sync: database restored from a backup detected; db identity rotated, re-baseline needed")
    return True


# ---------------------------------------------------------------------- the run guard


_process_lock = threading.Lock()


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_alive(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine: trust the expiry only
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lease(factory: Callable[[], Session], holder: str, until: datetime, *,
                  now: datetime | None = None) -> bool:
    """Take the push lease until *until*; return False if a live holder has it."""
    now = now or now_utc()
    with factory() as session, session.begin():
        lock_for_append(session, "sync_lease")
        lease = session.get(SyncLease, LEASE_NAME)
        if lease is not None and lease.holder != holder and lease.expires_at > now and _holder_alive(lease.holder):
            return False
        if lease is None:
            session.add(SyncLease(name=LEASE_NAME, holder=holder, acquired_at=now, expires_at=until))
        else:
            lease.holder, lease.acquired_at, lease.expires_at = holder, now, until
    return True


def release_lease(factory: Callable[[], Session], holder: str) -> None:
    """Release the push lease if *holder* still has it."""
    with factory() as session, session.begin():
        session.execute(delete(SyncLease).where(SyncLease.name == LEASE_NAME, SyncLease.holder == holder))


# ---------------------------------------------------------------------- push


@dataclass
class RunResult:
    """What one push_now call did."""

    report: PushReport
    run_id: int | None = None
    skipped: str = ""

    @property
    def ok(self) -> bool:
        """Return True if everything pending was sent."""
        return self.report.ok and not self.skipped


def push_now(app: Flask, *, client: HubClient | None = None, trigger: str = "cli",
             deadline: float | None = None, progress: Callable[[PushReport], None] | None = None,
             actor: Actor | None = None, **push_options: Any) -> RunResult:
    """Run one push to the hub now; raise SyncBusy if a run is in progress (see module docstring).

    *deadline* is a ``time.monotonic()`` value; by default the next SYNC_DEADLINE_HOUR.
    Extra keyword arguments go to ``push_all`` (tests: backoff, rng, sleep).
    """
    if not _process_lock.acquire(blocking=False):
        raise SyncBusy("Đang có một lượt đồng bộ khác chạy, vui lòng chờ.")
    try:
        with app.app_context():
            return _push_locked(app, client=client, trigger=trigger, deadline=deadline, progress=progress,
                                actor=actor or Actor.system("sync"), push_options=push_options)
    finally:
        _process_lock.release()


def _push_locked(app: Flask, *, client: HubClient | None, trigger: str, deadline: float | None,
                 progress: Callable[[PushReport], None] | None, actor: Actor,
                 push_options: dict[str, Any]) -> RunResult:
    config = SyncConfig.from_app(app)
    factory = session_factory()
    now = now_utc()
    wall_deadline = deadline_after(now, config.deadline_at)
    if deadline is None:
        deadline = time.monotonic() + (wall_deadline - now).total_seconds()
    else:
        wall_deadline = now + timedelta(seconds=max(0.0, deadline - time.monotonic()))
    with factory() as session:
        station_id, _, _ = station_identity(session, config)
        settings = fhir_settings(session, config)
    if client is None:
        client = build_client(config, station_id)
    holder = _holder()
    if not acquire_lease(factory, holder, wall_deadline + timedelta(minutes=5)):
        raise SyncBusy("Đang có một lượt đồng bộ khác chạy (tiến trình khác), vui lòng chờ.")
    try:
        with factory() as session:
            detect_restore(app, session, actor=actor)
            state = get_state(session)
            if state.needs_rebaseline:
                session.commit()
                report = PushReport(outcome="refused", start_seq=state.acked_seq, acked_seq=state.acked_seq,
                                    error=state.last_error or "Cần đồng bộ lại mốc (re-baseline) trước khi gửi.",
                                    error_code="needs_rebaseline")
                return RunResult(report, skipped="needs_rebaseline")
            state.last_run_at = now
            # We hold the lease: a run still marked "running" was cut short (killed, power cut).
            session.execute(update(SyncRun).where(SyncRun.outcome == "running").values(outcome="interrupted"))
            run = SyncRun(trigger=trigger, started_at=now, outcome="running", start_seq=state.acked_seq,
                          acked_seq=state.acked_seq)
            session.add(run)
            session.commit()
            run_id = run.id

        def on_advance(identity: str, acked: int) -> None:
            write_marker(app, identity, acked)

        store = SqlChangeStore(factory, settings=settings, on_advance=on_advance)
        log.info("sync: push started (%s), from seq %s", trigger, store.acked_seq())
        try:
            report = push_all(store, client, batch_size=config.batch_size, max_bytes=config.max_bytes,
                              deadline=deadline, progress=progress, **push_options)
        except Exception as exc:  # noqa: BLE001 - record every failure for the admin, then re-raise
            _finish(factory, run_id, PushReport(outcome="error", error=type(exc).__name__), config)
            raise
        _finish(factory, run_id, report, config)
        log.info("sync: push %s (%s): %s changes in %s batches, acked seq %s, %s pending, %s set aside",
                 report.outcome, trigger, report.changes, report.batches, report.acked_seq, report.pending,
                 len(report.set_aside))
        return RunResult(report, run_id)
    finally:
        release_lease(factory, holder)


def _finish(factory: Callable[[], Session], run_id: int, report: PushReport, config: SyncConfig) -> None:
    """Record the outcome of a run in sync_runs and sync_state; compact after a complete run."""
    now = now_utc()
    with factory() as session, session.begin():
        state = get_state(session)
        state.last_result = RESULTS.get(report.outcome, "failed")
        state.last_error = report.error or ""
        if report.ok:
            state.last_success_at = now
        if report.outcome == "refused" and report.error_code in REBASELINE_CODES:
            state.needs_rebaseline = True
        run = session.get(SyncRun, run_id)
        if run is not None:
            run.finished_at, run.outcome = now, report.outcome
            run.acked_seq, run.batches, run.changes = report.acked_seq, report.batches, report.changes
            run.duplicates, run.retries, run.set_aside = report.duplicates, report.retries, len(report.set_aside)
            run.pending, run.error = report.pending, (report.error or "")[:4000]
        keep = session.scalar(select(SyncRun.id).order_by(SyncRun.id.desc()).offset(200).limit(1))
        if keep is not None:
            session.execute(delete(SyncRun).where(SyncRun.id <= keep))
        if report.ok and config.retain_days > 0:
            removed = compact(session, older_than=now - timedelta(days=config.retain_days))
            if removed:
                log.info("sync: compacted %s acknowledged change-log rows", removed)


# ---------------------------------------------------------------------- admin actions


@dataclass(frozen=True)
class RebaselineResult:
    """What a re-baseline did."""

    from_seq: int
    to_seq: int
    source: str  #: "chosen", "hub" or "station"
    db_identity: str


def rebaseline(app: Flask, session: Session, *, reason: str, actor: Actor, to_seq: int | None = None,
               client: HubClient | None = None) -> RebaselineResult:
    """Accept this (restored) database as the station's truth and restart sending from a point.

    The point is *to_seq* when chosen; otherwise the hub's acked seq when the hub has been
    re-baselined for this database (its identity is ours or null) and it lies within our log;
    otherwise our own acked seq. The station's acked cursor is set to the point (the only place
    it may move backwards), ``needs_rebaseline`` is cleared and the action is audited; the next
    push re-sends every change after the point. Flushes; the caller commits.
    """
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationFailed("Cần ghi rõ lý do đồng bộ lại mốc (ít nhất 5 ký tự).", field="reason")
    config = SyncConfig.from_app(app)
    state = get_state(session)
    _, _, identity = station_identity(session, config)
    from station.sync.models import ChangeLog

    last = int(session.scalar(select(func.max(ChangeLog.seq))) or 0)
    source = "station"
    point = state.acked_seq
    if to_seq is not None:
        if not 0 <= to_seq <= last:
            raise ValidationFailed(f"Mốc phải nằm trong 0..{last} (seq cao nhất của nhật ký trạm).", field="to_seq")
        point, source = to_seq, "chosen"
    else:
        hub_point = _hub_point(app, session, config, client, identity, last)
        if hub_point is not None:
            point, source = hub_point, "hub"
    previous = state.acked_seq
    write_marker(app, identity, point)  # first: a crash before the commit must not look like a restore
    state.acked_seq = point
    state.needs_rebaseline = False
    state.last_error = ""
    audit.record(session, actor, "sync.rebaseline", entity_type="sync_state", entity_id=state.id,
                 detail={"reason": reason, "from_seq": previous, "to_seq": point, "source": source,
                         "db_identity": identity})
    session.flush()
    return RebaselineResult(previous, point, source, identity)


def _hub_point(app: Flask, session: Session, config: SyncConfig, client: HubClient | None,
               identity: str, last: int) -> int | None:
    """Return the hub's acked seq if it may be used as the re-baseline point, else None."""
    try:
        if client is None:
            station_id, _, _ = station_identity(session, config)
            client = build_client(config, station_id)
        cursor = client.get_cursor()
    except (SyncError, SyncNotConfigured) as exc:
        log.warning("sync: hub cursor unavailable for re-baseline (%s)", type(exc).__name__)
        return None
    if cursor.db_identity not in (None, identity) or cursor.acked_seq > last:
        return None
    return cursor.acked_seq


def retry_set_aside(session: Session, seq: int, *, actor: Actor) -> int | None:
    """Re-queue a set-aside change (after the data or mapping was fixed); audited; flush only."""
    from station.sync.store import requeue

    new_seq = requeue(session, seq)
    audit.record(session, actor, "sync.retry_set_aside", entity_type="change_log", entity_id=seq,
                 detail={"new_seq": new_seq})
    return new_seq


# ---------------------------------------------------------------------- status


def status(app: Flask, session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """Return the station's sync state (pull status endpoint, CLI and page)."""
    from station.sync.models import ChangeLog, SetAsideChange
    from station.sync.store import _not_set_aside

    config = SyncConfig.from_app(app)
    now = now or now_utc()
    state = get_state(session)
    try:
        station_id, _, identity = station_identity(session, config)
    except SyncNotConfigured:
        station_id, identity = config.station_id, ""
    last_run = session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
    pending = session.scalar(select(func.count()).select_from(ChangeLog)
                             .where(ChangeLog.seq > state.acked_seq, _not_set_aside())) or 0
    aside = session.scalar(select(func.count()).select_from(SetAsideChange)
                           .where(SetAsideChange.resolved.is_(False))) or 0
    return {
        "station_id": station_id,
        "db_identity": identity,
        "last_seq": int(session.scalar(select(func.max(ChangeLog.seq))) or 0),
        "acked_seq": state.acked_seq,
        "pending": int(pending),
        "set_aside": int(aside),
        "oldest_retained_seq": oldest_retained_seq(session, config.retain_from),
        "last_push_at": last_run.started_at.isoformat() if last_run else None,
        "last_push_outcome": last_run.outcome if last_run and last_run.outcome in RESULTS else None,
        "last_success_at": state.last_success_at.isoformat() if state.last_success_at else None,
        "last_result": state.last_result,
        "last_error": state.last_error,
        "needs_rebaseline": state.needs_rebaseline,
        "enabled": config.enabled,
        "next_run_at": next_scheduled(now, config.push_at).isoformat() if config.enabled else None,
    }


def recent_runs(session: Session, limit: int = 10) -> list[SyncRun]:
    """Return the latest push runs, newest first."""
    return list(session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)))


def current_state(session: Session) -> SyncState:
    """Return the sync state row (creating it if needed)."""
    return get_state(session)
