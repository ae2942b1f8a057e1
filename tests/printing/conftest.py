"""Fixtures for the app's printing: printers on socat ptys, a scripted printer, fast spooler settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import serial

from station.audit.services import Actor
from station.printing.spooler import SpoolerSettings
from tests.printers.conftest import PtyPair, pty_pair  # noqa: F401  (re-exported fixture)

FAST = SpoolerSettings(poll_seconds=0.02, retry_base_seconds=0.05, retry_cap_seconds=0.2, max_attempts=3,
                       rescan_seconds=0.1)
ACTOR = Actor("test", "test", "127.0.0.1")
PAPER_END = {1: 0x1A, 2: 0x32, 4: 0x72}
ALL_OK = {1: 0x12, 2: 0x12, 4: 0x12}
DLE_EOT = b"\x10\x04"


class ScriptedPrinter:
    """The printer end of a pty: answers DLE EOT n, records the data, can stop reading (paper jam)."""

    def __init__(self, path: str, *, paper: bool = True, read_limit: int | None = None) -> None:
        self.port = serial.Serial(path, timeout=0.02)
        self.received = bytearray()
        self.statuses = dict(ALL_OK if paper else PAPER_END)
        self.read_limit = read_limit
        self.stalled = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def load_paper(self) -> None:
        self.statuses = dict(ALL_OK)

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            if self.read_limit is not None and len(self.received) >= self.read_limit:
                self.stalled.set()
                time.sleep(0.02)
                continue
            try:
                chunk = self.port.read(4096)
            except (serial.SerialException, OSError):
                return
            if not chunk:
                continue
            self.received += chunk
            pending += chunk
            while (index := pending.find(DLE_EOT)) >= 0 and len(pending) >= index + 3:
                self.port.write(bytes([self.statuses.get(pending[index + 2], 0x12)]))
                pending = pending[index + 3:]
            pending = pending[-2:]

    def job_bytes(self) -> bytes:
        """Return what arrived after the last status query (the job itself)."""
        return bytes(self.received).rsplit(DLE_EOT + b"\x04", 1)[-1]

    def wait_for(self, size: int, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.received) < size and time.monotonic() < deadline:
            time.sleep(0.01)
        return bytes(self.received)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass


@pytest.fixture
def scripted(pty_pair: PtyPair) -> Iterator[ScriptedPrinter]:  # noqa: F811
    printer = ScriptedPrinter(pty_pair.printer)
    yield printer
    printer.close()
