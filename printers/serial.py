"""Serial transport through pyserial's ``serial_for_url``.

Works with device paths (``/dev/ttyUSB0``), pyserial URLs (``loop://``, ``socket://``,
``rfc2217://``, ``spy://``). Every write has a ``write_timeout``: with RTS/CTS or
XON/XOFF a printer out of paper holds the line, and without the timeout the calling
thread would hang forever (TECH.md §2.4).
"""

from __future__ import annotations

import threading
import time
from typing import Final

import serial

from printers.base import STATUS_TIMEOUT, TransportBase
from printers.exceptions import PrinterUnavailable, map_exceptions

__all__ = ["DEFAULT_WRITE_TIMEOUT", "SerialTransport"]

#: Seconds a write may block before PrinterTimeout.
DEFAULT_WRITE_TIMEOUT: Final = 15.0


class SerialTransport(TransportBase):
    """A printer on a serial line (or anything ``serial_for_url`` can open)."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        rtscts: bool = False,
        xonxoff: bool = False,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        exclusive: bool = True,
    ) -> None:
        """Open *url* now; raise PrinterUnavailable when it cannot be opened."""
        self.name = url
        self._lock = threading.Lock()
        with map_exceptions(url):
            port = serial.serial_for_url(url, do_not_open=True)
            port.baudrate = baudrate
            port.bytesize = serial.EIGHTBITS
            port.parity = serial.PARITY_NONE
            port.stopbits = serial.STOPBITS_ONE
            port.rtscts = rtscts
            port.xonxoff = xonxoff
            port.timeout = STATUS_TIMEOUT
            port.write_timeout = write_timeout
            if exclusive and isinstance(port, serial.Serial):
                port.exclusive = True
            port.open()
        self.port = port

    def write(self, data: bytes) -> None:
        """Send *data*; raise PrinterTimeout when the line stays blocked past the timeout."""
        with self._lock, map_exceptions(self.name):
            self._check_open()
            # No flush(): tcdrain() has no timeout and would block under flow control.
            written = self.port.write(data)
            if written is not None and written < len(data):
                raise PrinterUnavailable(
                    f"Lệnh in tới {self.name} bị ngắt giữa chừng; hãy in lại.", port=self.name
                )

    def query(self, request: bytes, timeout: float = STATUS_TIMEOUT) -> bytes:
        """Send a real-time command and read its one-byte reply within *timeout*."""
        with self._lock, map_exceptions(self.name):
            self._check_open()
            self.port.reset_input_buffer()
            self.port.timeout = timeout
            self.port.write(request)
            deadline = time.monotonic() + timeout
            reply = self.port.read(1)
            while not reply and time.monotonic() < deadline:
                reply = self.port.read(1)
            return bytes(reply)

    def _check_open(self) -> None:
        """Raise PrinterUnavailable if the port was closed."""
        if not self.port.is_open:
            raise PrinterUnavailable(f"Cổng máy in {self.name} đã đóng.", port=self.name)

    def close(self) -> None:
        """Abort a write in progress, then close the port; safe to call twice."""
        try:
            if self.port.is_open:
                self.port.cancel_write()
            with self._lock:
                self.port.close()
        except (OSError, serial.SerialException):
            pass
