"""The nightly sync job: one APScheduler BackgroundScheduler inside ``station serve``.

``station serve`` takes the station's owner lock (station/runtime.py) before starting
background services, so exactly one process on the machine runs this scheduler
(tests/test_serve.py proves a second ``station serve`` refuses to start). Jobs are kept in
memory and defined in code (TECH.md §6.2): ``replace_existing``, ``coalesce``,
``max_instances=1`` and a generous ``misfire_grace_time``. A night missed while the server was
off is caught up at start from our own ``sync_state.last_success_at`` (``missed_run``), not
from a persisted job store. Whatever starts a run, ``service.push_now`` guarantees runs never
overlap (in-process lock + database lease).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from station.clock import LOCAL_TZ, now_utc
from station.extensions import db
from station.sync import service

log = logging.getLogger(__name__)

JOB_ID = "nightly-sync"
CATCH_UP_ID = "sync-catch-up"


def run_job(app: Flask, trigger: str) -> None:
    """Run one push from the scheduler; never raises (the outcome is in sync_state / sync_runs)."""
    try:
        result = service.push_now(app, trigger=trigger)
        if result.skipped:
            log.warning("sync: %s run skipped (%s)", trigger, result.skipped)
    except service.SyncBusy:
        log.info("sync: %s run skipped, another run is in progress", trigger)
    except service.SyncNotConfigured as exc:
        log.error("sync: not configured: %s", exc.message)
    except Exception:  # noqa: BLE001 - a scheduler thread must survive any failure
        log.exception("sync: %s run failed", trigger)
    finally:
        with app.app_context():
            db.session.remove()


def needs_catch_up(app: Flask) -> bool:
    """Return True if the last scheduled night passed without a successful run."""
    config = service.SyncConfig.from_app(app)
    with app.app_context():
        try:
            state = service.current_state(db.session)
            last = state.last_success_at
            db.session.commit()
        finally:
            db.session.remove()
    return service.missed_run(last, now_utc(), config.push_at)


def start(app: Flask) -> Callable[[], None]:
    """Start the scheduler when SYNC_ENABLED; return its stop function."""
    config = service.SyncConfig.from_app(app)  # validates SYNC_PUSH_AT / SYNC_DEADLINE_HOUR early
    if not config.enabled:
        log.info("sync: SYNC_ENABLED is off; the nightly sync is not scheduled")
        return lambda: None
    scheduler = BackgroundScheduler(timezone=LOCAL_TZ, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": config.misfire_grace})
    scheduler.add_job(run_job, "cron", args=[app, "schedule"], id=JOB_ID, replace_existing=True,
                      hour=config.push_at.hour, minute=config.push_at.minute,
                      coalesce=True, max_instances=1, misfire_grace_time=config.misfire_grace)
    catch_up = needs_catch_up(app)
    if catch_up:
        scheduler.add_job(run_job, "date", args=[app, "catch-up"], id=CATCH_UP_ID, replace_existing=True,
                          run_date=now_utc(), misfire_grace_time=config.misfire_grace)
    scheduler.start()
    app.extensions["sync_scheduler"] = scheduler
    job = scheduler.get_job(JOB_ID)
    log.info("sync: nightly push scheduled at %s (next %s)%s", config.push_at.strftime("%H:%M"),
             job.next_run_time if job else "?", "; catching up a missed night now" if catch_up else "")

    def stop() -> None:
        # Do not wait for a running push: it is safe to cut (acknowledge-then-advance), and
        # the lease of a dead process is taken over by the next run.
        scheduler.shutdown(wait=False)
        app.extensions.pop("sync_scheduler", None)

    return stop
