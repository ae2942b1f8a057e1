"""Start a real station server (``station serve``) for benchmarks and measure it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
STATION = [sys.executable, "-c", "from station.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def station_env(instance: Path) -> dict[str, str]:
    env = {**os.environ, "STATION_INSTANCE_PATH": str(instance), "STATION_ENV": "production"}
    env.pop("STATION_DATABASE_URL", None)
    return env


def run_station(instance: Path, *args: str) -> str:
    """Run one ``station`` command against *instance*; return its output."""
    done = subprocess.run([*STATION, *args], env=station_env(instance), cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return done.stdout


@contextmanager
def serving(instance: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """Serve the station of *instance* on a free loopback port."""
    port = free_port()
    process = subprocess.Popen([*STATION, "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=station_env(instance), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("station server did not start")
            time.sleep(0.1)
    try:
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=15)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def concurrent_latencies(base: str, clients: int, per_client: int,
                         request: Callable[[http.client.HTTPConnection, int], None], *,
                         think_seconds: float = 0.0) -> list[float]:
    """Run *clients* threads, each with its own keep-alive connection; return latencies in ms.

    With *think_seconds*, each client starts at a random moment within that time and pauses
    0.5–1.5 × that time between requests (a person at a keyboard), from its own seeded RNG.
    """
    import random

    host, port = base.removeprefix("http://").split(":")
    samples: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        local = []
        try:
            if think_seconds:
                time.sleep(rng.uniform(0, think_seconds))  # clients do not start in lockstep
            for i in range(per_client):
                start = time.perf_counter()
                request(conn, index * per_client + i)
                local.append((time.perf_counter() - start) * 1000)
                if think_seconds:
                    time.sleep(rng.uniform(0.5, 1.5) * think_seconds)
        except BaseException as error:  # noqa: BLE001 - reported after join
            errors.append(error)
        finally:
            conn.close()
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return samples


def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None) -> bytes:
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    if response.status >= 400:
        raise RuntimeError(f"GET {path} -> {response.status}")
    return body


def wrk_p95(url: str, *, connections: int = 20, seconds: int = 5, headers: dict[str, str] | None = None,
            threads: int = 2) -> dict[str, float]:
    """Load *url* with wrk (C client: its own CPU cost stays small) and return p95 and counts."""
    import json
    import shutil

    if not shutil.which("wrk"):
        raise RuntimeError("wrk is missing: run scripts/system-deps.sh bench (Debian package wrk)")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(ROOT / "bench" / "p95.lua")]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"wrk saw {result['errors']} errors on {url}")
    return result


def login_cookie(base: str, username: str, password: str) -> str:
    """Log in through the real form (CSRF included); return the Cookie header value."""
    import re
    from http.cookies import SimpleCookie
    from urllib.parse import urlencode

    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/auth/login")
    response = conn.getresponse()
    page = response.read().decode()
    jar = SimpleCookie(response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())
    body = urlencode({"username": username, "password": password, "csrf_token": token})
    conn.request("POST", "/auth/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"login as {username} failed with HTTP {response.status}")
    jar = SimpleCookie(response.getheader("Set-Cookie") or "")
    conn.close()
    return "; ".join(f"{k}={v.value}" for k, v in jar.items())
