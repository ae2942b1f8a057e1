"""In-memory transport for tests and demo mode (python-escpos ``Dummy`` idea)."""

from __future__ import annotations

import threading

from printers.base import DLE_EOT, STATUS_TIMEOUT, TransportBase
from printers.exceptions import PrinterError, PrinterUnavailable

__all__ = ["FakeTransport"]

_OK: dict[int, int] = {1: 0x12, 2: 0x12, 4: 0x12}


class FakeTransport(TransportBase):
    """Records every write in :attr:`jobs` and answers DLE EOT from :attr:`status_bytes`.

    ``status_bytes`` maps n (1, 2, 4) to the reply byte; set it to ``{}`` for a silent
    printer. ``fail_next(exc)`` makes the next write raise *exc*.
    """

    def __init__(self, name: str = "fake") -> None:
        """Start with no jobs and an "all OK" printer."""
        self.name = name
        self.jobs: list[bytes] = []
        self.status_bytes: dict[int, int] = dict(_OK)
        self.closed = False
        self._failures: list[PrinterError] = []
        self._lock = threading.Lock()

    @property
    def output(self) -> bytes:
        """Return every byte written so far."""
        return b"".join(self.jobs)

    def fail_next(self, exc: PrinterError) -> None:
        """Make the next write raise *exc*."""
        self._failures.append(exc)

    def write(self, data: bytes) -> None:
        """Record *data* as one job, or raise a scripted failure."""
        with self._lock:
            if self.closed:
                raise PrinterUnavailable(f"Cổng máy in {self.name} đã đóng.", port=self.name)
            if self._failures:
                raise self._failures.pop(0)
            self.jobs.append(bytes(data))

    def query(self, request: bytes, timeout: float = STATUS_TIMEOUT) -> bytes:
        """Answer DLE EOT n from :attr:`status_bytes`."""
        if len(request) == 3 and request[:2] == DLE_EOT and request[2] in self.status_bytes:
            return bytes([self.status_bytes[request[2]]])
        return b""

    def close(self) -> None:
        """Mark the transport closed."""
        self.closed = True
