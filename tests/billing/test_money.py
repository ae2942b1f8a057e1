"""Whole-đồng money helpers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from station.billing.money import MoneyError, allocate, format_dong, parse_vnd, round_half_up, to_dong


@pytest.mark.parametrize(
    ("value", "expected"),
    [(125000, 125000), (Decimal("125000"), 125000), (Decimal("125000.00"), 125000), ("38700", 38700), (-5, -5)],
)
def test_to_dong_accepts_whole_amounts(value: int | Decimal | str, expected: int) -> None:
    assert to_dong(value) == expected


@pytest.mark.parametrize("value", [Decimal("0.5"), "125000.5", Decimal("1.01")])
def test_to_dong_rejects_fractional_dong(value: Decimal | str) -> None:
    with pytest.raises(MoneyError, match="Số tiền phải là số nguyên đồng"):
        to_dong(value)


@pytest.mark.parametrize("value", [125000.0, True, "abc", Decimal("NaN")])
def test_to_dong_rejects_floats_booleans_and_garbage(value: object) -> None:
    with pytest.raises(MoneyError):
        to_dong(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(125000, "125.000 đ"), (0, "0 đ"), (999, "999 đ"), (1234567, "1.234.567 đ"), (-38700, "-38.700 đ")],
)
def test_format_dong(amount: int, text: str) -> None:
    assert format_dong(amount) == text


@pytest.mark.parametrize(
    ("text", "amount"),
    [("125.000 đ", 125000), ("125000", 125000), ("1.250.000đ", 1250000), (" 38.700 VNĐ ", 38700)],
)
def test_parse_vnd_round_trips_format(text: str, amount: int) -> None:
    assert parse_vnd(text) == amount
    assert parse_vnd(format_dong(amount)) == amount


@pytest.mark.parametrize("text", ["12.5", "125,000.50", "1.2345", "đ"])
def test_parse_vnd_rejects_ambiguous_text(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_vnd(text)


def test_round_half_up_goes_away_from_zero_on_halves() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(7, 3)) == 2
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(Decimal("2.49")) == 2


def test_allocate_keeps_the_sum_and_gives_extra_dong_to_largest_remainders() -> None:
    shares = [Fraction(1001, 3), Fraction(1001, 3), Fraction(1001, 3)]  # 333.67 each, total 1001
    parts = allocate(1001, shares)
    assert sum(parts) == 1001
    assert parts == [334, 334, 333]
    assert allocate(10, [Fraction(21, 10), Fraction(79, 10)]) == [2, 8]


def test_allocate_refuses_unreachable_totals() -> None:
    with pytest.raises(MoneyError):
        allocate(100, [Fraction(10), Fraction(10)])
