"""Exact money in whole Vietnamese đồng.

Money is an ``int`` number of đồng everywhere in billing and claims: the
đồng has no sub-unit in circulation, and floats are never used.  Values that
arrive as text or ``Decimal`` go through :func:`to_dong`, which refuses
fractional đồng instead of rounding them silently.  The few places that must
round (a fractional quantity times a unit price, a percentage share) use
:func:`round_half_up` or :func:`allocate` explicitly.

Exceptions::

    ValueError
     └── MoneyError
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

Dong = int

_GROUPED = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_PLAIN = re.compile(r"^-?\d+$")
_CURRENCY_SUFFIXES = ("vnđ", "vnd", "đồng", "đ")


class MoneyError(ValueError):
    """A value is not a valid whole-đồng amount."""


def to_dong(value: int | Decimal | str) -> Dong:
    """Return *value* as whole đồng; reject floats, booleans and fractional đồng."""
    if isinstance(value, bool):
        raise MoneyError("Số tiền không hợp lệ: giá trị logic không phải là số tiền")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        raise MoneyError("Số tiền không được dùng kiểu số thực (float); hãy dùng số nguyên đồng")
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyError(f"Số tiền không hợp lệ: {value!r}") from None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError("Số tiền không hợp lệ: không phải số hữu hạn")
        if value != value.to_integral_value():
            raise MoneyError(f"Số tiền phải là số nguyên đồng (nhận được {value})")
        return int(value)
    raise MoneyError(f"Số tiền không hợp lệ: kiểu {type(value).__name__}")


def parse_vnd(text: str) -> Dong:
    """Parse user text such as "125.000 đ", "125000" or "1.250.000đ" into đồng."""
    cleaned = text.strip().lower()
    for suffix in _CURRENCY_SUFFIXES:
        if cleaned.endswith(suffix):
            cleaned = cleaned[: -len(suffix)].strip()
            break
    cleaned = cleaned.replace("\u00a0", "").replace(" ", "")
    if _GROUPED.match(cleaned):
        return int(cleaned.replace(".", ""))
    if _PLAIN.match(cleaned):
        return int(cleaned)
    raise MoneyError(f"Số tiền phải là số nguyên đồng, ví dụ 125.000 đ (nhận được {text!r})")


def format_dong(amount: Dong) -> str:
    """Format whole đồng the Vietnamese way: 125000 -> "125.000 đ"."""
    amount = to_dong(amount)
    sign = "-" if amount < 0 else ""
    grouped = f"{abs(amount):,}".replace(",", ".")
    return f"{sign}{grouped} đ"


def round_half_up(value: Fraction | Decimal | int) -> Dong:
    """Round an exact amount to the nearest đồng, halves away from zero."""
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, rest = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * rest >= magnitude.denominator:
        whole += 1
    return sign * whole


def allocate(total: Dong, exact_shares: Sequence[Fraction]) -> list[Dong]:
    """Split *total* over *exact_shares* by largest remainder so the parts sum to *total*.

    Each part is the floor of its exact share plus at most one đồng; the extra
    đồng go to the largest fractional remainders, ties to the earlier line.
    Raises MoneyError when *total* cannot be reached that way (more than one
    đồng per line away from the exact shares), which signals a caller bug.
    """
    floors = [share.numerator // share.denominator for share in exact_shares]
    missing = total - sum(floors)
    if missing < 0 or missing > len(exact_shares):
        raise MoneyError("Không thể phân bổ số tiền: tổng không khớp với các phần chia")
    order = sorted(
        range(len(exact_shares)),
        key=lambda i: (-(exact_shares[i] - floors[i]), i),
    )
    parts = list(floors)
    for index in order[:missing]:
        parts[index] += 1
    return parts
