"""Tests for telling what a scanned text is."""

from __future__ import annotations

import json
import unicodedata
from datetime import date

import pytest

from station.billing.vietqr import build_vietqr
from station.identify import IdentifyError
from station.identify import identify

TODAY = date(2026, 10, 6)
CCCD_QR = "001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Hà Nội|15042021"
VIETQR = (
    "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA"
    "530370454061500005802VN62190815TYT XA PHI KHAM63046DD2"
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (CCCD_QR, "cccd_qr"),
        (unicodedata.normalize("NFD", CCCD_QR) + "|\n", "cccd_qr"),
        (VIETQR, "vietqr"),
        (build_vietqr("970415", "1234567890"), "vietqr"),
        ("HS4010120878811", "bhyt_code"),
        ("hs 4 01 0120878811", "bhyt_code"),
        ("001090123456", "cccd_number"),
        (" 001 090 123 456 ", "cccd_number"),
        ("012345678", "cmnd_number"),
        ("7912058865", "bhxh_number"),
        ("0120878811", "bhxh_number"),
        ("0912345678", "phone"),
        ("0312 345 678", "phone"),
        ("091.234.5678", "phone"),
        ("+84 912 345 678", "phone"),
        ("84912345678", "phone"),
        ("0862345678", "phone"),
    ],
)
def test_kinds(text: str, kind: str) -> None:
    result = identify(text, today=TODAY)
    assert result["kind"] == kind
    assert set(result) == {"kind", "fields", "warnings"}
    assert json.loads(json.dumps(result, ensure_ascii=False)) == result


def test_cccd_qr_fields_and_warnings_are_separate() -> None:
    result = identify(CCCD_QR.replace("001090123456", "001190123456"), today=TODAY)
    assert result["fields"]["number"] == "001190123456"
    assert result["fields"]["display_name"] == "Nguyễn Văn An"
    assert result["fields"]["birth_date"] == "1990-01-01"
    assert "warnings" not in result["fields"]
    assert len(result["warnings"]) == 1
    assert "Chữ số thứ 4" in result["warnings"][0]


def test_bhyt_fields() -> None:
    fields = identify("HS4010120878811", today=TODAY)["fields"]
    assert fields["object_code"] == "HS"
    assert fields["benefit_level"] == 4
    assert fields["province_code"] == "01"
    assert fields["bhxh_number"] == "0120878811"


def test_vietqr_fields() -> None:
    fields = identify(VIETQR, today=TODAY)["fields"]
    assert fields["bank_bin"] == "970436"
    assert fields["amount"] == 150000
    assert fields["purpose"] == "TYT XA PHI KHAM"


@pytest.mark.parametrize(
    ("text", "fields", "warnings"),
    [
        (
            "079195001234",
            {
                "number": "079195001234",
                "province_code": "079",
                "province_name": "Hồ Chí Minh",
                "sex": "female",
                "birth_year": 1995,
            },
            [],
        ),
        (
            "099205001234",
            {
                "number": "099205001234",
                "province_code": "099",
                "province_name": None,
                "sex": "male",
                "birth_year": 2005,
            },
            [
                "Mã tỉnh nơi đăng ký khai sinh “099” (3 chữ số đầu của số CCCD) không thuộc danh sách 63 tỉnh, thành phố."
            ],
        ),
        (
            "001230001234",
            {
                "number": "001230001234",
                "province_code": "001",
                "province_name": "Hà Nội",
                "sex": "male",
                "birth_year": 2030,
            },
            ["Năm sinh suy ra từ số CCCD (2030) ở sau năm hiện tại."],
        ),
    ],
)
def test_cccd_number_is_decoded(
    text: str, fields: dict[str, object], warnings: list[str]
) -> None:
    result = identify(text, today=TODAY)
    assert result == {"kind": "cccd_number", "fields": fields, "warnings": warnings}


def test_phone_is_normalised() -> None:
    assert identify("+84 912 345 678", today=TODAY) == {
        "kind": "phone",
        "fields": {"number": "0912345678"},
        "warnings": [],
    }


def test_phone_starting_08_warns_it_may_be_bhxh() -> None:
    result = identify("0862345678", today=TODAY)
    assert result["fields"] == {"number": "0862345678"}
    assert result["warnings"] == [
        "Số bắt đầu bằng 08 cũng có thể là mã số BHXH; hãy kiểm tra lại."
    ]


def test_cmnd_warns_it_is_an_old_document() -> None:
    result = identify("012345678", today=TODAY)
    assert result["fields"] == {"number": "012345678"}
    assert "CCCD 12 chữ số" in result["warnings"][0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            CCCD_QR.replace("01011990", "31021990"),
            "Mã QR CCCD không hợp lệ: Ngày sinh 31/02/1990 không phải ngày có thật.",
        ),
        (
            "001090123456|012345678|NGUYỄN",
            "Mã QR CCCD không hợp lệ: Mã QR CCCD chưa đủ dữ liệu",
        ),
        (VIETQR[:-4] + "0000", "Mã VietQR không hợp lệ: Mã kiểm tra CRC"),
        ("HS6010120878811", "Mã thẻ BHYT không hợp lệ: Mức hưởng (ký tự 3)"),
    ],
    ids=["cccd-31-feb", "half-qr", "vietqr-crc", "bhyt-level"],
)
def test_recognised_but_invalid_gives_the_reason(text: str, message: str) -> None:
    with pytest.raises(IdentifyError) as caught:
        identify(text, today=TODAY)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("", "Chưa có dữ liệu."),
        ("   ", "Chưa có dữ liệu."),
        ("00109012345", "Không nhận ra dãy 11 chữ số."),
        ("0010901234567", "Không nhận ra dãy 13 chữ số."),
        ("12345", "Không nhận ra dãy 5 chữ số."),
        ("xin chào", "Không nhận ra dữ liệu đã quét."),
        ("0212345678a", "Không nhận ra dữ liệu đã quét."),
    ],
)
def test_unrecognised_lists_what_is_expected(text: str, start: str) -> None:
    with pytest.raises(IdentifyError) as caught:
        identify(text, today=TODAY)
    message = str(caught.value)
    assert message.startswith(start)
    for expected in (
        "mã QR CCCD",
        "mã thẻ BHYT 15 ký tự",
        "số CCCD 12 chữ số",
        "số CMND 9 chữ số",
        "mã số BHXH 10 chữ số",
        "mã VietQR",
        "số điện thoại di động",
    ):
        assert expected in message


def test_identify_error_is_a_value_error() -> None:
    assert issubclass(IdentifyError, ValueError)
