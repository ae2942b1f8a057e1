"""Validate the 15-character BHYT card code and the 10-digit mã số BHXH (DOMAIN §2).

Layout ``XX Y ZZ NNNNNNNNNN`` (e.g. ``HS 4 01 0120878811``): two letters for the
beneficiary (object) group, the benefit level 1-5, a 2-digit province code and
the 10-digit social-insurance number (mã số BHXH).

Never derive the claim benefit from the card alone (DOMAIN §2.2 and decision 7):
the benefit (``MUC_HUONG``, 4 characters from 01/07/2026) and the card validity
come from the BHXH portal lookup. ``benefit_level`` and ``OBJECT_LEVEL_HINTS``
are informational, for display hints only.

Exceptions::

    ValueError
     └── BhytCodeError   (card code or mã số BHXH rejected; message names the part)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from station.text import nfc

#: Usual benefit level per object code (DOMAIN §2.2, ⚠️ secondary source,
#: superseded in part by QĐ 3276/2025). Display hints only; incomplete on purpose.
OBJECT_LEVEL_HINTS: dict[str, int] = {
    **dict.fromkeys(("CC", "TE"), 1),
    **dict.fromkeys(("CK", "CB", "KC", "HN", "DT", "DK", "XD", "BT", "TS"), 2),
    **dict.fromkeys(("HT", "TC", "CN"), 3),
    **dict.fromkeys(
        ("DN", "HX", "CH", "NN", "TK", "HC", "XK", "HS", "SV", "GB", "GD"), 4
    ),
    **dict.fromkeys(("QN", "CA", "CY"), 5),
}


class BhytCodeError(ValueError):
    """A BHYT card code or mã số BHXH that does not have the required format."""


@dataclass(frozen=True)
class BhytCode:
    """A BHYT card code split into its parts."""

    code: str
    object_code: str
    benefit_level: int  # informational only: see the module docstring
    province_code: str
    bhxh_number: str

    @property
    def level_hint(self) -> int | None:
        """Return the usual level of the object code for display, or None if not in the table."""
        return OBJECT_LEVEL_HINTS.get(self.object_code)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict of the parts."""
        return {
            "code": self.code,
            "object_code": self.object_code,
            "benefit_level": self.benefit_level,
            "province_code": self.province_code,
            "bhxh_number": self.bhxh_number,
            "level_hint": self.level_hint,
        }


def _compact(text: str) -> str:
    """Return *text* in NFC with all white space removed."""
    return "".join(nfc(text).split())


def validate_bhxh_number(text: str) -> str:
    """Return the 10-digit mã số BHXH in *text* (spaces removed) or raise BhytCodeError."""
    number = _compact(text)
    if not number:
        raise BhytCodeError("Chưa có mã số BHXH.")
    if not number.isascii() or not number.isdigit():
        raise BhytCodeError("Mã số BHXH chỉ được gồm chữ số.")
    if len(number) != 10:
        raise BhytCodeError(
            f"Mã số BHXH phải gồm đúng 10 chữ số (đã đọc: {len(number)} chữ số)."
        )
    return number


def parse_bhyt_code(text: str) -> BhytCode:
    """Parse a 15-character BHYT card code (spaces and letter case ignored)."""
    code = _compact(text).upper()
    if not code:
        raise BhytCodeError("Chưa có mã thẻ BHYT.")
    if len(code) != 15:
        raise BhytCodeError(
            f"Mã thẻ BHYT phải gồm đúng 15 ký tự (đã đọc: {len(code)} ký tự)."
        )
    object_code, level, province, bhxh = code[0:2], code[2], code[3:5], code[5:15]
    if not (object_code.isascii() and object_code.isalpha()):
        raise BhytCodeError(
            f"Mã đối tượng (ký tự 1–2) phải là 2 chữ cái, đã đọc “{object_code}”."
        )
    if level not in "12345":
        raise BhytCodeError(
            f"Mức hưởng (ký tự 3) phải là một chữ số từ 1 đến 5, đã đọc “{level}”."
        )
    if not (province.isascii() and province.isdigit()):
        raise BhytCodeError(
            f"Mã tỉnh (ký tự 4–5) phải là 2 chữ số, đã đọc “{province}”."
        )
    if not (bhxh.isascii() and bhxh.isdigit()):
        raise BhytCodeError("Mã số BHXH (ký tự 6–15) phải gồm 10 chữ số.")
    return BhytCode(
        code=code,
        object_code=object_code,
        benefit_level=int(level),
        province_code=province,
        bhxh_number=bhxh,
    )
