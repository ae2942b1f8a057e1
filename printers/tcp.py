"""Raw TCP transport for network printers (port 9100, "JetDirect")."""

from __future__ import annotations

import socket
import threading
from typing import Final

from printers.base import STATUS_TIMEOUT, TransportBase
from printers.exceptions import map_exceptions

__all__ = ["DEFAULT_PORT", "TcpTransport"]

DEFAULT_PORT: Final = 9100


class TcpTransport(TransportBase):
    """A printer reached over a raw TCP socket."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        connect_timeout: float = 3.0,
        write_timeout: float = 15.0,
    ) -> None:
        """Connect now; raise PrinterUnavailable or PrinterTimeout on failure."""
        self.name = f"{host}:{port}"
        self.write_timeout = write_timeout
        self._lock = threading.Lock()
        with map_exceptions(self.name):
            self.sock = socket.create_connection((host, port), timeout=connect_timeout)

    def write(self, data: bytes) -> None:
        """Send all of *data* within the write timeout."""
        with self._lock, map_exceptions(self.name):
            self.sock.settimeout(self.write_timeout)
            self.sock.sendall(data)

    def query(self, request: bytes, timeout: float = STATUS_TIMEOUT) -> bytes:
        """Send a real-time command and read its one-byte reply within *timeout*."""
        with self._lock, map_exceptions(self.name):
            self._drain()
            self.sock.settimeout(self.write_timeout)
            self.sock.sendall(request)
            self.sock.settimeout(timeout)
            try:
                return self.sock.recv(1)
            except TimeoutError:
                return b""

    def _drain(self) -> None:
        """Discard bytes already waiting (late replies, ASB messages)."""
        self.sock.setblocking(False)
        try:
            while self.sock.recv(256):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        """Close the socket; safe to call twice."""
        try:
            self.sock.close()
        except OSError:
            pass
