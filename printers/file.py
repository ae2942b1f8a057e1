"""File transport: append the bytes to a file, for debugging and demo stations."""

from __future__ import annotations

import threading
from pathlib import Path

from printers.base import STATUS_TIMEOUT, TransportBase
from printers.exceptions import map_exceptions

__all__ = ["FileTransport"]


class FileTransport(TransportBase):
    """Writes every job to the end of one file; status is never answered."""

    def __init__(self, path: str | Path) -> None:
        """Check the folder exists and the file can be opened for appending."""
        self.path = Path(path)
        self.name = str(self.path)
        self._lock = threading.Lock()
        with map_exceptions(self.name), self.path.open("ab"):
            pass

    def write(self, data: bytes) -> None:
        """Append *data* to the file."""
        with self._lock, map_exceptions(self.name), self.path.open("ab") as handle:
            handle.write(data)

    def query(self, request: bytes, timeout: float = STATUS_TIMEOUT) -> bytes:
        """Return b"": a file cannot answer status queries."""
        return b""
