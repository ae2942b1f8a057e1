"""The :class:`Printer` facade: a transport plus a profile."""

from __future__ import annotations

import threading
from typing import Self

from printers.base import STATUS_TIMEOUT, PrinterStatus, Transport, query_status
from printers.escpos import Document
from printers.profiles import PrinterProfile

__all__ = ["Printer"]


class Printer:
    """One printer: build documents for its profile, check status, send jobs.

    Example usage::

        with open_printer("serial:///dev/ttyUSB0?baudrate=19200&rtscts=1") as printer:
            printer.print(layout_ticket(data, printer.profile))
    """

    def __init__(self, transport: Transport, profile: PrinterProfile) -> None:
        """Wrap an open *transport*."""
        self.transport = transport
        self.profile = profile
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Return the transport's name (port, host:port or path)."""
        return self.transport.name

    def document(self) -> Document:
        """Return an empty document for this printer's profile."""
        return Document(self.profile)

    def status(self, timeout: float = STATUS_TIMEOUT) -> PrinterStatus:
        """Query DLE EOT 1, 2 and 4; call between jobs only."""
        with self._lock:
            return query_status(self.transport, timeout)

    def print(self, job: Document | bytes, *, check_status: bool = True) -> int:
        """Send one job and return its size in bytes.

        With *check_status* the printer is asked first and PaperOut, CoverOpen or
        Offline is raised before any byte is sent. A printer that does not answer
        status (no return line) is printed to anyway.

        Raises:
            PrinterError: a subclass saying what went wrong, in Vietnamese.
        """
        payload = job.to_bytes() if isinstance(job, Document) else bytes(job)
        with self._lock:
            if check_status:
                query_status(self.transport).raise_for_fault()
            self.transport.write(payload)
        return len(payload)

    def write(self, data: bytes) -> None:
        """Send raw bytes without a status check."""
        with self._lock:
            self.transport.write(data)

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    def __enter__(self) -> Self:
        """Return the printer."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the printer."""
        self.close()
