"""Serial printing over a real pseudo-terminal pair made by socat."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import serial

from printers import (
    PaperOut,
    Printer,
    PrinterError,
    PrinterTimeout,
    PrinterUnavailable,
    decode,
    get_profile,
    layout_ticket,
    open_printer,
)
from tests.printers.conftest import PATIENT, PtyPair, make_ticket

PAPER_END = {1: 0x1A, 2: 0x32, 4: 0x72}
ALL_OK = {1: 0x12, 2: 0x12, 4: 0x12}


class ScriptedPrinter:
    """Reads the printer end of the pty, records data and answers DLE EOT n.

    It reports paper-end until :meth:`load_paper` is called.
    """

    def __init__(self, path: str) -> None:
        """Open the printer end and start the reader thread."""
        self.port = serial.Serial(path, timeout=0.02)
        self.received = bytearray()
        self.statuses = dict(PAPER_END)
        self.queries: list[int] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def load_paper(self) -> None:
        """Recover: answer "all OK" from now on."""
        self.statuses = dict(ALL_OK)

    def _run(self) -> None:
        """Serve until stopped."""
        pending = b""
        while not self._stop.is_set():
            chunk = self.port.read(4096)
            if not chunk:
                continue
            self.received += chunk
            pending += chunk
            while (index := pending.find(b"\x10\x04")) >= 0 and len(pending) >= index + 3:
                n = pending[index + 2]
                self.queries.append(n)
                self.port.write(bytes([self.statuses.get(n, 0x12)]))
                pending = pending[index + 3 :]
            pending = pending[-2:]

    def wait_for(self, size: int, timeout: float = 5.0) -> bytes:
        """Wait until at least *size* bytes arrived and return them."""
        deadline = time.monotonic() + timeout
        while len(self.received) < size and time.monotonic() < deadline:
            time.sleep(0.01)
        return bytes(self.received)

    def close(self) -> None:
        """Stop the thread and close the port."""
        self._stop.set()
        self.thread.join(timeout=2)
        self.port.close()


@pytest.fixture
def scripted(pty_pair: PtyPair) -> Iterator[ScriptedPrinter]:
    """Yield a scripted printer on the printer end of the pty pair."""
    printer = ScriptedPrinter(pty_pair.printer)
    yield printer
    printer.close()


def test_ticket_over_pty_decodes(pty_pair: PtyPair) -> None:
    profile = get_profile("epson-tm-t20ii")
    reader = serial.Serial(pty_pair.printer, timeout=0.05)
    try:
        with open_printer(f"serial://{pty_pair.host}?baudrate=115200&rtscts=0", profile) as printer:
            sent = printer.print(layout_ticket(make_ticket(), profile), check_status=False)
            received = bytearray()
            deadline = time.monotonic() + 5
            while len(received) < sent and time.monotonic() < deadline:
                received += reader.read(4096)
    finally:
        reader.close()
    decoded = decode(bytes(received), profile)
    assert len(received) == sent
    assert PATIENT in decoded.text
    assert decoded.qr_payloads == ["V-2025-000123"] and decoded.cut


def test_status_sees_paper_end_then_recovery(pty_pair: PtyPair, scripted: ScriptedPrinter) -> None:
    profile = get_profile("epson-tm-t20ii")
    with open_printer(pty_pair.host, profile) as printer:
        status = printer.status()
        assert status.responded and status.paper_end and not status.online and not status.ok
        with pytest.raises(PaperOut, match="Máy in hết giấy"):
            printer.print(layout_ticket(make_ticket(), profile))
        scripted.load_paper()
        assert printer.status().ok
        sent = printer.print(layout_ticket(make_ticket(), profile))
    received = scripted.wait_for(sent + 4 * 3 * 3)
    assert scripted.queries == [1, 2, 4] * 4
    job = received.rsplit(b"\x10\x04\x04", 1)[1]
    assert PATIENT in decode(job, profile).text


def test_second_open_of_a_taken_port_is_unavailable(pty_pair: PtyPair) -> None:
    with open_printer(pty_pair.host):
        with pytest.raises(PrinterUnavailable, match="đang được chương trình khác sử dụng"):
            open_printer(pty_pair.host)


def test_write_timeout_when_nobody_reads(pty_pair: PtyPair) -> None:
    with open_printer(f"serial://{pty_pair.host}?write_timeout=0.3") as printer:
        started = time.monotonic()
        with pytest.raises(PrinterTimeout):
            printer.write(b"\x00" * 2_000_000)
    assert time.monotonic() - started < 3


def _interrupted_write(printer: Printer, interrupt: Callable[[], None]) -> list[PrinterError]:
    """Start a write that blocks on the full pty, call *interrupt*, return what it raised."""
    errors: list[PrinterError] = []

    def writer() -> None:
        try:
            printer.write(b"\x00" * 2_000_000)
        except PrinterError as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive(), "the write should be blocked on the full pty"
    interrupt()
    thread.join(timeout=5)
    assert not thread.is_alive()
    return errors


def test_socat_dying_mid_write_raises_printer_error(pty_pair: PtyPair) -> None:
    with open_printer(f"serial://{pty_pair.host}?write_timeout=10") as printer:
        errors = _interrupted_write(printer, pty_pair.kill)
    assert len(errors) == 1 and isinstance(errors[0], PrinterUnavailable), errors
    assert "Mất kết nối với máy in" in str(errors[0])


def test_closing_the_port_mid_write_raises_printer_error(pty_pair: PtyPair) -> None:
    printer = open_printer(f"serial://{pty_pair.host}?write_timeout=10")
    errors = _interrupted_write(printer, printer.close)
    assert len(errors) == 1 and isinstance(errors[0], PrinterUnavailable), errors
    assert "bị ngắt giữa chừng" in str(errors[0])
