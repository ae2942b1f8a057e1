"""The transport interface, printer status and the DLE EOT status query.

A transport is the single point where printing meets I/O (httpx's ``BaseTransport``
idea): ``write`` bytes, ``query`` one real-time command for a one-byte reply, ``close``.
Serial, TCP, file and in-memory transports implement it.

Status is asked **between** jobs only: a DLE EOT inside raster data is read as image
data (TECH.md §2.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, Self, runtime_checkable

from printers.exceptions import CoverOpen, Offline, PaperOut, PrinterFault

__all__ = [
    "STATUS_TIMEOUT",
    "PrinterStatus",
    "Transport",
    "TransportBase",
    "parse_status",
    "query_status",
]

#: Seconds to wait for the one-byte DLE EOT reply.
STATUS_TIMEOUT: Final = 0.3

DLE_EOT: Final = b"\x10\x04"


@runtime_checkable
class Transport(Protocol):
    """Moves bytes to one printer."""

    name: str

    def write(self, data: bytes) -> None:
        """Send *data*; raise a PrinterError subclass on failure."""

    def query(self, request: bytes, timeout: float = STATUS_TIMEOUT) -> bytes:
        """Send a real-time *request* and return the one-byte reply, or b"" if none."""

    def close(self) -> None:
        """Release the port or socket; safe to call twice."""


class TransportBase:
    """Context-manager mixin for transports."""

    name: str = "?"

    def close(self) -> None:
        """Release resources (overridden)."""

    def __enter__(self) -> Self:
        """Return the open transport."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the transport."""
        self.close()


@dataclass(frozen=True)
class PrinterStatus:
    """The printer's state as read through DLE EOT 1, 2 and 4."""

    responded: bool
    online: bool
    cover_open: bool = False
    paper_end: bool = False
    paper_near_end: bool = False
    error: bool = False

    @property
    def ok(self) -> bool:
        """Return True when the printer answered and can print."""
        return self.responded and self.online and not (self.cover_open or self.paper_end or self.error)

    @property
    def message(self) -> str:
        """Return a short Vietnamese description for the print-queue page."""
        if not self.responded:
            return "Máy in không trả lời lệnh hỏi trạng thái."
        fault = self.fault()
        if fault is not None:
            return fault.message
        if self.paper_near_end:
            return "Máy in sắp hết giấy."
        return "Máy in sẵn sàng."

    def fault(self) -> PrinterFault | None:
        """Return the exception describing why the printer cannot print, if any."""
        if not self.responded:
            return None
        if self.paper_end:
            return PaperOut()
        if self.cover_open:
            return CoverOpen()
        if not self.online or self.error:
            return Offline()
        return None

    def raise_for_fault(self) -> None:
        """Raise PaperOut, CoverOpen or Offline when the status shows a fault."""
        fault = self.fault()
        if fault is not None:
            raise fault


def _valid(reply: bytes) -> int | None:
    """Return the status byte if *reply* looks like a DLE EOT answer (bits 1, 4 set; 0, 7 clear)."""
    if len(reply) == 1 and reply[0] & 0x93 == 0x12:
        return reply[0]
    return None


def parse_status(printer: int | None, offline: int | None, paper: int | None) -> PrinterStatus:
    """Build a status from the replies to DLE EOT 1, 2 and 4 (None = no valid reply)."""
    if printer is None and offline is None and paper is None:
        return PrinterStatus(responded=False, online=False)
    is_offline = bool(printer is not None and printer & 0x08)
    cover_open = bool(offline is not None and offline & 0x04)
    paper_stop = bool(offline is not None and offline & 0x20)
    error = bool(offline is not None and offline & 0x40)
    paper_end = bool(paper is not None and paper & 0x60) or paper_stop
    near_end = bool(paper is not None and paper & 0x0C)
    return PrinterStatus(
        responded=True,
        online=not is_offline,
        cover_open=cover_open,
        paper_end=paper_end,
        paper_near_end=near_end,
        error=error,
    )


def query_status(transport: Transport, timeout: float = STATUS_TIMEOUT) -> PrinterStatus:
    """Ask DLE EOT 1, 2 and 4 and combine the answers.

    When the first query gets no valid reply the printer is taken as silent and the
    other two are skipped, so a dead line costs one *timeout*, not three.
    """
    replies: list[int | None] = []
    for n in (1, 2, 4):
        reply = _valid(transport.query(DLE_EOT + bytes([n]), timeout))
        if reply is None and not replies:
            return parse_status(None, None, None)
        replies.append(reply)
    return parse_status(*replies)
