"""``open_printer(url, profile)``: pick a transport from a URL.

Accepted forms::

    serial:///dev/ttyUSB0?baudrate=19200&rtscts=1&write_timeout=20
    /dev/ttyUSB0                      plain device path (serial, 9600 baud)
    loop://                           pyserial loopback (tests); also socket://, rfc2217://, spy://
    tcp://192.168.1.50:9100           raw TCP
    file:///var/lib/station/out.bin   append to a file
    fake://label                      in-memory FakeTransport

Options in the query string are ``baudrate``, ``rtscts``, ``xonxoff``,
``write_timeout`` (serial and TCP) and ``connect_timeout`` (TCP); keyword arguments
of :func:`open_printer` override them. Other query parameters of pyserial URLs are
passed through to pyserial.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from printers.base import Transport
from printers.fake import FakeTransport
from printers.file import FileTransport
from printers.printer import Printer
from printers.profiles import PrinterProfile, get_profile
from printers.serial import DEFAULT_WRITE_TIMEOUT, SerialTransport
from printers.tcp import DEFAULT_PORT, TcpTransport

__all__ = ["DEFAULT_PROFILE", "open_printer", "open_transport"]

DEFAULT_PROFILE: Final = "epson-tm-t20ii"

_OPTIONS: Final = {
    "baudrate": int,
    "write_timeout": float,
    "connect_timeout": float,
    "rtscts": lambda v: str(v).lower() in ("1", "true", "yes", "on"),
    "xonxoff": lambda v: str(v).lower() in ("1", "true", "yes", "on"),
}
_PYSERIAL_SCHEMES: Final = frozenset({"loop", "socket", "rfc2217", "spy", "alt", "hwgrep", "cp2110"})


def _split_options(query: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Separate our options from pyserial's own query parameters."""
    ours: dict[str, Any] = {}
    rest: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in _OPTIONS:
            try:
                ours[key] = _OPTIONS[key](value)
            except ValueError:
                raise ValueError(f"Tham số máy in không hợp lệ: {key}={value!r}") from None
        else:
            rest.append((key, value))
    return ours, rest


def open_transport(url: str, **options: Any) -> Transport:
    """Open the transport named by *url* (see the module docstring)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query_options, passthrough = _split_options(parts.query)
    opts = {**query_options, **options}
    if scheme == "tcp":
        if not parts.hostname:
            raise ValueError(f"Địa chỉ máy in mạng thiếu tên máy: {url!r}")
        return TcpTransport(
            parts.hostname,
            parts.port or DEFAULT_PORT,
            connect_timeout=float(opts.get("connect_timeout", 3.0)),
            write_timeout=float(opts.get("write_timeout", DEFAULT_WRITE_TIMEOUT)),
        )
    if scheme == "file":
        return FileTransport(unquote(parts.path))
    if scheme == "fake":
        return FakeTransport(parts.netloc or "fake")
    serial_opts = {
        "baudrate": int(opts.get("baudrate", 9600)),
        "rtscts": bool(opts.get("rtscts", False)),
        "xonxoff": bool(opts.get("xonxoff", False)),
        "write_timeout": float(opts.get("write_timeout", DEFAULT_WRITE_TIMEOUT)),
    }
    if scheme == "serial":
        return SerialTransport(unquote(parts.path), **serial_opts)
    if scheme in _PYSERIAL_SCHEMES:
        base = url.split("?", 1)[0]
        target = f"{base}?{urlencode(passthrough)}" if passthrough else base
        return SerialTransport(target, **serial_opts)
    if scheme and len(scheme) > 1:
        raise ValueError(f"Kiểu kết nối máy in không hỗ trợ: {scheme!r} ({url!r})")
    return SerialTransport(url, **serial_opts)


def open_printer(url: str, profile: str | PrinterProfile = DEFAULT_PROFILE, **options: Any) -> Printer:
    """Open the printer at *url* with *profile* (a built-in name or a PrinterProfile).

    Raises:
        PrinterUnavailable: the port or host cannot be opened.
        ProfileError: the profile name is unknown.
        ValueError: the URL is malformed.
    """
    resolved = get_profile(profile)
    return Printer(open_transport(url, **options), resolved)
