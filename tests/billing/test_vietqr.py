"""Tests for the VietQR payload builder and decoder."""

from __future__ import annotations

from decimal import Decimal

import pytest

from station.billing.vietqr import VietQrError
from station.billing.vietqr import build_vietqr
from station.billing.vietqr import crc16_ccitt_false
from station.billing.vietqr import fold_purpose
from station.billing.vietqr import parse_tlv
from station.billing.vietqr import parse_vietqr

# DOMAIN §10 worked examples.
DYNAMIC = (
    "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA"
    "530370454061500005802VN62190815TYT XA PHI KHAM63046DD2"
)
STATIC = (
    "00020101021138570010A00000072701270006970436011300110012345670208QRIBFTTA"
    "53037045802VN6304E8DB"
)
BIN = "970436"
ACCOUNT = "0011001234567"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"123456789", 0x29B1),
        (b"", 0xFFFF),
        (DYNAMIC[:-4].encode(), 0x6DD2),
        (STATIC[:-4].encode(), 0xE8DB),
    ],
)
def test_crc16_ccitt_false_check_values(data: bytes, expected: int) -> None:
    assert crc16_ccitt_false(data) == expected


def test_worked_dynamic_example_is_reproduced_exactly() -> None:
    assert (
        build_vietqr(BIN, ACCOUNT, amount=150000, purpose="TYT XA PHI KHAM") == DYNAMIC
    )


def test_worked_static_example_is_reproduced_exactly() -> None:
    assert build_vietqr(BIN, ACCOUNT) == STATIC


@pytest.mark.parametrize(
    "amount", [150000, Decimal("150000"), Decimal("150000.00"), Decimal("1.5E+5")]
)
def test_integral_amounts_of_either_type(amount: int | Decimal) -> None:
    assert (
        build_vietqr(BIN, ACCOUNT, amount=amount, purpose="TYT XA PHI KHAM") == DYNAMIC
    )


def test_inputs_with_spaces_are_compacted() -> None:
    payload = build_vietqr(
        " 970 436 ", "0011 0012 34567", amount=150000, purpose="  TYT  XA PHI KHAM "
    )
    assert payload == DYNAMIC


def test_empty_purpose_omits_tag_62() -> None:
    payload = build_vietqr(BIN, ACCOUNT, amount=150000, purpose="   ")
    assert "6219" not in payload
    assert parse_vietqr(payload).purpose is None


def test_card_service_code() -> None:
    payload = build_vietqr(BIN, "9704361234567890", to_card=True)
    decoded = parse_vietqr(payload)
    assert decoded.service_code == "QRIBFTTC"
    assert decoded.account == "9704361234567890"
    assert decoded.dynamic is False


@pytest.mark.parametrize(
    ("purpose", "folded"),
    [
        ("TYT xã phí khám", "TYT xa phi kham"),
        ("Phí khám bệnh", "Phi kham benh"),
        ("ĐỢT 2/2026", "DOT 2/2026"),
        ("đóng phí", "dong phi"),
        ("Nguyễn Thị Ưng", "Nguyen Thi Ung"),
        ("Phi\u0301 kha\u0301m", "Phi kham"),  # NFD input
    ],
)
def test_purpose_diacritics_are_folded_keeping_case(purpose: str, folded: str) -> None:
    assert fold_purpose(purpose) == folded
    assert (
        parse_vietqr(build_vietqr(BIN, ACCOUNT, amount=1000, purpose=purpose)).purpose
        == folded
    )


def test_purpose_of_25_characters_is_accepted() -> None:
    purpose = "A" * 25
    assert (
        parse_vietqr(build_vietqr(BIN, ACCOUNT, amount=1, purpose=purpose)).purpose
        == purpose
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": Decimal("150000.5")}, "Số tiền phải là số nguyên đồng"),
        ({"amount": Decimal("0.01")}, "Số tiền phải là số nguyên đồng"),
        ({"amount": Decimal("NaN")}, "Số tiền phải là số nguyên đồng"),
        ({"amount": 150000.0}, "Số tiền phải là số nguyên đồng"),
        ({"amount": "150000"}, "Số tiền phải là số nguyên đồng"),
        ({"amount": True}, "Số tiền phải là số nguyên đồng"),
        ({"amount": 0}, "Số tiền phải lớn hơn 0 đồng."),
        ({"amount": -5000}, "Số tiền phải lớn hơn 0 đồng."),
        ({"amount": Decimal("-5000")}, "Số tiền phải lớn hơn 0 đồng."),
        ({"amount": 10**13}, "Số tiền quá lớn (tối đa 13 chữ số)."),
        (
            {"amount": 1000, "purpose": "A" * 26},
            "Nội dung chuyển khoản dài tối đa 25 ký tự (đang có 26 ký tự).",
        ),
        (
            {"amount": 1000, "purpose": "Phí khám #12 & thuốc"},
            "Nội dung chuyển khoản có ký tự không dùng được: “#” “&”",
        ),
        (
            {"amount": 1000, "purpose": "Phí 10€"},
            "Nội dung chuyển khoản có ký tự không dùng được: “€”",
        ),
        ({"bank_bin": "97043"}, "Mã BIN ngân hàng phải gồm đúng 6 chữ số."),
        ({"bank_bin": "9704366"}, "Mã BIN ngân hàng phải gồm đúng 6 chữ số."),
        ({"bank_bin": "97043A"}, "Mã BIN ngân hàng phải gồm đúng 6 chữ số."),
        ({"account": "1" * 20}, "Số tài khoản/số thẻ phải gồm 1 đến 19"),
        ({"account": ""}, "Số tài khoản/số thẻ phải gồm 1 đến 19"),
        ({"account": "0011-001234"}, "Số tài khoản/số thẻ phải gồm 1 đến 19"),
    ],
)
def test_builder_rejections(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"bank_bin": BIN, "account": ACCOUNT, **kwargs}
    with pytest.raises(VietQrError) as caught:
        build_vietqr(**arguments)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_account_of_19_alphanumerics_is_accepted() -> None:
    account = "ABC" + "1" * 16
    assert parse_vietqr(build_vietqr(BIN, account)).account == account


def test_parse_worked_dynamic_example() -> None:
    decoded = parse_vietqr(DYNAMIC)
    assert decoded.as_dict() == {
        "dynamic": True,
        "bank_bin": "970436",
        "account": "0011001234567",
        "service_code": "QRIBFTTA",
        "currency": "704",
        "amount": 150000,
        "country": "VN",
        "purpose": "TYT XA PHI KHAM",
        "crc": "6DD2",
    }
    assert list(decoded.tags) == ["00", "01", "38", "53", "54", "58", "62", "63"]


def test_parse_static_example_has_no_amount() -> None:
    decoded = parse_vietqr(STATIC)
    assert decoded.dynamic is False
    assert decoded.amount is None
    assert decoded.purpose is None


def test_parse_accepts_lower_case_crc_and_surrounding_spaces() -> None:
    assert parse_vietqr(" " + DYNAMIC[:-4] + "6dd2\n").crc == "6DD2"


def test_parse_accepts_zero_fraction_amount_from_other_issuers() -> None:
    body = DYNAMIC[:-8].replace("54061500005802", "5409150000.005802")
    assert parse_vietqr(_with_crc(body)).amount == 150000


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            DYNAMIC[:-4] + "6DD3",
            "Mã kiểm tra CRC của mã VietQR không khớp (ghi 6DD3, tính được 6DD2).",
        ),
        (
            DYNAMIC.replace("150000", "160000"),
            "Mã kiểm tra CRC của mã VietQR không khớp",
        ),
        (DYNAMIC[:-8], "Mã VietQR phải kết thúc bằng trường CRC"),
        ("", "Mã VietQR phải kết thúc bằng trường CRC"),
    ],
    ids=["wrong-crc", "tampered-amount", "no-crc", "empty"],
)
def test_parse_rejects_bad_crc(payload: str, message: str) -> None:
    with pytest.raises(VietQrError) as caught:
        parse_vietqr(payload)
    assert str(caught.value).startswith(message)


def _with_crc(body: str) -> str:
    """Return *body* + 6304 + its CRC, for structurally broken payloads with a valid CRC."""
    payload = body + "6304"
    return payload + f"{crc16_ccitt_false(payload.encode()):04X}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "0002010102125303704",
            "Không phải mã VietQR NAPAS (thiếu trường 38 với GUID A000000727).",
        ),
        ("000202010212", "Mã VietQR phải bắt đầu bằng 000201."),
        ("000201010213", "Trường 01 của mã VietQR phải là 11 (tĩnh) hoặc 12 (động)."),
        ("0002010102125399704", "Mã VietQR bị cắt: trường 53 thiếu dữ liệu."),
        ("00020101021253X3704", "Mã VietQR sai cấu trúc ở vị trí 12."),
        ("0002010002015303704", "Mã VietQR có trường 00 lặp lại."),
        (
            "00020101021238140010A000000727",
            "Mã VietQR thiếu mã BIN ngân hàng hoặc số tài khoản.",
        ),
        (
            "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA5303704540615000A",
            "Số tiền trong mã VietQR không phải số nguyên đồng: “15000A”.",
        ),
        (
            "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA530370454081500.505",
            "Số tiền trong mã VietQR không phải số nguyên đồng: “1500.505”.",
        ),
    ],
    ids=[
        "no-tag-38",
        "bad-format",
        "bad-initiation",
        "truncated",
        "non-digit-length",
        "duplicate",
        "no-beneficiary",
        "letter-amount",
        "fraction",
    ],
)
def test_parse_rejects_bad_structure(body: str, message: str) -> None:
    with pytest.raises(VietQrError) as caught:
        parse_vietqr(_with_crc(body))
    assert str(caught.value) == message


def test_parse_tlv_nested() -> None:
    assert parse_tlv("00069704360113" + "0011001234567") == {
        "00": "970436",
        "01": "0011001234567",
    }
    assert parse_tlv("") == {}


@pytest.mark.parametrize("value", [True, False])
def test_builder_output_round_trips(value: bool) -> None:
    payload = build_vietqr(
        "970415",
        "1234567890",
        amount=25000 if value else None,
        purpose="Phí khám" if value else None,
    )
    decoded = parse_vietqr(payload)
    assert decoded.bank_bin == "970415"
    assert decoded.account == "1234567890"
    assert decoded.amount == (25000 if value else None)
    assert decoded.dynamic is value
    assert decoded.currency == "704"
    assert decoded.country == "VN"
