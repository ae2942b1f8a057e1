"""Fixtures for printer tests: sample data, profiles and a socat pseudo-terminal pair."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest

from printers import (
    FollowUpSlipData,
    PrescriptionLine,
    PrescriptionSlipData,
    PrinterProfile,
    ReceiptData,
    ReceiptItem,
    TicketData,
    get_profile,
    profile_from_config,
)

PATIENT = "Nguyễn Thị Hồng Nhung"
STATION = "Trạm Y tế xã Hương Sơn"
VIETQR = (
    "00020101021238570010A00000072701270006970422011301234567890120208QRIBFTTA"
    "530370454061250005802VN62150811BL2025004263046A1F"
)


@dataclass
class PtyPair:
    """The two ends of a socat pty pair and the socat process."""

    host: str
    printer: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """Stop socat (both pty masters close)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=5)


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    """Start ``socat -d -d pty,raw,echo=0 pty,raw,echo=0`` and yield its two ends."""
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed (Debian package 'socat'); pty tests need it")
    process = subprocess.Popen(
        [socat, "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    paths: list[str] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        line = process.stderr.readline().decode(errors="replace")
        if not line:
            break
        match = re.search(r"PTY is (/dev/pts/\d+)", line)
        if match:
            paths.append(match.group(1))
        if "starting data transfer loop" in line:
            break
    if len(paths) != 2:
        process.kill()
        process.wait()
        pytest.fail(f"could not parse socat pty paths: {paths}")
    pair = PtyPair(host=paths[0], printer=paths[1], process=process)
    try:
        yield pair
    finally:
        pair.kill()
        process.stderr.close()


@pytest.fixture
def epson() -> PrinterProfile:
    """Return the genuine Epson 80 mm profile (TCVN-3 on ESC t 30/31)."""
    return get_profile("epson-tm-t20ii")


@pytest.fixture
def tcvn_58() -> PrinterProfile:
    """Return a 58 mm profile with TCVN-3 pages, as a station would configure it."""
    return profile_from_config(
        {
            "name": "clone-58-tcvn",
            "base": "generic-58",
            "code_pages": {"0": "CP437", "30": "TCVN-3-1", "31": "TCVN-3-2"},
            "strategy": "tcvn3",
            "native_qr": True,
        }
    )


def make_ticket(reprint: bool = False) -> TicketData:
    """Return a queue ticket."""
    return TicketData(
        station_name=STATION, room="Phòng khám số 2", number=17, patient_name=PATIENT,
        issued_at=datetime(2025, 11, 25, 8, 15), visit_key="V-2025-000123", reprint=reprint,
    )


def make_receipt(reprint: bool = False, items: int = 6) -> ReceiptData:
    """Return a receipt with *items* lines and a VietQR payload."""
    lines = [
        ReceiptItem("Khám bệnh ngoại trú", 1, 34500, 34500),
        ReceiptItem("Paracetamol 500mg viên nén", 20, 500, 10000),
        ReceiptItem("Amoxicillin 500mg viên nang", 21, 1500, 31500),
        ReceiptItem("Xét nghiệm đường huyết mao mạch", 1, 20000, 20000),
        ReceiptItem("Oresol gói pha 1 lít", Decimal("5"), 3000, 15000),
        ReceiptItem("Băng dính y tế cuộn", 1, 14000, 14000),
    ][:items]
    total = sum(int(i.amount) for i in lines)
    return ReceiptData(
        station_name=STATION, receipt_number="BL-2025-000426", issued_at=datetime(2025, 11, 25, 9, 5),
        patient_name=PATIENT, items=lines, total=total, insurance_share=total - 25000,
        patient_share=25000, patient_code="BN-000123", insurance_card="GD4404012345678",
        station_address="Thôn Đông, xã Hương Sơn, Hà Tĩnh", cashier="Lê Thị Ánh",
        vietqr_payload=VIETQR, reprint=reprint,
    )


def make_prescription(lines: int = 3, reprint: bool = False) -> PrescriptionSlipData:
    """Return a prescription slip with *lines* drugs."""
    drugs = [
        PrescriptionLine("Paracetamol", 20, "viên", "Uống 1 viên khi sốt trên 38,5 độ, cách nhau ít nhất 4 giờ", 5, "500mg"),
        PrescriptionLine("Amoxicillin", 21, "viên", "Sáng 1 viên, trưa 1 viên, tối 1 viên sau ăn", 7, "500mg"),
        PrescriptionLine("Vitamin C", 10, "viên", "Sáng 1 viên", 10, "100mg"),
    ]
    return PrescriptionSlipData(
        station_name=STATION, prescription_code="DT-2025-000777", issued_at=datetime(2025, 11, 25, 10, 0),
        patient_name=PATIENT, lines=[drugs[i % 3] for i in range(lines)], prescriber="Bs. Phạm Quốc Việt",
        patient_detail="Nữ, sinh năm 1986", diagnosis="Viêm họng cấp (J02.9)",
        advice="Uống nhiều nước, ăn đồ mềm, tái khám ngay nếu sốt cao không giảm.",
        follow_up_date=date(2025, 12, 2), reprint=reprint,
    )


def make_follow_up(reprint: bool = False) -> FollowUpSlipData:
    """Return a follow-up appointment slip."""
    return FollowUpSlipData(
        station_name=STATION, patient_name=PATIENT, appointment_date=date(2025, 12, 2),
        issued_at=datetime(2025, 11, 25, 10, 5), appointment_time="08:00", room="Phòng khám số 2",
        reason="Kiểm tra huyết áp", code="HEN-2025-000055", reprint=reprint,
    )
