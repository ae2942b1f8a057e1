"""The print spooler: one worker thread per printer port, jobs kept in the database.

Each tick of a :class:`PortWorker`:

1. claims the oldest due job routed to one of the printers on its port
   (``state="queued"`` and ``next_attempt_at <= now``; by ``printer_name``, else
   by ``room_code`` and document) and commits ``state="printing"``;
2. renders the payload for the printer's profile (outside any transaction);
3. asks the printer's status (DLE EOT, between jobs only) and sends the bytes;
4. commits the outcome:

   * printed → ``done``;
   * port missing or taken, printer offline, out of paper, cover open → stays
     ``queued`` with ``last_error`` (Vietnamese) and ``next_attempt_at`` after an
     exponential backoff (capped); such a job is never given up;
   * the link broke while bytes were going out → ``needs_reprint`` (the paper may
     be cut off; a person decides, and a reprint says "BẢN IN LẠI");
   * a permanent error (unknown document, unusable payload or profile) →
     retried with backoff, ``failed`` after ``PRINT_MAX_ATTEMPTS`` attempts.

A job left in ``printing`` by a crash or a lost commit is turned into
``needs_reprint``. Any exception inside a tick is caught and logged (type only:
no patient data in logs); the thread keeps running.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from printers import Printer, PrinterError, PrinterProfile, open_printer
from station.clock import Clock, SystemClock
from station.errors import StationError
from station.extensions import db
from station.printing import services
from station.printing.models import PrintJob, PrinterConfig
from station.printing.render import RenderError, render_document

log = logging.getLogger(__name__)

CUT_OFF_SUFFIX = " Giấy có thể bị in dở: kiểm tra và bấm \"In lại\"."
INTERRUPTED = "Máy chủ dừng hoặc mất kết nối cơ sở dữ liệu khi đang in; giấy có thể bị in dở."


@dataclass(frozen=True)
class SpoolerSettings:
    """Timings and limits of the spooler (``PRINT_*`` settings)."""

    poll_seconds: float = 0.5
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 60.0
    max_attempts: int = 5
    rescan_seconds: float = 5.0

    @classmethod
    def from_config(cls, config: Any) -> SpoolerSettings:
        """Read ``PRINT_POLL_SECONDS``, ``PRINT_RETRY_BASE_SECONDS``, ``PRINT_RETRY_CAP_SECONDS``,
        ``PRINT_MAX_ATTEMPTS`` and ``PRINT_RESCAN_SECONDS`` (defaults above)."""
        return cls(
            poll_seconds=float(config.get("PRINT_POLL_SECONDS", cls.poll_seconds)),
            retry_base_seconds=float(config.get("PRINT_RETRY_BASE_SECONDS", cls.retry_base_seconds)),
            retry_cap_seconds=float(config.get("PRINT_RETRY_CAP_SECONDS", cls.retry_cap_seconds)),
            max_attempts=int(config.get("PRINT_MAX_ATTEMPTS", cls.max_attempts)),
            rescan_seconds=float(config.get("PRINT_RESCAN_SECONDS", cls.rescan_seconds)),
        )


@dataclass(frozen=True)
class _Claim:
    """What a worker needs to print one job, read before the transaction ends."""

    job_id: uuid.UUID
    document: str
    payload: str
    printer_name: str
    url: str
    profile_text: str
    station_name: str


class _Outcome:
    """How a print attempt ended."""

    DONE = "done"
    WAIT = "wait"  # transient: queued again, never given up
    CUT_OFF = "cut_off"  # needs_reprint
    PERMANENT = "permanent"  # failed after max attempts


class PortWorker:
    """Prints the jobs of every printer configured on one port, one job at a time."""

    def __init__(self, app: Flask, key: str, settings: SpoolerSettings | None = None,
                 clock: Clock | None = None) -> None:
        """Serve the port *key* (see :func:`station.printing.services.port_key`)."""
        self.app = app
        self.key = key
        self.settings = settings or SpoolerSettings.from_config(app.config)
        self.clock = clock or SystemClock()
        self._printer: Printer | None = None
        self._opened: tuple[str, str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._recover = True

    # -- thread -----------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._run, name=f"spooler {self.key}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop, wait for it, close the port."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    @property
    def alive(self) -> bool:
        """Return True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        """Tick until stopped; nothing raised inside a tick ends the thread."""
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception as error:  # noqa: BLE001 - the spooler must survive anything
                log.error("print spooler on %s: tick failed (%s)", self.key, type(error).__name__)
                self._recover = True
                self._close()
                worked = False
            if not worked:
                self._stop.wait(self.settings.poll_seconds)

    # -- one tick ---------------------------------------------------------

    def run_once(self) -> bool:
        """Print at most one job; return True when a job was handled."""
        with self.app.app_context():
            try:
                if self._recover:
                    self._recover_interrupted()
                    self._recover = False
                claim = self._claim()
            finally:
                db.session.remove()
        if claim is None:
            return False
        outcome, message = self._print(claim)
        with self.app.app_context():
            try:
                self._finish(claim, outcome, message)
            finally:
                db.session.remove()
        return True

    def _printers(self) -> list[PrinterConfig]:
        return [p for p in services.active_printers(db.session) if services.port_key(p) == self.key]

    def _recover_interrupted(self) -> None:
        """Mark jobs left in "printing" on this port's printers as needing a reprint."""
        printers = self._printers()
        names = {p.name for p in printers}
        stuck = db.session.scalars(select(PrintJob).where(PrintJob.state == "printing")).all()
        changed = False
        for job in stuck:
            if job.printer_name in names or (not job.printer_name and services.printer_for_job(job, printers)):
                job.state = "needs_reprint"
                job.last_error = INTERRUPTED
                changed = True
        if changed:
            db.session.commit()
            log.warning("print spooler on %s: interrupted jobs marked for reprint", self.key)

    def _claim(self) -> _Claim | None:
        """Take the next due job for this port and commit it as "printing"."""
        printers = self._printers()
        job = services.next_due_job(db.session, printers, self.clock.now())
        if job is None:
            db.session.rollback()
            return None
        printer = services.printer_for_job(job, printers)
        if printer is None:  # routing changed under us
            db.session.rollback()
            return None
        from station.admin.models import Facility

        station_name = db.session.scalar(select(Facility.name).limit(1)) or "Trạm Y tế"
        claim = _Claim(job.id, job.document, job.payload, printer.name, services.printer_url(printer),
                       printer.profile, station_name)
        job.state = "printing"
        job.attempts = (job.attempts or 0) + 1
        if not job.printer_name:
            job.printer_name = printer.name
        try:
            db.session.commit()
        except StaleDataError:  # another worker (a second printer for the room) took it
            db.session.rollback()
            return None
        return claim

    def _print(self, claim: _Claim) -> tuple[str, str]:
        """Render and send one job; return (outcome, Vietnamese message). Never raises."""
        try:
            profile = services.parse_profile(claim.profile_text)
        except StationError as error:
            return _Outcome.PERMANENT, f"Hồ sơ máy in {claim.printer_name} không hợp lệ: {error.message}"
        try:
            document = render_document(claim.document, claim.payload, profile,
                                       defaults={"station_name": claim.station_name,
                                                 "printer_name": claim.printer_name})
            data = document.to_bytes()
        except RenderError as error:
            return _Outcome.PERMANENT, str(error)[:255]
        except Exception as error:  # noqa: BLE001 - a bad payload must not stop the spooler
            log.error("print spooler on %s: render of job %s failed (%s)", self.key, claim.job_id,
                      type(error).__name__)
            return _Outcome.PERMANENT, "Không dựng được nội dung in (lỗi dữ liệu)."
        try:
            printer = self._open(claim.url, profile)
            status = printer.status()
            fault = status.fault()
            if fault is not None:
                return _Outcome.WAIT, fault.message
        except PrinterError as error:
            self._close()
            return _Outcome.WAIT, error.message
        except (ValueError, OSError) as error:
            self._close()
            return _Outcome.WAIT, f"Cổng máy in {claim.printer_name} không mở được: {error}"[:255]
        try:
            printer.write(data)
        except PrinterError as error:
            self._close()
            return _Outcome.CUT_OFF, (error.message + CUT_OFF_SUFFIX)[:255]
        except Exception as error:  # noqa: BLE001
            self._close()
            log.error("print spooler on %s: write failed (%s)", self.key, type(error).__name__)
            return _Outcome.CUT_OFF, ("Lỗi khi gửi dữ liệu tới máy in." + CUT_OFF_SUFFIX)[:255]
        return _Outcome.DONE, ""

    def _finish(self, claim: _Claim, outcome: str, message: str) -> None:
        """Commit the outcome of one attempt."""
        job = db.session.get(PrintJob, claim.job_id)
        if job is None:
            return
        now = self.clock.now()
        if outcome == _Outcome.DONE:
            job.state = "done"
            job.printed_at = now
            job.last_error = ""
            job.next_attempt_at = None
        elif outcome == _Outcome.CUT_OFF:
            job.state = "needs_reprint"
            job.last_error = message
            job.next_attempt_at = None
        elif outcome == _Outcome.PERMANENT and job.attempts >= self.settings.max_attempts:
            job.state = "failed"
            job.last_error = message[:255]
            job.next_attempt_at = None
        else:
            job.state = "queued"
            job.last_error = message[:255]
            delay = services.backoff_seconds(job.attempts, base=self.settings.retry_base_seconds,
                                             cap=self.settings.retry_cap_seconds)
            job.next_attempt_at = now + timedelta(seconds=delay)
        db.session.commit()
        if outcome != _Outcome.DONE:
            log.info("print job %s on %s: %s (attempt %d)", claim.job_id, claim.printer_name, job.state,
                     job.attempts)

    # -- port -------------------------------------------------------------

    def _open(self, url: str, profile: PrinterProfile) -> Printer:
        """Return the open printer, reopening when the URL or profile changed."""
        wanted = (url, repr(profile))
        if self._printer is not None and self._opened == wanted:
            self._printer.profile = profile
            return self._printer
        self._close()
        self._printer = open_printer(url, profile)
        self._opened = wanted
        return self._printer

    def _close(self) -> None:
        """Close the port (it is reopened for the next job)."""
        printer, self._printer, self._opened = self._printer, None, None
        if printer is not None:
            try:
                printer.close()
            except Exception:  # noqa: BLE001 - closing a dead port may fail; nothing to do
                pass


class Spooler:
    """Keeps one :class:`PortWorker` per port of the active printers, following configuration changes."""

    def __init__(self, app: Flask, settings: SpoolerSettings | None = None, clock: Clock | None = None) -> None:
        """Prepare the spooler for *app*; nothing runs until :meth:`start`."""
        self.app = app
        self.settings = settings or SpoolerSettings.from_config(app.config)
        self.clock = clock
        self.workers: dict[str, PortWorker] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def sync_workers(self) -> None:
        """Start workers for new ports and stop those whose printers are gone or inactive."""
        with self.app.app_context():
            try:
                keys = {services.port_key(p) for p in services.active_printers(db.session)}
            finally:
                db.session.remove()
        with self._lock:
            for key in sorted(set(self.workers) - keys):
                self.workers.pop(key).stop()
            for key in sorted(keys - set(self.workers)):
                worker = PortWorker(self.app, key, self.settings, self.clock)
                self.workers[key] = worker
                worker.start()
            for key, worker in list(self.workers.items()):
                if not worker.alive and not self._stop.is_set():
                    replacement = PortWorker(self.app, key, self.settings, self.clock)
                    self.workers[key] = replacement
                    replacement.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_workers()
            except Exception as error:  # noqa: BLE001 - keep supervising
                log.error("print spooler: cannot read printer configuration (%s)", type(error).__name__)
            self._stop.wait(self.settings.rescan_seconds)

    def start(self) -> None:
        """Start supervising (the first scan happens immediately)."""
        self._thread = threading.Thread(target=self._run, name="spooler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every worker and the supervisor."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            for worker in self.workers.values():
                worker.stop()
            self.workers.clear()
