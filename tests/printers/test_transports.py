"""Transports without hardware: loop://, files, TCP on localhost and the fake."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from printers import (
    CoverOpen,
    FakeTransport,
    PaperOut,
    Printer,
    PrinterStatus,
    PrinterTimeout,
    PrinterUnavailable,
    decode,
    get_profile,
    layout_ticket,
    open_printer,
    query_status,
)
from printers.base import parse_status
from printers.serial import SerialTransport
from tests.printers.conftest import PATIENT, make_ticket


def test_loop_round_trip_of_a_ticket() -> None:
    with open_printer("loop://?baudrate=115200", "epson-tm-t20ii") as printer:
        assert isinstance(printer.transport, SerialTransport)
        assert printer.transport.port.baudrate == 115200
        payload = layout_ticket(make_ticket(), printer.profile).to_bytes()
        printer.write(payload)
        echoed = printer.transport.port.read(len(payload))
    assert echoed == payload
    assert PATIENT in decode(echoed, get_profile("epson-tm-t20ii")).text


def test_loop_status_is_not_a_valid_reply() -> None:
    with open_printer("loop://") as printer:
        started = time.monotonic()
        status = printer.status(timeout=0.05)
    assert status == PrinterStatus(responded=False, online=False)
    assert time.monotonic() - started < 1.0
    assert status.message == "Máy in không trả lời lệnh hỏi trạng thái."


def test_write_timeout_raises_printer_timeout() -> None:
    with open_printer("loop://?baudrate=9600&write_timeout=0.05") as printer:
        started = time.monotonic()
        with pytest.raises(PrinterTimeout) as info:
            printer.write(b"x" * 2000)
    assert time.monotonic() - started < 1.0
    assert "Máy in không nhận dữ liệu" in str(info.value)
    assert info.value.__cause__ is not None


def test_flow_control_options_reach_pyserial() -> None:
    with open_printer("loop://?rtscts=1&xonxoff=true&write_timeout=3") as printer:
        port = printer.transport.port  # type: ignore[attr-defined]
        assert port.rtscts and port.xonxoff and port.write_timeout == 3.0


@pytest.mark.parametrize("url", ["/dev/ttyNOPE-tram-y-te", "serial:///dev/ttyNOPE-tram-y-te?baudrate=19200"])
def test_missing_port_is_unavailable_in_vietnamese(url: str) -> None:
    with pytest.raises(PrinterUnavailable) as info:
        open_printer(url)
    assert "Không tìm thấy máy in ở cổng /dev/ttyNOPE-tram-y-te" in str(info.value)
    assert info.value.port == "/dev/ttyNOPE-tram-y-te"


def test_closed_transport_raises_unavailable() -> None:
    printer = open_printer("loop://")
    printer.close()
    printer.close()
    with pytest.raises(PrinterUnavailable):
        printer.write(b"x")


def test_file_transport_appends_jobs(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with open_printer(f"file://{target}", "epson-tm-t20ii") as printer:
        assert printer.print(b"one") == 3
        printer.print(b"two")
        assert not printer.status().responded
    assert target.read_bytes() == b"onetwo"


def test_file_transport_in_missing_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable):
        open_printer(f"file://{tmp_path}/missing/out.bin")


def test_unknown_scheme_is_rejected() -> None:
    with pytest.raises(ValueError, match="không hỗ trợ"):
        open_printer("ftp://printer/x")


class _FakeNetworkPrinter:
    """A localhost TCP server that records bytes and answers DLE EOT with one byte."""

    def __init__(self, status: int) -> None:
        """Listen on an ephemeral port."""
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.status = status
        self.received = bytearray()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        """Accept one connection and serve it until it closes."""
        conn, _ = self.server.accept()
        with conn:
            while chunk := conn.recv(4096):
                self.received += chunk
                for _ in range(chunk.count(b"\x10\x04")):
                    conn.sendall(bytes([self.status]))

    def close(self) -> None:
        """Stop listening."""
        self.server.close()
        self.thread.join(timeout=2)


@pytest.fixture
def network_printer() -> Iterator[_FakeNetworkPrinter]:
    """Yield a fake network printer answering "all OK"."""
    server = _FakeNetworkPrinter(0x12)
    yield server
    server.close()


def test_tcp_transport_prints_and_reads_status(network_printer: _FakeNetworkPrinter) -> None:
    profile = get_profile("epson-tm-t20ii")
    with open_printer(f"tcp://127.0.0.1:{network_printer.port}", profile) as printer:
        assert printer.status().ok
        sent = printer.print(layout_ticket(make_ticket(), profile))
    network_printer.thread.join(timeout=2)
    job = bytes(network_printer.received).rsplit(b"\x10\x04\x04", 1)[1]
    assert len(job) == sent
    assert PATIENT in decode(job, profile).text


def test_tcp_refused_is_unavailable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(PrinterUnavailable, match="Máy in"):
        open_printer(f"tcp://127.0.0.1:{port}")


def test_fake_transport_scripts_faults() -> None:
    fake = FakeTransport("label")
    printer = Printer(fake, get_profile("generic-58"))
    printer.print(b"job1")
    fake.status_bytes = {1: 0x1A, 2: 0x32, 4: 0x72}
    with pytest.raises(PaperOut, match="Máy in hết giấy"):
        printer.print(b"job2")
    fake.status_bytes = {1: 0x1A, 2: 0x16, 4: 0x12}
    with pytest.raises(CoverOpen):
        printer.print(b"job3")
    fake.status_bytes = {}
    fake.fail_next(PrinterTimeout())
    with pytest.raises(PrinterTimeout):
        printer.print(b"job4")
    printer.print(b"job5")
    assert fake.jobs == [b"job1", b"job5"]
    assert open_printer("fake://label").transport.name == "label"


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ((0x12, 0x12, 0x12), PrinterStatus(True, True)),
        ((0x12, 0x12, 0x1E), PrinterStatus(True, True, paper_near_end=True)),
        ((0x1A, 0x32, 0x72), PrinterStatus(True, False, paper_end=True)),
        ((0x1A, 0x16, 0x12), PrinterStatus(True, False, cover_open=True)),
        ((0x1A, 0x52, 0x12), PrinterStatus(True, False, error=True)),
        ((None, None, None), PrinterStatus(False, False)),
    ],
)
def test_parse_status(replies: tuple[int | None, int | None, int | None], expected: PrinterStatus) -> None:
    assert parse_status(*replies) == expected


def test_query_status_skips_rest_when_silent() -> None:
    fake = FakeTransport()
    fake.status_bytes = {}
    assert query_status(fake) == PrinterStatus(False, False)
    fake.status_bytes = {1: 0x12, 2: 0x12, 4: 0x72}
    status = query_status(fake)
    assert status.paper_end and not status.ok
    assert status.message == "Máy in hết giấy. Hãy thay cuộn giấy mới rồi in lại."
