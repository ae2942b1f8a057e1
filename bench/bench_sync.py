"""Sync bench: push throughput to the reference hub, and peak RSS while pushing a large backlog.

Run from the repository root: ``python -m bench.bench_sync [--rows 20000] [--backlog 1000000]``.
The hub runs as its own process (``python -m hub``, waitress) on 127.0.0.1; the backlog push runs
in a child process that streams from a SQLite change log, and its ``ru_maxrss`` comes from
``os.wait4``. Linux carries the parent's RSS high-water mark into a forked-then-exec'd child's
``ru_maxrss``, so the backlog run goes first while the parent is still small; the child also
prints its own ``VmHWM`` for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import record
from station.sync.client import HttpHubClient
from station.sync.protocol import Change
from station.sync.pusher import MemoryChangeStore, push_all

ROOT = Path(__file__).resolve().parent.parent
STATION, SECRET = "bench-01", "bench-secret"
SCHEMA = """
CREATE TABLE IF NOT EXISTS change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
    op TEXT NOT NULL, version INTEGER NOT NULL, payload TEXT, changed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sync_state (id INTEGER PRIMARY KEY CHECK (id = 1), db_identity TEXT NOT NULL,
    acked_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sync_set_aside (seq INTEGER PRIMARY KEY, reason TEXT NOT NULL);
"""


def payload_text(i: int, rng: random.Random) -> str:
    """Return a ~1 KB FHIR R4 Patient as JSON text."""
    resource = {
        "resourceType": "Patient",
        "id": f"p{i}",
        "meta": {"versionId": "1", "lastUpdated": "2026-01-02T03:04:05+07:00"},
        "identifier": [
            {"system": "urn:vn:cccd", "value": f"0{rng.randrange(10**10, 10**11)}"},
            {"system": "urn:vn:bhyt", "value": f"GD4{rng.randrange(10**11, 10**12)}"},
        ],
        "name": [{"use": "official", "family": rng.choice(["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"]),
                  "given": [rng.choice(["Văn", "Thị", "Đức", "Ngọc"]), rng.choice(["An", "Bình", "Cường",
                                                                                   "Dung", "Hạnh"])],
                  "text": "Nguyễn Thị Ngọc Hạnh"}],
        "telecom": [{"system": "phone", "value": f"09{rng.randrange(10**7, 10**8)}", "use": "mobile"}],
        "gender": rng.choice(["male", "female"]),
        "birthDate": f"{rng.randrange(1930, 2025)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "address": [{"use": "home", "text": f"Thôn {rng.randrange(1, 12)}, xã Tân Phú, huyện Đồng Phú,"
                     " tỉnh Bình Phước", "line": [f"Thôn {rng.randrange(1, 12)}"], "district": "Đồng Phú",
                     "city": "Bình Phước", "country": "VN"}],
        "contact": [{"relationship": [{"text": "Vợ/chồng"}], "name": {"text": "Trần Văn Bình"},
                     "telecom": [{"system": "phone", "value": f"03{rng.randrange(10**7, 10**8)}"}]}],
        "extension": [{"url": "urn:vn:ethnicity", "valueCoding": {"code": "01", "display": "Kinh"}},
                      {"url": "urn:vn:occupation", "valueString": "Nông dân"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "vi"}]}}],
        "managingOrganization": {"reference": "Organization/tram-y-te-tan-phu"},
    }
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def rows(n: int, seed: int = 1) -> Iterator[tuple[str, str, str, int, str, str]]:
    """Yield *n* change-log rows with ~1 KB payloads."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        yield ("Patient", str(uuid.UUID(int=rng.getrandbits(128), version=4)), "upsert", 1,
               payload_text(i, rng), "2026-01-02T03:04:05+00:00")


class SqliteChangeStore:
    """A ChangeStore that streams from a SQLite change log (never loads it whole)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.executescript(SCHEMA)
        self.conn.execute("INSERT OR IGNORE INTO sync_state VALUES (1, ?, 0)", (str(uuid.uuid4()),))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def db_identity(self) -> str:
        """Return the database identity."""
        return str(self.conn.execute("SELECT db_identity FROM sync_state").fetchone()[0])

    def acked_seq(self) -> int:
        """Return the acked cursor."""
        return int(self.conn.execute("SELECT acked_seq FROM sync_state").fetchone()[0])

    def last_seq(self) -> int:
        """Return the highest seq."""
        return int(self.conn.execute("SELECT coalesce(max(seq), 0) FROM change_log").fetchone()[0])

    def read_after(self, seq: int, limit: int) -> list[Change]:
        """Return up to *limit* changes after *seq*, skipping set-aside rows."""
        cur = self.conn.execute(
            "SELECT seq, entity, entity_id, op, version, payload, changed_at FROM change_log"
            " WHERE seq > ? AND seq NOT IN (SELECT seq FROM sync_set_aside) ORDER BY seq LIMIT ?",
            (seq, limit))
        return [Change(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else json.loads(r[5]), r[6])
                for r in cur]

    def advance(self, to_seq: int) -> None:
        """Durably move the cursor forward."""
        self.conn.execute("UPDATE sync_state SET acked_seq = max(acked_seq, ?)", (to_seq,))

    def set_aside(self, seq: int, reason: str) -> None:
        """Record a refused change."""
        self.conn.execute("INSERT OR REPLACE INTO sync_set_aside VALUES (?, ?)", (seq, reason))

    def pending_count(self) -> int:
        """Return the number of changes still to send."""
        return int(self.conn.execute(
            "SELECT count(*) FROM change_log WHERE seq > (SELECT acked_seq FROM sync_state)"
            " AND seq NOT IN (SELECT seq FROM sync_set_aside)").fetchone()[0])


def start_hub(db: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m hub`` on a free loopback port and return the process and URL."""
    proc = subprocess.Popen([sys.executable, "-m", "hub", "--port", "0", "--db", str(db),
                             "--station", f"{STATION}:{SECRET}", "--threads", "4"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on " not in line:
        proc.kill()
        raise RuntimeError(f"hub did not start: {line!r}")
    return proc, line.split("listening on ", 1)[1].strip()


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a hub process."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_rate(work: Path, n: int) -> float:
    """Push *n* in-memory changes and return rows per second."""
    rng = random.Random(2)
    changes = [Change(i, "Patient", str(uuid.uuid4()), "upsert", 1, json.loads(payload_text(i, rng)),
                      "2026-01-02T03:04:05+00:00") for i in range(1, n + 1)]
    store = MemoryChangeStore(changes, db_identity="bench-db")
    hub, url = start_hub(work / "hub-rate.sqlite")
    try:
        client = HttpHubClient(url, STATION, STATION, SECRET, timeout=30)
        t0 = time.perf_counter()
        report = push_all(store, client, batch_size=500, deadline=time.monotonic() + 600)
        elapsed = time.perf_counter() - t0
    finally:
        stop(hub)
    if not report.ok or store.acked_seq() != n:
        raise RuntimeError(f"push failed: {report}")
    print(f"rate: {n} rows in {elapsed:.2f} s, {report.batches} batches, "
          f"avg payload {sum(len(c.to_line()) for c in changes[:1000]) / 1000:.0f} B/line")
    return n / elapsed


def bench_backlog(work: Path, n: int) -> tuple[float, float]:
    """Push an *n*-row SQLite backlog from a child process; return (peak RSS MB, rows per second)."""
    station_db = work / "station-backlog.sqlite"
    t0 = time.perf_counter()
    conn = sqlite3.connect(station_db, isolation_level=None)
    conn.executescript(SCHEMA)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO change_log (entity, entity_id, op, version, payload, changed_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", rows(n))
    conn.execute("COMMIT")
    conn.close()
    print(f"backlog: wrote {n} rows in {time.perf_counter() - t0:.1f} s "
          f"({station_db.stat().st_size / 2**20:.0f} MB)")
    hub, url = start_hub(work / "hub-backlog.sqlite")
    try:
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "bench.bench_sync", "--push-child",
                                  str(station_db), url], cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - t0
    finally:
        stop(hub)
    if child.returncode != 0:
        raise RuntimeError(f"push child failed with {child.returncode}")
    rss_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    print(f"backlog: pushed {n} rows in {elapsed:.1f} s, child peak RSS {rss_mb:.1f} MB")
    return rss_mb, n / elapsed


def push_child(db: str, url: str) -> None:
    """Child process body: push the SQLite backlog to *url*."""
    store = SqliteChangeStore(db)
    try:
        report = push_all(store, HttpHubClient(url, STATION, STATION, SECRET, timeout=60),
                          batch_size=500, deadline=time.monotonic() + 3600)
    finally:
        pending = store.pending_count()
        store.close()
    if not report.ok or pending:
        raise SystemExit(f"push incomplete: {report.outcome} {report.error} pending={pending}")
    status = Path("/proc/self/status")
    if status.exists():
        hwm = next((ln.split()[1] for ln in status.read_text().splitlines() if ln.startswith("VmHWM")), "?")
        print(f"backlog child: VmHWM {int(hwm) / 1024:.1f} MB" if hwm != "?" else "", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run the sync bench and record its figures."""
    p = argparse.ArgumentParser(prog="python -m bench.bench_sync")
    p.add_argument("--rows", type=int, default=20_000, help="changes for the throughput run")
    p.add_argument("--backlog", type=int, default=1_000_000, help="changes for the peak-RSS run (0 skips)")
    p.add_argument("--push-child", nargs=2, metavar=("DB", "URL"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.push_child:
        push_child(*args.push_child)
        return
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        work = Path(tmp)
        if args.backlog:  # first: see the module docstring about inherited ru_maxrss
            rss, rate = bench_backlog(work, args.backlog)
            figures["sync_peak_rss_mb"] = rss
            figures["sync_backlog_rows"] = args.backlog
            figures["sync_backlog_rows_per_s"] = rate
        figures["sync_rows_per_s"] = bench_rate(work, args.rows)
    record(figures)


if __name__ == "__main__":
    main()
