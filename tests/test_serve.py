"""`station serve` as a real process: serves the LAN, one owner per station, clear errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STATION = [sys.executable, "-c", "from station.cli import main; main()"]

pytestmark = pytest.mark.skipif(bool(os.environ.get("STATION_TEST_DATABASE_URL")),
                                reason="process tests use the embedded SQLite database")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def instance(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "STATION_INSTANCE_PATH": str(tmp_path), "STATION_ENV": "production",
           "STATION_PASSWORD_HASH_METHOD": '"scrypt:1024:8:1"'}
    env.pop("STATION_DATABASE_URL", None)
    init = subprocess.run([*STATION, "init"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    assert "password:" in init.stdout
    return env


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen([*STATION, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read()}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_serve_serves_the_login_page_and_only_one_process_owns_the_station(instance):
    port = _free_port()
    first = _serve(instance, port)
    try:
        _wait_up(f"http://127.0.0.1:{port}/healthz", first)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=5).read().decode()
        assert "Đăng nhập" in page
        second = subprocess.run([*STATION, "serve", "--host", "127.0.0.1", "--port", str(_free_port())],
                                env=instance, cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert "already owns the scheduler and printer ports" in second.stderr
    finally:
        first.terminate()
        first.communicate(timeout=10)


def test_port_in_use_is_reported_to_the_operator(instance):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*STATION, "serve", "--host", "127.0.0.1", "--port", str(port)], env=instance,
                              cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_production_without_secret_refuses_to_start(tmp_path):
    env = {**os.environ, "STATION_INSTANCE_PATH": str(tmp_path), "STATION_ENV": "production"}
    env.pop("STATION_SECRET_KEY", None)
    done = subprocess.run([*STATION, "serve"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "SECRET_KEY is missing" in done.stderr
