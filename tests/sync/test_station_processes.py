"""Real processes: `station sync push` killed with SIGKILL mid-push, and `station serve` catching up.

That a second `station serve` cannot start a second scheduler is proven by
tests/test_serve.py::test_serve_serves_the_login_page_and_only_one_process_owns_the_station
(the owner lock of station/runtime.py, taken before any background service starts).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from flask import Flask

from hub.app import Faults
from station import create_app
from tests.sync.conftest import SECRET, STATION, Hub
from tests.sync.station_data import add_patients, configure, log_seqs
from tests.test_serve import ROOT, STATION as STATION_CMD, _free_port, _wait_up

pytestmark = pytest.mark.skipif(bool(os.environ.get("STATION_TEST_DATABASE_URL")),
                                reason="process tests use the embedded SQLite database")


@pytest.fixture
def station_env(tmp_path: Path, hub: Hub) -> dict[str, str]:
    """An initialised station instance pointed at the loopback hub."""
    env = {**os.environ, "STATION_INSTANCE_PATH": str(tmp_path), "STATION_ENV": "production",
           "STATION_PASSWORD_HASH_METHOD": '"scrypt:1024:8:1"', "STATION_SYNC_HUB_URL": hub.url,
           "STATION_SYNC_STATION_ID": STATION, "STATION_SYNC_KEY": SECRET, "STATION_SYNC_TIMEOUT": "10",
           "STATION_PRINT_SPOOLER": "false"}
    env.pop("STATION_DATABASE_URL", None)
    init = subprocess.run([*STATION_CMD, "init"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    return env


def local_app(env: dict[str, str]) -> Flask:
    """The same station database, opened in the test process."""
    instance = env["STATION_INSTANCE_PATH"]
    return create_app({"TESTING": True, "SECRET_KEY": "testing-only-not-secret",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/station.sqlite"}, instance_path=instance)


def _wait(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.02)


def test_sigkill_of_sync_push_then_rerun_delivers_everything_once(station_env: dict[str, str], hub: Hub) -> None:
    app = local_app(station_env)
    configure(app, hub.url)
    add_patients(app, 60)  # 180 changes
    seqs = log_seqs(app)
    env = {**station_env, "STATION_SYNC_BATCH_SIZE": "20"}
    # Batch 4 stalls on the hub, so the kill lands while it is in flight: the hub applies it
    # after the station is dead, and the station never hears the acknowledgement.
    hub.state.faults = Faults(sleep_seconds=0.5, sleep_batches={4})
    child = subprocess.Popen([*STATION_CMD, "sync", "push", "--quiet"], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: hub.state.batch_count >= 4 or child.poll() is not None)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL
    _wait(lambda: len(hub.seqs()) == 80)

    hub.state.faults = Faults()
    again = subprocess.run([*STATION_CMD, "sync", "push"], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stderr
    assert "done: sent 100 changes" in again.stdout
    assert hub.seqs() == seqs  # every change exactly once, in order
    status = subprocess.run([*STATION_CMD, "sync", "status", "--json"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert '"pending": 0' in status.stdout
    with app.app_context():
        from station.extensions import db
        from station.sync.service import recent_runs

        assert [r.outcome for r in recent_runs(db.session)] == ["done", "interrupted"]
        db.session.remove()
        db.engine.dispose()


def test_serve_catches_up_a_missed_night_at_start(station_env: dict[str, str], hub: Hub) -> None:
    app = local_app(station_env)
    configure(app, hub.url)
    add_patients(app, 5)
    seqs = log_seqs(app)
    with app.app_context():
        from station.extensions import db

        db.engine.dispose()
    port = _free_port()
    env = {**station_env, "STATION_SYNC_ENABLED": "true"}
    server = subprocess.Popen([*STATION_CMD, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_up(f"http://127.0.0.1:{port}/healthz", server)
        _wait(lambda: hub.seqs() == seqs)
        time.sleep(0.5)
        assert hub.state.batch_count == 1  # one catch-up run, one batch
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert "catching up a missed night now" in err
    assert "Traceback" not in err
