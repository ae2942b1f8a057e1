"""Golden and behavioural byte tests of the encoder."""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image

from printers import Document, PrinterProfile, decode, get_profile
from printers.escpos import encode_text_line

INIT = b"\x1b@"


def test_empty_document_is_just_init(epson: PrinterProfile) -> None:
    assert Document(epson).to_bytes() == INIT


def test_startup_commands_follow_init() -> None:
    assert Document(get_profile("xprinter-80")).to_bytes() == INIT + b"\x1c\x2e"


def test_ascii_line_needs_no_code_page(epson: PrinterProfile) -> None:
    assert Document(epson).text("Hello").to_bytes() == INIT + b"Hello\n"


def test_tcvn3_switches_lower_and_upper_page_inside_a_line(epson: PrinterProfile) -> None:
    payload = Document(epson).text("Đặng Văn Ệ").to_bytes()
    assert payload == INIT + b"\x1bt\x1f\xa7\x1bt\x1e\xc6ng V\xa8n \x1bt\x1f\xd6\n"


def test_page_is_kept_across_lines_when_it_still_fits(epson: PrinterProfile) -> None:
    payload = Document(epson).text("ệ").text("ố").to_bytes()
    assert payload == INIT + b"\x1bt\x1e\xd6\n\xe8\n"


def test_style_commands_are_emitted_only_on_change(epson: PrinterProfile) -> None:
    doc = Document(epson)
    doc.text("A", align="center", bold=True).text("B", align="center", bold=True).text("C")
    assert doc.to_bytes() == INIT + b"\x1ba\x01\x1bE\x01A\nB\n\x1ba\x00\x1bE\x00C\n"


def test_double_size_uses_gs_exclamation(epson: PrinterProfile) -> None:
    payload = Document(epson).text("12", width=2, height=2).text("x").to_bytes()
    assert payload == INIT + b"\x1d!\x1112\n\x1d!\x00x\n"


def test_font_b_and_feed(epson: PrinterProfile) -> None:
    payload = Document(epson).text("b", font="b").feed(3).to_bytes()
    assert payload == INIT + b"\x1bM\x01b\n\x1bd\x03"


def test_cut_feeds_then_partial_or_full_cut(epson: PrinterProfile) -> None:
    assert Document(epson).cut().to_bytes() == INIT + b"\x1bd\x04\x1dV\x01"
    assert Document(epson).cut(partial=False, feed=0).to_bytes() == INIT + b"\x1dV\x00"


def test_no_cutter_means_feed_only(epson: PrinterProfile) -> None:
    profile = dataclasses.replace(epson, cutter=False)
    assert Document(profile).cut().to_bytes() == INIT + b"\x1bd\x04"


def test_native_qr_golden(epson: PrinterProfile) -> None:
    payload = Document(epson).qr("ABC", module=5, ec="Q").to_bytes()
    assert payload == INIT + (
        b"\x1ba\x01"
        b"\x1d(k\x04\x00\x31\x41\x32\x00"
        b"\x1d(k\x03\x00\x31\x43\x05"
        b"\x1d(k\x03\x00\x31\x45\x32"
        b"\x1d(k\x06\x00\x31\x50\x30ABC"
        b"\x1d(k\x03\x00\x31\x51\x30\n"
    )


def test_qr_without_native_support_is_a_raster_image() -> None:
    profile = get_profile("generic-58")
    payload = Document(profile).qr("V-2025-000123").to_bytes()
    assert b"\x1d(k" not in payload and b"\x1dv0\x00" in payload
    decoded = decode(payload, profile)
    assert len(decoded.images) == 1 and decoded.images[0].width <= profile.dots


def test_code128_barcode_golden(epson: PrinterProfile) -> None:
    payload = Document(epson).barcode("BN-42", height=50, module=2).to_bytes()
    assert payload == INIT + b"\x1ba\x01\x1dh\x32\x1dw\x02\x1dH\x02\x1dkI\x07{BBN-42"
    assert decode(payload, epson).barcodes == ["BN-42"]


def test_barcode_rejects_non_ascii(epson: PrinterProfile) -> None:
    with pytest.raises(ValueError):
        Document(epson).barcode("Đ1")


def test_raster_image_header_and_bits(epson: PrinterProfile) -> None:
    image = Image.new("1", (10, 2), 1)
    image.putpixel((0, 0), 0)
    image.putpixel((9, 1), 0)
    payload = Document(epson).image(image, align="left").to_bytes()
    assert payload == INIT + b"\x1dv0\x00\x02\x00\x02\x00" + bytes([0x80, 0x00, 0x00, 0x40])


def test_tall_raster_is_split_into_fragments(epson: PrinterProfile) -> None:
    payload = Document(epson).image(Image.new("1", (16, 600), 0), align="left").to_bytes()
    assert payload.count(b"\x1dv0\x00") == 3
    assert sum(img.height for img in decode(payload, epson).images) == 600


def test_long_text_wraps_to_columns(epson: PrinterProfile) -> None:
    text = "Uống thuốc sau ăn no, mỗi lần một viên, ngày hai lần, " * 4
    doc = Document(epson).text(text, indent=2)
    lines = decode(doc.to_bytes(), epson).lines
    assert len(lines) > 1
    assert all(len(line.text) <= 48 for line in lines)
    assert all(line.text.startswith("  ") for line in lines[1:])
    assert " ".join(part.strip() for part in (line.text for line in lines)) == text.strip()


def test_double_width_halves_columns(epson: PrinterProfile) -> None:
    lines = decode(Document(epson).text("X" * 30, width=2).to_bytes(), epson).lines
    assert [len(line.text) for line in lines] == [24, 6]


def test_pair_puts_amount_flush_right(epson: PrinterProfile) -> None:
    line = decode(Document(epson).pair("Tổng cộng:", "125.000 đ").to_bytes(), epson).lines[0]
    assert len(line.text) == 48 and line.text.startswith("Tổng cộng:") and line.text.endswith("125.000 đ")


def test_nfd_input_is_normalised(epson: PrinterProfile) -> None:
    decomposed = "Nguye\u0302\u0303n"
    assert decode(Document(epson).text(decomposed).to_bytes(), epson).text == "Nguyễn"


def test_foreign_characters_fall_back_to_raster_for_that_line_only(epson: PrinterProfile) -> None:
    doc = Document(epson).text("Họ tên: Trương Văn Đức").text("Tên gốc: 张伟").text("Hết")
    decoded = decode(doc.to_bytes(), epson)
    assert [line.text for line in decoded.lines] == ["Họ tên: Trương Văn Đức", "Hết"]
    assert len(decoded.images) == 1


def test_raster_strategy_turns_runs_of_text_into_one_image(epson: PrinterProfile) -> None:
    profile = dataclasses.replace(epson, strategy="raster")
    doc = Document(profile).text("Dòng một").text("Dòng hai", bold=True).qr("Q1").text("Sau QR").cut()
    decoded = decode(doc.to_bytes(), profile)
    assert decoded.lines == [] or all(line.text == "" for line in decoded.lines)
    assert len(decoded.images) == 2
    assert decoded.images[0].width == profile.dots
    assert decoded.qr_payloads == ["Q1"] and decoded.cut


def test_raster_lines_strategy_keeps_ascii_lines_as_text() -> None:
    profile = get_profile("generic-58")
    doc = Document(profile).text("Ma BN: 000123").text("Nguyễn Thị Hồng Nhung")
    decoded = decode(doc.to_bytes(), profile)
    assert [line.text for line in decoded.lines] == ["Ma BN: 000123"]
    assert len(decoded.images) == 1


def test_encode_text_line_reports_unprintable(epson: PrinterProfile) -> None:
    assert encode_text_line("张", epson, None) is None
    assert encode_text_line("abc", epson, 30) == (b"abc", 30)
