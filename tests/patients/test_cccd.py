"""Tests for the CCCD QR parser and the 12-digit number checks."""

from __future__ import annotations

import json
import unicodedata
from datetime import date

import pytest

from station.patients import cccd
from station.patients.cccd import CccdQrError
from station.patients.cccd import parse_cccd_qr
from station.patients.cccd import validate_cccd_number

TODAY = date(2026, 10, 6)
# Male born 1990 (digit 4 = 0, digits 5-6 = 90), birth registered in Hà Nội (001).
OLD_CARD = "001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Phường Bến Nghé, TP. Hồ Chí Minh|15042021"
# Female born 1995 (digit 4 = 1), no old CMND.
NO_CMND = "079195001234||Trần Thị Bích|20071995|Nữ|Xã Tân Phú, Đồng Nai|02032022"


def nfd(text: str) -> str:
    """Return *text* in NFD, as some scanners send it."""
    return unicodedata.normalize("NFD", text)


def test_old_card_all_fields() -> None:
    card = parse_cccd_qr(OLD_CARD, today=TODAY)
    assert card.number == "001090123456"
    assert card.old_id == "012345678"
    assert card.full_name == "NGUYỄN VĂN AN"
    assert card.display_name == "Nguyễn Văn An"
    assert card.birth_date == date(1990, 1, 1)
    assert card.sex == "male"
    assert card.address == "Phường Bến Nghé, TP. Hồ Chí Minh"
    assert card.issue_date == date(2021, 4, 15)
    assert card.extra == []
    assert card.warnings == []
    assert card.birth_province == "Hà Nội"


def test_as_dict_is_json_friendly() -> None:
    data = parse_cccd_qr(OLD_CARD, today=TODAY).as_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["birth_date"] == "1990-01-01"
    assert data["issue_date"] == "2021-04-15"
    assert data["display_name"] == "Nguyễn Văn An"
    assert data["sex"] == "male"


def test_result_is_frozen() -> None:
    card = parse_cccd_qr(OLD_CARD, today=TODAY)
    with pytest.raises(AttributeError):
        card.number = "001090999999"  # type: ignore[misc]


def test_empty_old_id_is_kept_as_none() -> None:
    card = parse_cccd_qr(NO_CMND, today=TODAY)
    assert card.old_id is None
    assert card.full_name == "Trần Thị Bích"
    assert card.sex == "female"
    assert card.birth_date == date(1995, 7, 20)
    assert card.warnings == []


@pytest.mark.parametrize(
    "text",
    [
        OLD_CARD + "|",
        OLD_CARD + "||",
        OLD_CARD + "\r\n",
        "  " + OLD_CARD + " | ",
        OLD_CARD.replace("|", " | "),
        OLD_CARD.replace("Phường Bến Nghé", "Phường   Bến\tNghé"),
    ],
    ids=[
        "trailing-bar",
        "two-trailing-bars",
        "crlf",
        "outer-spaces",
        "spaces-around-bars",
        "inner-spaces",
    ],
)
def test_whitespace_and_trailing_separators_are_tolerated(text: str) -> None:
    card = parse_cccd_qr(text, today=TODAY)
    assert card == parse_cccd_qr(OLD_CARD, today=TODAY)


def test_nfd_input_is_normalised_to_nfc() -> None:
    card = parse_cccd_qr(nfd(NO_CMND), today=TODAY)
    assert card.full_name == "Trần Thị Bích"
    assert unicodedata.is_normalized("NFC", card.full_name)
    assert unicodedata.is_normalized("NFC", card.address)
    assert card.address == "Xã Tân Phú, Đồng Nai"
    assert card.sex == "female"


@pytest.mark.parametrize(
    ("scanned", "expected"),
    [
        ("NGUYỄN VĂN AN", "Nguyễn Văn An"),
        ("nguyễn văn an", "Nguyễn Văn An"),
        ("nGUYỄN vĂN aN", "Nguyễn Văn An"),
        ("ĐẶNG THỊ ÚT", "Đặng Thị Út"),
        ("NGUYEN VAN A", "Nguyen Van A"),
    ],
)
def test_name_kept_as_scanned_with_title_case_display(
    scanned: str, expected: str
) -> None:
    card = parse_cccd_qr(OLD_CARD.replace("NGUYỄN VĂN AN", scanned), today=TODAY)
    assert card.full_name == scanned
    assert card.display_name == expected


@pytest.mark.parametrize(
    ("word", "sex"),
    [
        ("Nam", "male"),
        ("NAM", "male"),
        ("nam", "male"),
        ("Nữ", "female"),
        ("NỮ", "female"),
        ("nữ", "female"),
        (nfd("Nữ"), "female"),
        ("Nu", "female"),
        ("NU", "female"),
    ],
)
def test_sex_in_any_case_and_normalisation(word: str, sex: str) -> None:
    number = "001090123456" if sex == "male" else "001190123456"
    text = f"{number}||A|01011990|{word}|Hà Nội|15042021"
    assert parse_cccd_qr(text, today=TODAY).sex == sex


def test_extra_trailing_fields_of_new_cards_are_kept() -> None:
    text = OLD_CARD + "|001085000111||Nguyễn Văn Bố|Lê Thị Mẹ|"
    card = parse_cccd_qr(text, today=TODAY)
    assert card.extra == ["001085000111", "", "Nguyễn Văn Bố", "Lê Thị Mẹ"]
    assert card.issue_date == date(2021, 4, 15)
    assert card.as_dict()["extra"] == card.extra


def test_six_fields_without_old_id_slot_are_read_with_a_warning() -> None:
    text = "001090123456|NGUYỄN VĂN AN|01011990|Nam|Hà Nội|15042021"
    card = parse_cccd_qr(text, today=TODAY)
    assert card.old_id is None
    assert card.full_name == "NGUYỄN VĂN AN"
    assert card.birth_date == date(1990, 1, 1)
    assert card.issue_date == date(2021, 4, 15)
    assert card.extra == []
    assert any("6 trường" in warning for warning in card.warnings)


@pytest.mark.parametrize(
    ("number", "birth", "sex", "fragment"),
    [
        (
            "001190123456",
            "01011990",
            "Nam",
            "Chữ số thứ 4 của số CCCD (1) không khớp giới tính nam",
        ),
        (
            "001090123456",
            "01011990",
            "Nữ",
            "Chữ số thứ 4 của số CCCD (0) không khớp giới tính nữ",
        ),
        ("001005123456", "01012005", "Nam", "(đúng ra là 2)"),
        (
            "001091123456",
            "01011990",
            "Nam",
            "Chữ số thứ 5–6 của số CCCD (91) không khớp năm sinh 1990",
        ),
        ("099090123456", "01011990", "Nam", "Mã tỉnh nơi đăng ký khai sinh “099”"),
        ("003090123456", "01011990", "Nam", "không thuộc danh sách 63 tỉnh"),
    ],
    ids=[
        "female-digit-for-man",
        "male-digit-for-woman",
        "wrong-century",
        "year-digits",
        "province-099",
        "province-003",
    ],
)
def test_number_mismatches_warn_but_do_not_reject(
    number: str, birth: str, sex: str, fragment: str
) -> None:
    card = parse_cccd_qr(f"{number}||A|{birth}|{sex}|Hà Nội|15042021", today=TODAY)
    assert card.number == number
    assert len(card.warnings) == 1
    assert fragment in card.warnings[0]


def test_born_2000s_with_matching_digit_has_no_warning() -> None:
    card = parse_cccd_qr(
        "038305000111||Lê Thị Hoa|29022004|Nữ|Thanh Hóa|10102022", today=TODAY
    )
    assert card.warnings == [
        "Chữ số thứ 5–6 của số CCCD (05) không khớp năm sinh 2004."
    ]
    card = parse_cccd_qr(
        "038304000111||Lê Thị Hoa|29022004|Nữ|Thanh Hóa|10102022", today=TODAY
    )
    assert card.birth_date == date(2004, 2, 29)
    assert card.warnings == []


def test_odd_old_id_warns() -> None:
    card = parse_cccd_qr(OLD_CARD.replace("012345678", "01234567"), today=TODAY)
    assert card.old_id == "01234567"
    assert card.warnings == [
        "Số CMND cũ trong mã QR không gồm 9 (hoặc 12) chữ số; đã giữ nguyên."
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            OLD_CARD.replace("001090123456", "00109012345"),
            "Số CCCD phải gồm đúng 12 chữ số (đã đọc: 11 chữ số).",
        ),
        (
            OLD_CARD.replace("001090123456", "0010901234567"),
            "Số CCCD phải gồm đúng 12 chữ số (đã đọc: 13 chữ số).",
        ),
        (
            OLD_CARD.replace("001090123456", "00109012345A"),
            "Số CCCD chỉ được gồm chữ số (ký tự thứ 12 là “A”).",
        ),
        (
            OLD_CARD.replace("001090123456", "O01090123456"),
            "Số CCCD chỉ được gồm chữ số (ký tự thứ 1 là “O”).",
        ),
        (
            OLD_CARD.replace("01011990", "31021990"),
            "Ngày sinh 31/02/1990 không phải ngày có thật.",
        ),
        (
            OLD_CARD.replace("01011990", "29021990"),
            "Ngày sinh 29/02/1990 không phải ngày có thật.",
        ),
        (
            OLD_CARD.replace("01011990", "01131990"),
            "Ngày sinh 01/13/1990 không phải ngày có thật.",
        ),
        (
            OLD_CARD.replace("15042021", "00042021"),
            "Ngày cấp 00/04/2021 không phải ngày có thật.",
        ),
        (
            OLD_CARD.replace("01011990", "01-01-1990"),
            "Ngày sinh phải có dạng ngàythángnăm 8 chữ số",
        ),
        (
            OLD_CARD.replace("15042021", "15/04/2021"),
            "Ngày cấp phải có dạng ngàythángnăm 8 chữ số",
        ),
        (
            "001090123456||A|07102026|Nam|Hà Nội|07102026",
            "Ngày sinh 07/10/2026 ở sau ngày hôm nay (06/10/2026).",
        ),
        (
            "001090123456||A|01011990|Nam|Hà Nội|07102026",
            "Ngày cấp 07/10/2026 ở sau ngày hôm nay (06/10/2026).",
        ),
        (
            "001090123456||A|01011990|Nam|Hà Nội|31121989",
            "Ngày cấp 31/12/1989 ở trước ngày sinh 01/01/1990.",
        ),
        (
            OLD_CARD.replace("|Nam|", "|Male|"),
            "Giới tính phải là “Nam” hoặc “Nữ”, đã đọc “Male”.",
        ),
        (
            OLD_CARD.replace("|Nam|", "||"),
            "Giới tính phải là “Nam” hoặc “Nữ”, đã đọc “”.",
        ),
        (OLD_CARD.replace("NGUYỄN VĂN AN", ""), "Mã QR CCCD thiếu họ và tên."),
        (
            OLD_CARD.replace("Phường Bến Nghé, TP. Hồ Chí Minh", " "),
            "Mã QR CCCD thiếu nơi thường trú",
        ),
        (OLD_CARD.replace("01011990", ""), "Mã QR CCCD thiếu ngày sinh."),
    ],
    ids=[
        "11-digits",
        "13-digits",
        "letter-in-number",
        "letter-o-for-zero",
        "31-feb",
        "29-feb-non-leap",
        "month-13",
        "day-00",
        "birth-with-dashes",
        "issue-with-slashes",
        "future-birth",
        "future-issue",
        "issue-before-birth",
        "sex-english",
        "sex-empty",
        "empty-name",
        "empty-address",
        "empty-birth",
    ],
)
def test_rejections_name_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CccdQrError) as caught:
        parse_cccd_qr(text, today=TODAY)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "đọc được 0 trường"),
        ("001090123456", "đọc được 1 trường"),
        ("001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam", "đọc được 5 trường"),
        ("001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam||", "đọc được 5 trường"),
        ("001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Hà Nội", "thiếu ngày cấp"),
        ("001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Hà Nội|", "thiếu ngày cấp"),
        (
            "001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Hà Nội|1504",
            "Ngày cấp bị cắt (đọc được 4/8",
        ),
        (
            "001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Hà Nội|1504202",
            "Ngày cấp bị cắt (đọc được 7/8",
        ),
    ],
    ids=[
        "empty",
        "number-only",
        "five-fields",
        "five-fields-trailing",
        "no-issue",
        "empty-issue",
        "issue-cut-4",
        "issue-cut-7",
    ],
)
def test_half_qr_is_rejected(text: str, message: str) -> None:
    with pytest.raises(CccdQrError, match="quét lại") as caught:
        parse_cccd_qr(text, today=TODAY)
    assert message in str(caught.value)


def test_error_is_a_value_error() -> None:
    assert issubclass(CccdQrError, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("001090123456", "001090123456"),
        (" 001 090 123 456 ", "001090123456"),
        ("\t079195001234\n", "079195001234"),
    ],
)
def test_validate_cccd_number_accepts_and_strips_spaces(
    text: str, expected: str
) -> None:
    assert validate_cccd_number(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Chưa có số CCCD."),
        ("00109012345", "Số CCCD phải gồm đúng 12 chữ số (đã đọc: 11 chữ số)."),
        ("001090-123456", "Số CCCD chỉ được gồm chữ số (ký tự thứ 7 là “-”)."),
        (
            "００１０９０１２３４５６",
            "Số CCCD chỉ được gồm chữ số (ký tự thứ 1 là “０”).",
        ),
    ],
    ids=["empty", "11-digits", "dash", "full-width-digits"],
)
def test_validate_cccd_number_rejects(text: str, message: str) -> None:
    with pytest.raises(CccdQrError) as caught:
        validate_cccd_number(text)
    assert str(caught.value) == message


def test_province_list_has_the_63_codes() -> None:
    codes = cccd.BIRTH_PROVINCE_CODES
    assert len(codes) == 63
    assert min(codes) == "001" and max(codes) == "096"
    assert all(len(code) == 3 and code.isdigit() for code in codes)
    assert codes["079"] == "Hồ Chí Minh"
    assert all(unicodedata.is_normalized("NFC", name) for name in codes.values())


@pytest.mark.parametrize(
    ("number", "sex", "year"),
    [
        ("001090123456", "male", 1990),
        ("079195001234", "female", 1995),
        ("038205000111", "male", 2005),
        ("038305000111", "female", 2005),
    ],
)
def test_decode_cccd_number(number: str, sex: str, year: int) -> None:
    facts = cccd.decode_cccd_number(number)
    assert facts["sex"] == sex
    assert facts["birth_year"] == year
    assert facts["province_code"] == number[:3]


def test_birth_before_1900_cannot_check_digit_4() -> None:
    card = parse_cccd_qr("001099123456||Cụ Bà|01011899|Nữ|Hà Nội|15042021", today=TODAY)
    assert card.warnings == ["Không kiểm tra được chữ số thứ 4 cho năm sinh 1899."]
