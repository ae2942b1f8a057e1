"""Layouts decoded back: the Vietnamese patient name survives on 80 and 58 mm."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from PIL import Image

from printers import (
    Document,
    PrinterProfile,
    ReceiptData,
    ReceiptItem,
    decode,
    format_date,
    format_money,
    get_profile,
    layout_follow_up,
    layout_prescription,
    layout_receipt,
    layout_ticket,
)
from printers.layouts import format_datetime
from tests.printers.conftest import (
    PATIENT,
    VIETQR,
    make_follow_up,
    make_prescription,
    make_receipt,
    make_ticket,
)

LAYOUTS: dict[str, Callable[[PrinterProfile, bool], Document]] = {
    "ticket": lambda p, r: layout_ticket(make_ticket(r), p),
    "receipt": lambda p, r: layout_receipt(make_receipt(r), p),
    "prescription": lambda p, r: layout_prescription(make_prescription(reprint=r), p),
    "follow_up": lambda p, r: layout_follow_up(make_follow_up(r), p),
}
QR_OF = {"ticket": "V-2025-000123", "receipt": VIETQR, "prescription": "DT-2025-000777", "follow_up": "HEN-2025-000055"}


@pytest.fixture(params=["80", "58"])
def text_profile(request: pytest.FixtureRequest, epson: PrinterProfile, tcvn_58: PrinterProfile) -> PrinterProfile:
    """Return a TCVN-3 text profile of each paper width."""
    return epson if request.param == "80" else tcvn_58


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_round_trip_keeps_patient_name(layout: str, text_profile: PrinterProfile) -> None:
    decoded = decode(LAYOUTS[layout](text_profile, False).to_bytes(), text_profile)
    assert any(PATIENT in line.text for line in decoded.lines), decoded.text
    assert decoded.qr_payloads == [QR_OF[layout]]
    assert decoded.cut
    assert not decoded.images and not decoded.unknown
    assert "\ufffd" not in decoded.text
    width = text_profile.columns_a
    assert all(len(line.text) * line.style.width <= width for line in decoded.lines)
    assert "BẢN IN LẠI" not in decoded.text


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_reprint_is_prominent(layout: str, text_profile: PrinterProfile) -> None:
    decoded = decode(LAYOUTS[layout](text_profile, True).to_bytes(), text_profile)
    banner = [line for line in decoded.lines if line.text == "BẢN IN LẠI"]
    assert banner and banner[0].style.width == 2 and banner[0].style.height == 2 and banner[0].style.bold


def test_ticket_content(epson: PrinterProfile) -> None:
    decoded = decode(layout_ticket(make_ticket(), epson).to_bytes(), epson)
    number = next(line for line in decoded.lines if line.text == "17")
    assert number.style.width == 4 and number.style.align == "center"
    assert "25/11/2025 08:15" in decoded.text and "Phòng khám số 2" in decoded.text
    assert "TRẠM Y TẾ XÃ HƯƠNG SƠN" in decoded.text


def test_receipt_totals_and_money_format(epson: PrinterProfile) -> None:
    decoded = decode(layout_receipt(make_receipt(), epson).to_bytes(), epson)
    texts = [line.text for line in decoded.lines]
    total = next(t for t in texts if t.startswith("Tổng cộng:"))
    assert total.endswith("125.000 đ")
    assert next(t for t in texts if t.startswith("BHYT chi trả:")).endswith("100.000 đ")
    assert next(t for t in texts if t.startswith("Người bệnh trả:")).endswith("25.000 đ")
    assert "Số thẻ BHYT: GD4404012345678" in texts


def test_receipt_rejects_shares_that_do_not_add_up() -> None:
    with pytest.raises(ValueError):
        ReceiptData("Trạm", "BL-1", datetime(2025, 1, 1), "A", [ReceiptItem("x", 1, 10, 10)], 10, 5, 4)


def test_prescription_lines_and_follow_up_date(epson: PrinterProfile) -> None:
    decoded = decode(layout_prescription(make_prescription(), epson).to_bytes(), epson)
    assert "1. Paracetamol 500mg" in decoded.text
    assert "Dùng trong 7 ngày" in decoded.text
    assert "Hẹn tái khám: 02/12/2025" in decoded.text


def test_500_line_prescription_renders(epson: PrinterProfile) -> None:
    payload = layout_prescription(make_prescription(lines=500), epson).to_bytes()
    decoded = decode(payload, epson)
    assert decoded.text.count("Dùng trong") == 500
    assert decoded.qr_payloads == ["DT-2025-000777"]


def test_layout_on_generic_58_rasterises_vietnamese_lines_only() -> None:
    profile = get_profile("generic-58")
    decoded = decode(layout_ticket(make_ticket(), profile).to_bytes(), profile)
    assert "17" in [line.text for line in decoded.lines]
    assert "25/11/2025 08:15" in decoded.text
    assert decoded.images and all(img.width <= profile.dots for img in decoded.images)
    assert PATIENT not in decoded.text


@pytest.mark.parametrize("name", ["epson-tm-t20ii", "epson-tm-t88", "generic-58"])
def test_png_preview_has_paper_width(name: str) -> None:
    profile = get_profile(name)
    decoded = decode(layout_receipt(make_receipt(), profile).to_bytes(), profile)
    png = decoded.preview_png()
    assert png.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(png))
    assert image.width == profile.dots
    assert image.height > 400
    assert image.convert("L").getextrema()[0] == 0


def test_formatting_helpers() -> None:
    assert format_money(125000) == "125.000 đ"
    assert format_money(Decimal("1234567")) == "1.234.567 đ"
    assert format_money(0) == "0 đ"
    assert format_money(-5000) == "-5.000 đ"
    with pytest.raises(ValueError):
        format_money(Decimal("10.5"))
    assert format_date(datetime(2025, 3, 7, 23, 0)) == "07/03/2025"
    assert format_datetime(datetime(2025, 3, 7, 17, 30, tzinfo=timezone.utc)) == "08/03/2025 00:30"


def test_prescribed_quantities_under_ten_have_a_leading_zero():
    from decimal import Decimal

    from printers.layouts import format_prescribed_quantity

    assert format_prescribed_quantity(5) == "05"
    assert format_prescribed_quantity(Decimal("2.5")) == "02,5"
    assert format_prescribed_quantity(10) == "10"
    assert format_prescribed_quantity(30) == "30"
