"""Serial scanners: a socat pty pair stands in for a USB-COM scanner; scans land in their screen."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import serial
from sqlalchemy import select

from station.reception import background
from station.reception.models import PendingScan
from station.reception.scanner import decode_scan, split_scans
from tests.reception.conftest import QR_BICH


def test_split_and_decode():
    buffer = bytearray(b"abc\r\ndef\nxy")
    assert split_scans(buffer) == [b"abc", b"def"] and buffer == bytearray(b"xy")
    assert decode_scan("Trần".encode("utf-8") + b"\xff") == "Trần\ufffd"


@pytest.fixture
def pty_pair(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not shutil.which("socat"):
        pytest.skip("socat is not installed")
    scanner_end, station_end = tmp_path / "scanner", tmp_path / "station"
    process = subprocess.Popen(["socat", f"pty,raw,echo=0,link={scanner_end}", f"pty,raw,echo=0,link={station_end}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not (scanner_end.exists() and station_end.exists()):
        assert time.monotonic() < deadline, "socat did not create the pty pair"
        time.sleep(0.02)
    yield str(scanner_end), str(station_end)
    process.terminate()
    process.wait(timeout=5)


def _wait_for_scans(app, count: int) -> list[PendingScan]:  # type: ignore[no-untyped-def]
    from station.extensions import db

    deadline = time.monotonic() + 5
    while True:
        with app.app_context():
            rows = list(db.session.scalars(select(PendingScan).order_by(PendingScan.received_at)))
            db.session.remove()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_background_reader_stores_scans_for_the_assigned_screen(station, pty_pair):
    scanner_end, station_end = pty_pair
    station.config["SCANNERS"] = {"ttyACM0": {"url": station_end, "screen": "reception-2", "idle_ms": 150}}
    stop = background.start(station)
    try:
        with serial.Serial(scanner_end, 9600, timeout=1) as port:
            port.write(QR_BICH.encode("utf-8") + b"\r")
            port.flush()
            rows = _wait_for_scans(station, 1)
            assert [(r.screen, r.port, r.payload) for r in rows] == [("reception-2", "ttyACM0", QR_BICH)]
            port.write(b"001195001234||TR")  # half a QR, no terminator: delivered after the pause
            port.flush()
            rows = _wait_for_scans(station, 2)
            assert rows[-1].payload == "001195001234||TR"
    finally:
        stop()


def test_a_stale_scan_is_never_handed_to_a_screen(station, client, receptionist):
    from datetime import timedelta

    from station.clock import SystemClock
    from station.extensions import db
    from station.reception.models import PendingScan

    with station.app_context():
        fields = {c.name for c in PendingScan.__table__.columns}
        row = PendingScan(screen="reception-1", payload="001050123456|x",
                          received_at=SystemClock().now() - timedelta(days=1))
        assert {"screen", "payload", "received_at"} <= fields
        db.session.add(row)
        db.session.commit()
    response = client.get("/api/reception/scans", query_string={"screen": "reception-1"})
    assert response.status_code == 204
    with station.app_context():
        assert db.session.query(PendingScan).count() == 0
