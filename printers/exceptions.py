"""Printer exceptions, with messages a nurse can act on.

Our exception hierarchy::

    PrinterError
    ├── PrinterUnavailable   port missing, taken by another program, or lost mid-job
    ├── PrinterTimeout       the printer stopped accepting data (write timeout)
    └── PrinterFault         the printer reported a fault through DLE EOT status
        ├── PaperOut
        ├── CoverOpen
        └── Offline

    ProfileError (ValueError)   a printer profile in configuration is invalid

``str(exc)`` is a Vietnamese sentence suitable for the print-queue page. Low-level
errors from pyserial and sockets are translated by :func:`map_exceptions` and chained
with ``raise ... from exc`` so the original stays in logs.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import serial

__all__ = [
    "CoverOpen",
    "Offline",
    "PaperOut",
    "PrinterError",
    "PrinterFault",
    "PrinterTimeout",
    "PrinterUnavailable",
    "ProfileError",
    "map_exceptions",
]


class PrinterError(Exception):
    """Base class of every printing failure; ``str()`` is a Vietnamese message."""

    default_message = "Lỗi máy in."

    def __init__(self, message: str | None = None, *, port: str | None = None) -> None:
        """Store the user-facing *message* and the *port* it concerns."""
        self.message = message or self.default_message
        self.port = port
        super().__init__(self.message)


class PrinterUnavailable(PrinterError):
    """Raised when the port does not exist, is taken, or the link drops."""

    default_message = "Không kết nối được với máy in. Kiểm tra cáp và nguồn máy in."


class PrinterTimeout(PrinterError):
    """Raised when the printer does not accept data within the write timeout."""

    default_message = (
        "Máy in không nhận dữ liệu (có thể hết giấy, mở nắp hoặc đang bận). "
        "Kiểm tra máy in rồi in lại."
    )


class PrinterFault(PrinterError):
    """Raised when a status query shows the printer cannot print right now."""

    default_message = "Máy in đang báo lỗi. Kiểm tra đèn báo trên máy in."


class PaperOut(PrinterFault):
    """Raised when the paper sensor reports the roll is empty."""

    default_message = "Máy in hết giấy. Hãy thay cuộn giấy mới rồi in lại."


class CoverOpen(PrinterFault):
    """Raised when the printer cover is open."""

    default_message = "Nắp máy in đang mở. Hãy đóng nắp rồi in lại."


class Offline(PrinterFault):
    """Raised when the printer reports it is offline for another reason."""

    default_message = "Máy in đang ngoại tuyến (offline). Kiểm tra đèn báo lỗi trên máy in."


class ProfileError(ValueError):
    """Raised when a printer profile (built-in or from configuration) is invalid."""


_BUSY_ERRNOS = {errno.EBUSY, errno.EAGAIN, errno.EACCES, errno.EPERM}
_MISSING_ERRNOS = {errno.ENOENT, errno.ENODEV, errno.ENXIO}


def _errno_of(exc: BaseException) -> int | None:
    """Return the errno carried by *exc* or by the exception it wraps."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        number = getattr(candidate, "errno", None)
        if isinstance(number, int):
            return number
    return None


def translate(exc: BaseException, port: str) -> PrinterError | None:
    """Return the PrinterError matching a low-level *exc*, or None if not ours to map."""
    if isinstance(exc, PrinterError):
        return exc
    if isinstance(exc, (serial.SerialTimeoutException, socket.timeout, TimeoutError)):
        return PrinterTimeout(port=port)
    if not isinstance(exc, (serial.SerialException, OSError)):
        return None
    number = _errno_of(exc)
    text = str(exc)
    if number in _MISSING_ERRNOS or isinstance(exc, FileNotFoundError):
        return PrinterUnavailable(
            f"Không tìm thấy máy in ở cổng {port}. Kiểm tra cáp nối và nguồn máy in.",
            port=port,
        )
    if number in _BUSY_ERRNOS or "exclusively lock" in text:
        return PrinterUnavailable(
            f"Cổng máy in {port} đang được chương trình khác sử dụng "
            "hoặc không có quyền truy cập.",
            port=port,
        )
    if isinstance(exc, ConnectionRefusedError):
        return PrinterUnavailable(
            f"Máy in mạng {port} từ chối kết nối. Kiểm tra máy in đã bật chưa.",
            port=port,
        )
    return PrinterUnavailable(
        f"Mất kết nối với máy in ({port}). Kiểm tra cáp và nguồn rồi in lại.", port=port
    )


@contextmanager
def map_exceptions(port: str) -> Iterator[None]:
    """Turn pyserial, socket and OS errors raised inside the block into PrinterError."""
    try:
        yield
    except PrinterError:
        raise
    except Exception as exc:
        mapped = translate(exc, port)
        if mapped is None:
            raise
        raise mapped from exc
