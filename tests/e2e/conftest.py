"""A real station server (subprocess, real port) and Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
STATION = [sys.executable, "-c", "from station.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Init, seed demo data and serve a station on a free loopback port."""
    if os.environ.get("STATION_TEST_DATABASE_URL"):
        pytest.skip("browser tests run on the embedded SQLite database")
    instance = tmp_path_factory.mktemp("e2e-instance")
    env = {**os.environ, "STATION_INSTANCE_PATH": str(instance), "STATION_ENV": "production",
           "STATION_PASSWORD_HASH_METHOD": '"scrypt:1024:8:1"'}
    env.pop("STATION_DATABASE_URL", None)
    subprocess.run([*STATION, "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*STATION, "demo", "--patients", "50"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen([*STATION, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("station server did not start: " + process.stdout.read().decode(errors="replace"))
    yield {"base": base, "env": env, "instance": instance, "password": DEMO_PASSWORD}
    process.terminate()
    process.communicate(timeout=10)
    process.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh test (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def login(page, base: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
