"""A station process killed with SIGKILL mid-push resumes and the hub ends with every change once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.app import Faults
from station.sync.pusher import MemoryChangeStore
from tests.sync.conftest import SECRET, STATION, Hub, make_changes

ROOT = Path(__file__).resolve().parents[2]


def run_child(store_file: Path, hub: Hub, *extra: str) -> subprocess.Popen[str]:
    """Start the station push process."""
    cmd = [sys.executable, "-m", "tests.sync.station_child", str(store_file), hub.url,
           "--station", STATION, "--secret", SECRET, *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 20.0) -> None:  # noqa: ANN001
    """Poll *predicate* until true or fail."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("condition not reached in time")
        time.sleep(0.01)


@pytest.mark.parametrize("resume_flags", [(), ("--no-cursor-check",)], ids=["cursor-check", "resend"])
def test_sigkill_mid_push_then_restart(tmp_path: Path, hub: Hub, resume_flags: tuple[str, ...]) -> None:
    store_file = tmp_path / "station.json"
    store_file.write_text(json.dumps(MemoryChangeStore(make_changes(2000), db_identity="db-A").snapshot()),
                          encoding="utf-8")
    # Batch 8 stalls on the hub, so the kill lands while it is in flight: the hub applies it
    # after the station is dead, and the station never hears the ack.
    hub.state.faults = Faults(sleep_seconds=0.4, sleep_batches={8})
    child = run_child(store_file, hub)
    try:
        wait_for(lambda: hub.state.batch_count >= 8 or child.poll() is not None)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL
    wait_for(lambda: hub.store.cursor(STATION).acked_seq == 800)
    assert json.loads(store_file.read_text(encoding="utf-8"))["acked_seq"] == 700

    hub.state.faults = Faults()
    again = run_child(store_file, hub, *resume_flags)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    result = json.loads(out)
    assert result["outcome"] == "done" and result["acked_seq"] == 2000
    assert result["duplicates"] == (1 if resume_flags else 0)
    assert hub.seqs() == list(range(1, 2001))
    assert json.loads(store_file.read_text(encoding="utf-8"))["acked_seq"] == 2000
