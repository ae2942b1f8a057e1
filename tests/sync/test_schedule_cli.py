"""The nightly scheduler (catch-up decision, in-process start/stop) and the `station sync` commands."""

from __future__ import annotations

import json
import time
from datetime import datetime, time as dtime, timezone
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from station.clock import FrozenClock
from station.sync import background, service
from tests.sync.conftest import Hub
from tests.sync.station_data import add_patients, configure, log_seqs

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AT = dtime(1, 0)


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN)


@pytest.mark.parametrize(("last_success", "now", "missed"), [
    (None, vn(2026, 11, 25, 9, 0), True),                      # never synced
    (vn(2026, 11, 25, 1, 3), vn(2026, 11, 25, 9, 0), False),   # tonight's run succeeded
    (vn(2026, 11, 24, 1, 2), vn(2026, 11, 25, 9, 0), True),    # server was off last night
    (vn(2026, 11, 24, 1, 2), vn(2026, 11, 25, 0, 30), False),  # before tonight's 01:00
    (vn(2026, 11, 23, 14, 0), vn(2026, 11, 25, 0, 30), True),  # missed the night of the 24th
    (vn(2026, 11, 25, 1, 0), vn(2026, 11, 25, 1, 0), False),   # exactly at the scheduled time
])
def test_missed_run_decision(last_success: datetime | None, now: datetime, missed: bool) -> None:
    clock = FrozenClock(now)
    assert service.missed_run(last_success, clock.now(), AT) is missed


def test_schedule_times_are_in_vietnam_whatever_the_server_zone() -> None:
    clock = FrozenClock(datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc))  # 03:00 on the 25th in Hà Nội
    assert service.previous_scheduled(clock.now(), AT) == vn(2026, 11, 25, 1, 0)
    assert service.next_scheduled(clock.now(), AT) == vn(2026, 11, 26, 1, 0)
    assert service.deadline_after(clock.now(), dtime(5, 0)) == vn(2026, 11, 25, 5, 0)
    clock.advance(hours=3)  # 06:00 local: the next deadline is tomorrow morning
    assert service.deadline_after(clock.now(), dtime(5, 0)) == vn(2026, 11, 26, 5, 0)


def _wait(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.05)


def test_scheduler_catches_up_a_missed_night_once(app: Flask, hub: Hub) -> None:
    from station.extensions import db

    configure(app, hub.url, SYNC_ENABLED=True, SYNC_PUSH_AT="01:00")
    add_patients(app, 3)
    assert background.needs_catch_up(app)
    stop = background.start(app)
    try:
        scheduler = app.extensions["sync_scheduler"]
        job = scheduler.get_job(background.JOB_ID)
        assert job.next_run_time.tzinfo.key == "Asia/Ho_Chi_Minh"
        assert (job.next_run_time.hour, job.next_run_time.minute) == (1, 0)
        assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time >= 3600
        _wait(lambda: hub.seqs() == log_seqs(app))

        def finished() -> bool:
            with app.app_context():
                done = service.current_state(db.session).last_result == "ok"
                db.session.remove()
                return done
        _wait(finished)
    finally:
        stop()
    assert not background.needs_catch_up(app)
    stop = background.start(app)  # a restart after a successful night: no catch-up job
    try:
        assert app.extensions["sync_scheduler"].get_job(background.CATCH_UP_ID) is None
    finally:
        stop()


def test_scheduler_is_off_unless_enabled(app: Flask) -> None:
    stop = background.start(app)
    assert "sync_scheduler" not in app.extensions
    stop()


def test_cli_push_status_and_rebaseline(app: Flask, hub: Hub, runner) -> None:  # type: ignore[no-untyped-def]
    configure(app, hub.url, batch_size=4)
    add_patients(app, 3)
    result = runner.invoke(args=["sync", "push"])
    assert result.exit_code == 0, result.output
    assert "done: sent 9 changes in 3 batches" in result.output
    assert hub.seqs() == log_seqs(app)

    status = runner.invoke(args=["sync", "status", "--json"])
    info = json.loads(status.output)
    assert info["acked_seq"] == log_seqs(app)[-1] and info["pending"] == 0
    assert info["last_push_outcome"] == "done" and not info["needs_rebaseline"]
    table = runner.invoke(args=["sync", "status"])
    assert "acked_seq" in table.output

    rebased = runner.invoke(args=["sync", "rebaseline", "--reason", "Kiểm tra gửi lại", "--to-seq", "3", "--yes"])
    assert rebased.exit_code == 0, rebased.output
    assert "-> 3 (point from chosen)" in rebased.output
    again = runner.invoke(args=["sync", "push", "--quiet"])
    # The hub was not re-baselined: it holds everything, so the station follows it forward.
    assert again.exit_code == 0 and "done: sent 0 changes" in again.output
    assert hub.seqs() == log_seqs(app)


def test_cli_push_fails_clearly(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    unconfigured = runner.invoke(args=["sync", "push"])
    assert unconfigured.exit_code == 1 and "sync is not configured" in unconfigured.output
    configure(app, "http://127.0.0.1:9")  # nothing listens on port 9
    add_patients(app, 1, with_visit=False)
    down = runner.invoke(args=["sync", "push", "--minutes", "0.02", "--quiet"])
    assert down.exit_code == 1
    assert "push deadline" in down.output and "unreachable" in down.output
