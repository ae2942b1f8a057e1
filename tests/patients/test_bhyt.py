"""Tests for the BHYT card code and mã số BHXH validation."""

from __future__ import annotations

import pytest

from station.patients.bhyt import BhytCodeError
from station.patients.bhyt import parse_bhyt_code
from station.patients.bhyt import validate_bhxh_number


@pytest.mark.parametrize(
    "text",
    [
        "HS4010120878811",
        "HS 4 01 0120878811",
        "hs4010120878811",
        " Hs 401 01208 78811\n",
        "HS4\t01\u00a00120878811",
    ],
)
def test_parse_normalises_spaces_and_case(text: str) -> None:
    code = parse_bhyt_code(text)
    assert code.code == "HS4010120878811"
    assert code.object_code == "HS"
    assert code.benefit_level == 4
    assert code.province_code == "01"
    assert code.bhxh_number == "0120878811"


def test_as_dict_and_level_hint() -> None:
    assert parse_bhyt_code("TE1797912058865").as_dict() == {
        "code": "TE1797912058865",
        "object_code": "TE",
        "benefit_level": 1,
        "province_code": "79",
        "bhxh_number": "7912058865",
        "level_hint": 1,
    }


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("CC1010120878811", 1),
        ("CB2010120878811", 2),
        ("HT3010120878811", 3),
        ("GD4010120878811", 4),
        ("QN5010120878811", 5),
        ("ZZ4010120878811", None),
    ],
)
def test_level_hint_is_display_data_only(text: str, hint: int | None) -> None:
    assert parse_bhyt_code(text).level_hint == hint


def test_card_level_is_reported_even_when_hint_differs() -> None:
    # The card is the source for the 3rd character; the hint table never overrides it.
    code = parse_bhyt_code("HS2010120878811")
    assert code.benefit_level == 2
    assert code.level_hint == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Chưa có mã thẻ BHYT."),
        ("HS401012087881", "Mã thẻ BHYT phải gồm đúng 15 ký tự (đã đọc: 14 ký tự)."),
        ("HS40101208788112", "Mã thẻ BHYT phải gồm đúng 15 ký tự (đã đọc: 16 ký tự)."),
        ("H54010120878811", "Mã đối tượng (ký tự 1–2) phải là 2 chữ cái, đã đọc “H5”."),
        ("ĐN4010120878811", "Mã đối tượng (ký tự 1–2) phải là 2 chữ cái, đã đọc “ĐN”."),
        (
            "HS0010120878811",
            "Mức hưởng (ký tự 3) phải là một chữ số từ 1 đến 5, đã đọc “0”.",
        ),
        (
            "HS6010120878811",
            "Mức hưởng (ký tự 3) phải là một chữ số từ 1 đến 5, đã đọc “6”.",
        ),
        (
            "HSX010120878811",
            "Mức hưởng (ký tự 3) phải là một chữ số từ 1 đến 5, đã đọc “X”.",
        ),
        ("HS40A0120878811", "Mã tỉnh (ký tự 4–5) phải là 2 chữ số, đã đọc “0A”."),
        ("HS401012087881X", "Mã số BHXH (ký tự 6–15) phải gồm 10 chữ số."),
    ],
    ids=[
        "empty",
        "14-chars",
        "16-chars",
        "digit-in-object",
        "non-ascii-object",
        "level-0",
        "level-6",
        "level-letter",
        "province-letter",
        "bhxh-letter",
    ],
)
def test_rejections_name_the_wrong_part(text: str, message: str) -> None:
    with pytest.raises(BhytCodeError) as caught:
        parse_bhyt_code(text)
    assert str(caught.value) == message


def test_error_is_a_value_error() -> None:
    assert issubclass(BhytCodeError, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7912058865", "7912058865"), (" 01208 78811 ", "0120878811")],
)
def test_validate_bhxh_number(text: str, expected: str) -> None:
    assert validate_bhxh_number(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("791205886", "Mã số BHXH phải gồm đúng 10 chữ số (đã đọc: 9 chữ số)."),
        ("79120588651", "Mã số BHXH phải gồm đúng 10 chữ số (đã đọc: 11 chữ số)."),
        ("79120588A5", "Mã số BHXH chỉ được gồm chữ số."),
        ("", "Chưa có mã số BHXH."),
    ],
)
def test_validate_bhxh_number_rejects(text: str, message: str) -> None:
    with pytest.raises(BhytCodeError) as caught:
        validate_bhxh_number(text)
    assert str(caught.value) == message
