"""TCVN-3 tables and the round trip of every Vietnamese letter through each text strategy."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import unicodedata
from pathlib import Path

import pytest

from printers import Document, PrinterProfile, decode, get_profile, profile_from_config
from printers.codepages import (
    TCVN3_LOWER,
    TCVN3_UPPER,
    VIETNAMESE_LETTERS,
    decode_table,
    encode_table,
    fold_diacritics,
)


def _escpos_db_tables() -> dict[str, list[str]]:
    """Read the TCVN-3 rows from python-escpos's bundled capabilities.json (no import side effects)."""
    spec = importlib.util.find_spec("escpos")
    assert spec is not None and spec.submodule_search_locations
    path = Path(list(spec.submodule_search_locations)[0]) / "capabilities.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: data["encodings"][name]["data"] for name in (TCVN3_LOWER, TCVN3_UPPER)}


def test_there_are_67_plus_67_letters() -> None:
    lower = [c for c in VIETNAMESE_LETTERS if c.islower()]
    upper = [c for c in VIETNAMESE_LETTERS if c.isupper()]
    assert len(lower) == 67 and len(upper) == 67
    assert len(set(VIETNAMESE_LETTERS)) == 134
    assert "đ" in lower and "Đ" in upper and "ự" in lower and "Ỵ" in upper
    assert all(unicodedata.is_normalized("NFC", c) for c in VIETNAMESE_LETTERS)


def test_tables_match_escpos_printer_db() -> None:
    for name, rows in _escpos_db_tables().items():
        expected = {
            0x80 + 16 * r + c: ("Đ" if ch == "Ð" else ch)
            for r, row in enumerate(rows)
            for c, ch in enumerate(row)
            if ch != " "
        }
        assert dict(decode_table(name)) == expected


def test_tcvn3_pages_cover_every_letter_once() -> None:
    lower, upper = encode_table(TCVN3_LOWER), encode_table(TCVN3_UPPER)
    for char in VIETNAMESE_LETTERS:
        table = lower if char.islower() else upper
        assert char in table, char
    assert lower["ệ"] == 0xD6 and upper["Ệ"] == 0xD6
    assert lower["đ"] == 0xAE and upper["Đ"] == 0xA7


def _xprinter_both_cases() -> PrinterProfile:
    """A clone configured with TCVN-3 on 27 (lower) and 28 (upper)."""
    return profile_from_config(
        {"name": "xp-custom", "base": "xprinter-80", "code_pages": {"0": "CP437", "27": "TCVN-3-1", "28": "TCVN-3-2"}}
    )


TEXT_PROFILES = {
    "epson-tm-t20ii": lambda: get_profile("epson-tm-t20ii"),
    "epson-tm-t88": lambda: get_profile("epson-tm-t88"),
    "xprinter-27-28": _xprinter_both_cases,
    "epson-raster-lines": lambda: dataclasses.replace(get_profile("epson-tm-t20ii"), strategy="raster_lines"),
}


@pytest.mark.parametrize("profile_name", sorted(TEXT_PROFILES))
def test_every_letter_round_trips_as_text(profile_name: str) -> None:
    profile = TEXT_PROFILES[profile_name]()
    doc = Document(profile)
    for char in VIETNAMESE_LETTERS:
        doc.text(f"[{char}]")
    doc.text(" ".join(VIETNAMESE_LETTERS))
    decoded = decode(doc.to_bytes(), profile)
    assert not decoded.images, "a letter was rasterised instead of printed as text"
    texts = [line.text for line in decoded.lines]
    assert texts[:134] == [f"[{c}]" for c in VIETNAMESE_LETTERS]
    assert " ".join(texts[134:]) == " ".join(VIETNAMESE_LETTERS)
    assert "\ufffd" not in decoded.text


def test_every_letter_round_trips_without_diacritics_under_ascii() -> None:
    profile = dataclasses.replace(get_profile("generic-58"), strategy="ascii")
    doc = Document(profile)
    for char in VIETNAMESE_LETTERS:
        doc.text(char)
    payload = doc.to_bytes()
    assert all(b < 0x80 for b in payload if b not in (0x1B, 0x1D))
    decoded = decode(payload, profile)
    base = {"đ": "d", "Đ": "D"}
    expected = [base.get(c, unicodedata.normalize("NFD", c)[0]) for c in VIETNAMESE_LETTERS]
    assert [line.text for line in decoded.lines] == expected


def test_fold_diacritics_replaces_foreign_letters_with_question_mark() -> None:
    assert fold_diacritics("Trương Văn Đức 张伟") == "Truong Van Duc ??"
    assert fold_diacritics("Giá – 5.000₫ “VNĐ”") == 'Gia - 5.000d "VND"'


def test_xprinter_builtin_rasterises_only_lines_needing_upper_case_tones() -> None:
    profile = get_profile("xprinter-80")
    doc = Document(profile).text("Nguyễn Thị Hồng").text("ĐƠN THUỐC").text("Bảng giá")
    decoded = decode(doc.to_bytes(), profile)
    assert [line.text for line in decoded.lines] == ["Nguyễn Thị Hồng", "Bảng giá"]
    assert len(decoded.images) == 1
    assert decoded.pages_used == {27}
