"""Tell what a scanned or typed text is (``station identify TEXT``).

Kinds, tried in this order:

* ``vietqr``: starts with ``000201`` (EMVCo payload format indicator; no CCCD
  number starts with 000, which is no province);
* ``cccd_qr``: contains ``|`` (the CCCD QR framing);
* ``bhyt_code``: 15 characters after removing spaces, starting with 2 letters;
* ``cccd_number`` (12 digits), ``cmnd_number`` (9 digits);
* ``phone``: a Vietnamese mobile number ``0[35789]xxxxxxxx`` (also ``+84``/``84``
  prefixes, spaces, dots and dashes);
* ``bhxh_number``: any other 10 digits.

A 10-digit number with a mobile prefix is taken as a phone. Mobile prefixes
03/05/07/09 cannot start a mã số BHXH if its first two digits are the province
code (as in the known examples 01… and 79…; ❓ unverified), but 08 is also the
code of Tuyên Quang, so an 08 number gets a warning that it may be a mã số BHXH.

Text that looks like one kind but fails its checks raises IdentifyError with
that kind's reason; anything else raises IdentifyError listing what is expected.

Exceptions::

    ValueError
     └── IdentifyError
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from station.billing import vietqr
from station.clock import local_today
from station.patients import bhyt
from station.patients import cccd
from station.text import nfc

EXPECTED = (
    "mã QR CCCD (các trường cách nhau bởi “|”), mã thẻ BHYT 15 ký tự, "
    "số CCCD 12 chữ số, số CMND 9 chữ số, mã số BHXH 10 chữ số, mã VietQR "
    "hoặc số điện thoại di động (0xxxxxxxxx)"
)

_MOBILE = re.compile(r"0[35789]\d{8}")
_PHONE_PUNCTUATION = re.compile(r"[\s.\-()]")
_BHYT_SHAPE = re.compile(r"[A-Za-z]{2}[0-9A-Za-z]{13}")


class IdentifyError(ValueError):
    """A text that is none of the kinds the station recognises."""


def identify(text: str, *, today: date | None = None) -> dict[str, Any]:
    """Return {"kind", "fields", "warnings"} for *text*; raise IdentifyError otherwise."""
    today = today or local_today()
    raw = nfc(text).strip()
    if not raw:
        raise IdentifyError(f"Chưa có dữ liệu. Cần một trong: {EXPECTED}.")

    if raw.startswith("000201"):
        try:
            payment = vietqr.parse_vietqr(raw)
        except vietqr.VietQrError as error:
            raise IdentifyError(f"Mã VietQR không hợp lệ: {error}") from error
        return _result("vietqr", payment.as_dict(), [])

    if "|" in raw:
        try:
            card = cccd.parse_cccd_qr(raw, today=today)
        except cccd.CccdQrError as error:
            raise IdentifyError(f"Mã QR CCCD không hợp lệ: {error}") from error
        fields = card.as_dict()
        warnings = fields.pop("warnings")
        return _result("cccd_qr", fields, warnings)

    compact = "".join(raw.split())
    if _BHYT_SHAPE.fullmatch(compact):
        try:
            card_code = bhyt.parse_bhyt_code(compact)
        except bhyt.BhytCodeError as error:
            raise IdentifyError(f"Mã thẻ BHYT không hợp lệ: {error}") from error
        return _result("bhyt_code", card_code.as_dict(), [])

    if compact.isascii() and compact.isdigit():
        if len(compact) == 12:
            number = cccd.validate_cccd_number(compact)
            warnings = cccd.number_warnings(number)
            fields = cccd.decode_cccd_number(number)
            if fields["birth_year"] > today.year:
                warnings.append(
                    f"Năm sinh suy ra từ số CCCD ({fields['birth_year']}) ở sau năm hiện tại."
                )
            return _result("cccd_number", fields, warnings)
        if len(compact) == 9:
            return _result(
                "cmnd_number",
                {"number": compact},
                ["Số CMND 9 chữ số là giấy tờ cũ; hãy hỏi thêm số CCCD 12 chữ số."],
            )

    phone = _phone(raw)
    if phone is not None:
        phone_warnings: list[str] = []
        if phone.startswith("08"):
            phone_warnings.append(
                "Số bắt đầu bằng 08 cũng có thể là mã số BHXH; hãy kiểm tra lại."
            )
        return _result("phone", {"number": phone}, phone_warnings)

    if compact.isascii() and compact.isdigit():
        if len(compact) == 10:
            return _result(
                "bhxh_number", {"number": bhyt.validate_bhxh_number(compact)}, []
            )
        raise IdentifyError(
            f"Không nhận ra dãy {len(compact)} chữ số. Cần một trong: {EXPECTED}."
        )
    raise IdentifyError(f"Không nhận ra dữ liệu đã quét. Cần một trong: {EXPECTED}.")


def _phone(raw: str) -> str | None:
    """Return the mobile number in 0xxxxxxxxx form, or None if *raw* is not one."""
    digits = _PHONE_PUNCTUATION.sub("", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


def _result(kind: str, fields: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Return the identify() result dict."""
    return {"kind": kind, "fields": fields, "warnings": warnings}
