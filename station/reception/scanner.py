"""Serial (USB-COM) barcode scanners: each configured port feeds the screen it is assigned to.

Configuration (instance/station.cfg)::

    SCANNERS = {"ttyACM0": {"url": "/dev/ttyACM0", "screen": "reception-1", "baudrate": 9600}}

``url`` is anything pyserial's ``serial_for_url`` opens (a device path,
``loop://``, ``socket://host:port``, ``rfc2217://``). A scan ends with CR or LF,
or with a pause of ``idle_ms`` (default 250 ms) after data for scanners that send
no terminator; a half QR (scanner timeout) then reaches the parser, which
rejects it with a clear message on the screen. Scans are stored as
:class:`~station.reception.models.PendingScan` rows that the screen takes by
polling; rows older than ``SCANNER_KEEP_SECONDS`` are purged so card data
does not linger. Nothing of the payload is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import serial
from flask import Flask
from sqlalchemy import delete

from station.clock import SystemClock
from station.reception.models import PendingScan

log = logging.getLogger(__name__)
MAX_SCAN_BYTES = 2048


@dataclass(frozen=True)
class ScannerConfig:
    """One configured port."""

    name: str
    url: str
    screen: str
    baudrate: int = 9600
    idle_ms: int = 250

    @classmethod
    def from_config(cls, name: str, spec: dict[str, Any]) -> "ScannerConfig":
        if not spec.get("url") or not spec.get("screen"):
            raise ValueError(f"SCANNERS[{name!r}] needs 'url' and 'screen'")
        return cls(name=name, url=str(spec["url"]), screen=str(spec["screen"])[:40],
                   baudrate=int(spec.get("baudrate", 9600)), idle_ms=int(spec.get("idle_ms", 250)))


def split_scans(buffer: bytearray) -> list[bytes]:
    """Remove and return complete scans (ended by CR and/or LF) from *buffer*."""
    scans = []
    while True:
        positions = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
        if not positions:
            return scans
        end = min(positions)
        chunk = bytes(buffer[:end])
        del buffer[:end + 1]
        if chunk.strip():
            scans.append(chunk)


def decode_scan(raw: bytes) -> str:
    """Scanners in USB-COM mode send UTF-8; undecodable bytes become U+FFFD so the parser rejects them clearly."""
    return raw.decode("utf-8", errors="replace").strip()


def store_scan(app: Flask, config: ScannerConfig, text: str) -> None:
    """Save one scan for its screen and purge stale ones; its own short transaction."""
    from station.extensions import db

    with app.app_context():
        now = SystemClock().now()
        keep = int(app.config.get("SCANNER_KEEP_SECONDS", 120))
        db.session.execute(delete(PendingScan).where(PendingScan.received_at < now - timedelta(seconds=keep)))
        db.session.add(PendingScan(screen=config.screen, port=config.name, payload=text, received_at=now))
        db.session.commit()
        db.session.remove()


class ScannerReader(threading.Thread):
    """Reads one port until stopped; reopens the port after an error (cable pulled, device reset)."""

    def __init__(self, app: Flask, config: ScannerConfig, *, on_scan: Callable[[str], None] | None = None,
                 port_factory: Callable[..., Any] = serial.serial_for_url) -> None:
        super().__init__(name=f"scanner-{config.name}", daemon=True)
        self.app = app
        self.config = config
        self.stopping = threading.Event()
        self.on_scan = on_scan or (lambda text: store_scan(app, config, text))
        self.port_factory = port_factory
        self.scans = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                port = self.port_factory(self.config.url, baudrate=self.config.baudrate, timeout=0.05)
            except (serial.SerialException, OSError, ValueError) as error:
                log.warning("scanner %s: cannot open port (%s); retrying", self.config.name, type(error).__name__)
                self.stopping.wait(2.0)
                continue
            try:
                self._read(port)
            except (serial.SerialException, OSError) as error:
                log.warning("scanner %s: port error (%s); reopening", self.config.name, type(error).__name__)
                self.stopping.wait(1.0)
            finally:
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass

    def _read(self, port: Any) -> None:
        buffer = bytearray()
        last_data = 0.0
        while not self.stopping.is_set():
            chunk = port.read(256)
            now = time.monotonic()
            if chunk:
                buffer.extend(chunk)
                last_data = now
                if len(buffer) > MAX_SCAN_BYTES:
                    buffer.clear()  # noise on the line, not a card
                for raw in split_scans(buffer):
                    self._deliver(raw)
            elif buffer and now - last_data >= self.config.idle_ms / 1000:
                raw = bytes(buffer)
                buffer.clear()
                self._deliver(raw)

    def _deliver(self, raw: bytes) -> None:
        text = decode_scan(raw)
        if not text:
            return
        try:
            self.on_scan(text)
            self.scans += 1
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the reader
            log.exception("scanner %s: could not store a scan", self.config.name)


def start_readers(app: Flask) -> list[ScannerReader]:
    """Start one reader per configured port (``SCANNERS``)."""
    readers = []
    for name, spec in (app.config.get("SCANNERS") or {}).items():
        reader = ScannerReader(app, ScannerConfig.from_config(name, spec))
        reader.start()
        readers.append(reader)
    return readers
