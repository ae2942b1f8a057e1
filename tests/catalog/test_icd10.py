"""Tests of the ICD-10 catalogue: WHO load, Vietnamese titles import, search index, versions."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest

from station.catalog.icd10 import (
    ICD10_VERSIONS,
    SAMPLE_VI_TITLES,
    CatalogImportError,
    CatalogVersion,
    IcdEntry,
    IcdError,
    IcdIndex,
    compact_code,
    display_code,
    load_vietnamese_titles,
    load_who_icd10,
    merge_titles,
    version_for,
    xml_code,
)

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Encode *text* the way Windows-1258 files store it: base letter, then a combining tone mark."""
    out: list[str] = []
    for ch in text:
        try:
            ch.encode("cp1258")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        out.append(base + "".join(c for c in parts if c in _TONE_MARKS))
    return "".join(out).encode("cp1258")


@pytest.fixture(scope="module")
def who() -> list[IcdEntry]:
    """Return the WHO entries (loaded once per module)."""
    return load_who_icd10()


@pytest.fixture(scope="module")
def index(who: list[IcdEntry]) -> IcdIndex:
    """Return an index of WHO codes with the sample Vietnamese titles."""
    return IcdIndex(merge_titles(who, load_vietnamese_titles(SAMPLE_VI_TITLES)))


def _codes(entries: list[IcdEntry]) -> list[str]:
    """Return the codes of *entries*."""
    return [e.code for e in entries]


# --- WHO load and code forms -----------------------------------------------------------------


def test_who_load_has_all_codes(who: list[IcdEntry]) -> None:
    assert len(who) > 10_000
    by_code = {e.code: e for e in who}
    j069 = by_code["J06.9"]
    assert j069.title_en == "Acute upper respiratory infection, unspecified"
    assert (j069.chapter, j069.block, j069.leaf, j069.title_vi) == ("X", "J00-J06", True, None)
    assert by_code["J06"].leaf is False
    assert "B18.00" in by_code  # five-character WHO codes are kept whole
    assert all("-" not in e.code for e in who)  # chapters and blocks are not codes


@pytest.mark.parametrize(
    ("typed", "compact", "display"),
    [("j06.9", "J069", "J06.9"), (" J069 ", "J069", "J06.9"), ("i10", "I10", "I10"), ("b18.00", "B1800", "B18.00")],
)
def test_code_forms(typed: str, compact: str, display: str) -> None:
    assert compact_code(typed) == compact
    assert display_code(typed) == display
    assert xml_code(typed) == display
    assert len(xml_code(typed)) <= 7


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["j06", "J06", "j06.", "J06.9", "J069", "j06.9"])
def test_code_queries_find_the_code_first(index: IcdIndex, query: str) -> None:
    results = index.search(query)
    expected = "J06.9" if "9" in query else "J06"
    assert results[0].code == expected
    assert all(e.compact.startswith(compact_code(query)) for e in results)


def test_code_prefix_ranks_exact_then_shorter(index: IcdIndex) -> None:
    codes = _codes(index.search("e11"))
    assert codes[0] == "E11"
    assert codes[1:] == sorted(codes[1:])
    assert set(codes) >= {"E11.0", "E11.9"}
    first = _codes(index.search("j0", limit=15))
    assert first[:8] == ["J00", "J01", "J02", "J03", "J04", "J05", "J06", "J09"]  # shorter codes first
    assert all(len(code) == 5 for code in first[8:])


def test_vietnamese_search_ignores_diacritics_and_case(index: IcdIndex) -> None:
    variants = ["viêm họng", "viem hong", "VIEM HONG", "Viêm Họng", unicodedata.normalize("NFD", "viêm họng")]
    results = [_codes(index.search(q)) for q in variants]
    assert all(r == results[0] for r in results)
    # Titles with both words come first: "Viêm mũi họng cấp" and "Viêm họng cấp".
    assert set(results[0][:2]) == {"J00", "J02.9"}


def test_english_and_vietnamese_titles_are_both_searched(index: IcdIndex) -> None:
    assert "J06.9" in _codes(index.search("upper respiratory"))
    assert "J06.9" in _codes(index.search("nhiễm trùng hô hấp trên"))
    assert "J06.9" in _codes(index.search("nhiem trung ho hap tren"))
    assert _codes(index.search("sốt xuất huyết"))[0] == "A91"


def test_title_ranking_all_words_then_leaf_then_shorter() -> None:
    entries = [
        IcdEntry("Q01", "Foo bar", None, "XVII", "Q00-Q07", leaf=False),
        IcdEntry("Q01.1", "Foo bar baz", None, "XVII", "Q00-Q07", leaf=False),
        IcdEntry("Q01.12", "Foo baz", None, "XVII", "Q00-Q07", leaf=True),
        IcdEntry("Q02", "Foo", None, "XVII", "Q00-Q07", leaf=True),
    ]
    index = IcdIndex(entries)
    assert _codes(index.search("foo")) == ["Q02", "Q01.12", "Q01", "Q01.1"]
    assert _codes(index.search("foo baz")) == ["Q01.12", "Q01.1", "Q02", "Q01"]
    assert _codes(index.search("fo ba", limit=2)) == ["Q01.12", "Q01"]


def test_search_limit_and_empty(index: IcdIndex) -> None:
    assert len(index.search("disease", limit=7)) == 7
    assert index.search("   ") == []
    assert index.search("fever", limit=0) == []
    assert index.search("zzzzqqq") == []


# --- validation ------------------------------------------------------------------------------


def test_validate_code(index: IcdIndex) -> None:
    assert index.validate_code("j069").code == "J06.9"
    with pytest.raises(IcdError, match=r"^Mã ICD-10 không có trong danh mục: X99\.9$"):
        index.validate_code("X99.9")
    with pytest.raises(IcdError, match="không đúng định dạng"):
        index.validate_code("12345")


def test_column_26_and_27_codes(who: list[IcdEntry], tmp_path: Path) -> None:
    path = tmp_path / "tt06.csv"
    path.write_text("Mã,Tên,Cột 26,Cột 27\nR99,Tử vong không rõ nguyên nhân,,x\nR69,Bệnh không xác định,x,\n",
                    encoding="utf-8")
    index = IcdIndex(merge_titles(who, load_vietnamese_titles(path)))
    with pytest.raises(IcdError, match="cột 26"):
        index.validate_code("R69")
    with pytest.raises(IcdError, match="nguyên nhân tử vong"):
        index.validate_code("R99")
    assert index.validate_code("R99", cause_of_death=True).code == "R99"


# --- Vietnamese titles import ----------------------------------------------------------------

_ROWS = "code,title_vi\nJ02.9,\"Viêm họng cấp, không đặc hiệu\"\nI10,Tăng huyết áp vô căn (nguyên phát)\nK29.7,Đau dạ dày\n"


@pytest.mark.parametrize(
    ("payload", "encoding"),
    [
        (b"\xef\xbb\xbf" + _ROWS.encode("utf-8"), "UTF-8 (có BOM)"),
        (_ROWS.encode("utf-8"), "UTF-8"),
        (to_cp1258(_ROWS), "Windows-1258"),
        (unicodedata.normalize("NFD", _ROWS).encode("utf-8"), "UTF-8"),
    ],
)
def test_import_detects_encoding(tmp_path: Path, payload: bytes, encoding: str) -> None:
    path = tmp_path / "icd.csv"
    path.write_bytes(payload)
    result = load_vietnamese_titles(path)
    assert result.encoding == encoding
    assert result.titles == {
        "J029": "Viêm họng cấp, không đặc hiệu",
        "I10": "Tăng huyết áp vô căn (nguyên phát)",
        "K297": "Đau dạ dày",
    }
    assert all(unicodedata.is_normalized("NFC", t) for t in result.titles.values())


def test_windows_1258_file_is_not_valid_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        to_cp1258(_ROWS).decode("utf-8")


def test_import_semicolons_without_header_and_blocks(tmp_path: Path) -> None:
    path = tmp_path / "icd.csv"
    path.write_text("# danh mục thử\nJ00-J06;Nhiễm trùng hô hấp trên cấp\nJ00;Viêm mũi họng cấp [cảm thường]\n\n",
                    encoding="utf-8")
    result = load_vietnamese_titles(path)
    assert result.titles == {"J00": "Viêm mũi họng cấp [cảm thường]"}
    assert result.skipped_blocks == 1


def test_import_reports_bad_rows_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "icd.csv"
    path.write_text(
        "code,title_vi\n"  # line 1
        "J00,Viêm mũi họng cấp\n"  # line 2
        "J6,Mã sai\n"  # line 3
        "I10,\n"  # line 4
        "# ghi chú\n"  # line 5
        "K29.7\n"  # line 6
        "J00,Tên khác\n"  # line 7
        ",Không có mã\n",  # line 8
        encoding="utf-8",
    )
    with pytest.raises(CatalogImportError) as caught:
        load_vietnamese_titles(path)
    assert caught.value.errors == [
        "Dòng 3: mã ICD-10 không đúng định dạng: 'J6'.",
        "Dòng 4: mã I10 thiếu tên tiếng Việt.",
        "Dòng 6: thiếu cột tên bệnh (cần 2 cột: mã, tên tiếng Việt).",
        "Dòng 7: mã J00 bị lặp với tên khác.",
        "Dòng 8: thiếu mã ICD-10.",
    ]
    assert "5 dòng lỗi" in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"", "không có dòng dữ liệu"), (b"J00,\x81\x8a\x8d bad", "Không nhận ra bảng mã")],
)
def test_import_rejects_empty_or_undecodable(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "icd.csv"
    path.write_bytes(payload)
    with pytest.raises(CatalogImportError, match=message):
        load_vietnamese_titles(path)


def test_sample_file_is_valid_and_merged(who: list[IcdEntry]) -> None:
    sample = load_vietnamese_titles(SAMPLE_VI_TITLES)
    assert sample.encoding == "UTF-8"
    assert 25 <= len(sample.titles) <= 40
    assert all(unicodedata.is_normalized("NFC", t) for t in sample.titles.values())
    merged = {e.code: e for e in merge_titles(who, sample)}
    assert merged["J06.9"].title_vi == "Nhiễm trùng đường hô hấp trên cấp, không đặc hiệu"
    assert merged["J06.9"].title_en == "Acute upper respiratory infection, unspecified"
    # A91 is in the Ministry's list (QĐ 4469) but not in WHO 2019, which moved dengue to A97.
    assert (merged["A91"].title_en, merged["A91"].chapter, merged["A91"].leaf) == ("", "I", True)


def test_merge_recomputes_leaves(who: list[IcdEntry]) -> None:
    from station.catalog.icd10 import VietnameseTitles

    merged = {e.code: e for e in merge_titles(who, VietnameseTitles({"J0690": "Mã mở rộng quốc gia"}, "UTF-8"))}
    assert merged["J06.90"].leaf is True
    assert merged["J06.9"].leaf is False
    assert (merged["J06.90"].chapter, merged["J06.90"].block) == ("X", "J00-J06")


# --- versions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2025, 12, 31), "QĐ 4469/QĐ-BYT"),
        (date(2026, 6, 30), "QĐ 4469/QĐ-BYT"),
        (datetime(2026, 6, 30, 23, 59), "QĐ 4469/QĐ-BYT"),
        (date(2026, 7, 1), "TT 06/2026/TT-BYT"),
        (datetime(2026, 7, 1, 0, 0), "TT 06/2026/TT-BYT"),
        (date(2030, 1, 1), "TT 06/2026/TT-BYT"),
    ],
)
def test_version_for_episode_date(day: date, name: str) -> None:
    assert version_for(day).name == name


def test_version_for_gaps_and_overlaps() -> None:
    with pytest.raises(LookupError, match="19/05/2019"):
        version_for(date(2019, 5, 19), ICD10_VERSIONS)
    overlapping = [CatalogVersion("A", date(2020, 1, 1)), CatalogVersion("B", date(2021, 1, 1))]
    with pytest.raises(LookupError, match="chồng lấn"):
        version_for(date(2022, 1, 1), overlapping)
