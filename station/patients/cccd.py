"""Parse the QR code printed on a Vietnamese CCCD / căn cước card (DOMAIN §1).

Wire format (old chip card, DOMAIN §1.1), fields separated by ``|``::

    number|old CMND|full name|ddMMyyyy birth|Nam/Nữ|address|ddMMyyyy issue

Tolerances (DOMAIN "Decisions" 2):

* empty fields are kept: an empty old-CMND field gives ``old_id=None``;
* fields after the seventh (new 2024 cards: cancelled IDs, parents' names; the
  exact layout is unverified, DOMAIN §1.3) are kept verbatim in ``extra``;
* trailing separators, CR/LF from keyboard-wedge scanners and stray white space
  are dropped; NFD text is normalised to NFC;
* a six-field string without the old-CMND slot (a scanner that collapses empty
  fields) is recognised by where the birth date sits; a warning is added;
* sex accepts "Nam"/"Nữ" in any case or normalisation, and also "Nu" without
  diacritics, because US-layout keyboard-wedge scanners drop diacritics and
  "nu" cannot mean anything else in this field.

A half QR (scanner timeout: fewer than six fields, a missing issue date, or an
issue date cut mid-field) is rejected. Mismatches that a valid card can carry
(century/sex digit, birth-year digits, unknown province code, odd old-CMND
length) only add Vietnamese warnings; they never reject.

Exceptions::

    ValueError
     └── CccdQrError   (every rejection; also raised by validate_cccd_number)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from typing import Any

from station.text import clean
from station.text import fold
from station.text import nfc

#: Province codes (digits 1-3) of the place where the birth was registered:
#: the 63 provinces before the 2025 merger (TT 07/2016/TT-BCA). Numbers already
#: issued keep these codes, so the list does not follow the 2025 reform.
BIRTH_PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

_SEX_WORDS = {"nam": "male", "nu": "female"}
_STANDARD_FIELDS = 7  # number, old id, name, birth, sex, address, issue
_MIN_FIELDS = 6
_DATE = re.compile(r"\d{8}")
_DIGITS = re.compile(r"\d+")


class CccdQrError(ValueError):
    """A CCCD QR string or 12-digit number that cannot be accepted."""


@dataclass(frozen=True)
class CccdQr:
    """The fields read from one CCCD QR code."""

    number: str
    old_id: str | None
    full_name: str
    birth_date: date
    sex: str  # "male" or "female"
    address: str
    issue_date: date
    extra: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        """Return the name in Vietnamese title case: "NGUYỄN VĂN A" -> "Nguyễn Văn A"."""
        return title_case(self.full_name)

    @property
    def birth_province(self) -> str | None:
        """Return the province where the birth was registered, or None if unknown."""
        return BIRTH_PROVINCE_CODES.get(self.number[:3])

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (dates as ISO strings)."""
        return {
            "number": self.number,
            "old_id": self.old_id,
            "full_name": self.full_name,
            "display_name": self.display_name,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "address": self.address,
            "issue_date": self.issue_date.isoformat(),
            "birth_province": self.birth_province,
            "extra": list(self.extra),
            "warnings": list(self.warnings),
        }


def title_case(name: str) -> str:
    """Return *name* with each word capitalised, the rest lower-case."""
    return " ".join(
        word[:1].upper() + word[1:].lower() for word in clean(name).split(" ")
    )


def validate_cccd_number(text: str) -> str:
    """Return the 12-digit CCCD number in *text* (spaces removed) or raise CccdQrError."""
    number = "".join(nfc(text).split())
    if not number:
        raise CccdQrError("Chưa có số CCCD.")
    for position, char in enumerate(number, start=1):
        if not ("0" <= char <= "9"):
            raise CccdQrError(
                f"Số CCCD chỉ được gồm chữ số (ký tự thứ {position} là “{char}”)."
            )
    if len(number) != 12:
        raise CccdQrError(
            f"Số CCCD phải gồm đúng 12 chữ số (đã đọc: {len(number)} chữ số)."
        )
    return number


def number_warnings(
    number: str, *, birth_date: date | None = None, sex: str | None = None
) -> list[str]:
    """Return warnings for a valid 12-digit number, cross-checked with birth date and sex if given."""
    warnings: list[str] = []
    province = number[:3]
    if province not in BIRTH_PROVINCE_CODES:
        warnings.append(
            f"Mã tỉnh nơi đăng ký khai sinh “{province}” (3 chữ số đầu của số CCCD) "
            "không thuộc danh sách 63 tỉnh, thành phố."
        )
    if birth_date is not None:
        year = birth_date.year
        if number[4:6] != f"{year % 100:02d}":
            warnings.append(
                f"Chữ số thứ 5–6 của số CCCD ({number[4:6]}) không khớp năm sinh {year}."
            )
        century = year // 100 - 19
        if sex is not None and 0 <= century <= 4:
            expected = century * 2 + (1 if sex == "female" else 0)
            if int(number[3]) != expected:
                sex_word = "nữ" if sex == "female" else "nam"
                warnings.append(
                    f"Chữ số thứ 4 của số CCCD ({number[3]}) không khớp giới tính {sex_word} "
                    f"và năm sinh {year} (đúng ra là {expected})."
                )
        elif not 0 <= century <= 4:
            warnings.append(f"Không kiểm tra được chữ số thứ 4 cho năm sinh {year}.")
    return warnings


def decode_cccd_number(number: str) -> dict[str, Any]:
    """Return what a valid 12-digit number says: province, sex and birth year."""
    digit = int(number[3])
    return {
        "number": number,
        "province_code": number[:3],
        "province_name": BIRTH_PROVINCE_CODES.get(number[:3]),
        "sex": "female" if digit % 2 else "male",
        "birth_year": 1900 + 100 * (digit // 2) + int(number[4:6]),
    }


def parse_cccd_qr(text: str, *, today: date) -> CccdQr:
    """Parse a scanned CCCD QR string; raise CccdQrError with a Vietnamese reason."""
    fields = [clean(part) for part in nfc(text).strip().split("|")]
    while fields and not fields[-1]:
        fields.pop()
    if len(fields) < _MIN_FIELDS:
        raise CccdQrError(
            f"Mã QR CCCD chưa đủ dữ liệu (đọc được {len(fields)} trường, cần ít nhất 6): "
            "có thể máy quét bị ngắt giữa chừng, hãy quét lại."
        )
    number = validate_cccd_number(fields[0])
    warnings: list[str] = []

    if _is_date_then_sex(fields, 3):
        old_id, name, birth_raw, sex_raw, address = fields[1:6]
        issue_index = 6
    elif _is_date_then_sex(fields, 2):
        # A scanner that drops empty fields loses the old-CMND slot.
        old_id = ""
        name, birth_raw, sex_raw, address = fields[1:5]
        issue_index = 5
        warnings.append(
            "Mã QR không có trường số CMND cũ; đã đọc theo bố cục 6 trường."
        )
    else:
        # Report the first wrong field of the standard layout.
        old_id, name, birth_raw, sex_raw, address = fields[1:6]
        issue_index = 6

    if not name:
        raise CccdQrError("Mã QR CCCD thiếu họ và tên.")
    birth_date = _parse_date(birth_raw, "ngày sinh")
    sex = _parse_sex(sex_raw)
    if not address:
        raise CccdQrError("Mã QR CCCD thiếu nơi thường trú / nơi cư trú.")
    if issue_index >= len(fields):
        raise CccdQrError(
            "Mã QR CCCD thiếu ngày cấp: có thể máy quét bị ngắt giữa chừng, hãy quét lại."
        )
    issue_raw = fields[issue_index]
    if _DIGITS.fullmatch(issue_raw) and len(issue_raw) < 8:
        raise CccdQrError(
            f"Ngày cấp bị cắt (đọc được {len(issue_raw)}/8 chữ số): "
            "có thể máy quét bị ngắt giữa chừng, hãy quét lại."
        )
    issue_date = _parse_date(issue_raw, "ngày cấp")

    if birth_date > today:
        raise CccdQrError(
            f"Ngày sinh {birth_date:%d/%m/%Y} ở sau ngày hôm nay ({today:%d/%m/%Y})."
        )
    if issue_date > today:
        raise CccdQrError(
            f"Ngày cấp {issue_date:%d/%m/%Y} ở sau ngày hôm nay ({today:%d/%m/%Y})."
        )
    if issue_date < birth_date:
        raise CccdQrError(
            f"Ngày cấp {issue_date:%d/%m/%Y} ở trước ngày sinh {birth_date:%d/%m/%Y}."
        )

    if old_id and not re.fullmatch(r"\d{9}|\d{12}", old_id):
        warnings.append(
            "Số CMND cũ trong mã QR không gồm 9 (hoặc 12) chữ số; đã giữ nguyên."
        )
    warnings.extend(number_warnings(number, birth_date=birth_date, sex=sex))
    return CccdQr(
        number=number,
        old_id=old_id or None,
        full_name=name,
        birth_date=birth_date,
        sex=sex,
        address=address,
        issue_date=issue_date,
        extra=fields[issue_index + 1 :],
        warnings=warnings,
    )


def _is_date_then_sex(fields: list[str], index: int) -> bool:
    """Return True if fields[index] looks like ddMMyyyy and the next field like a sex."""
    return (
        index + 1 < len(fields)
        and _DATE.fullmatch(fields[index]) is not None
        and fold(fields[index + 1]) in _SEX_WORDS
    )


def _parse_date(raw: str, label: str) -> date:
    """Return the calendar date in a ddMMyyyy field or raise CccdQrError naming *label*."""
    if not raw:
        raise CccdQrError(f"Mã QR CCCD thiếu {label}.")
    if not _DATE.fullmatch(raw):
        raise CccdQrError(
            f"{label.capitalize()} phải có dạng ngàythángnăm 8 chữ số (ddMMyyyy), "
            f"đã đọc “{raw}”."
        )
    try:
        return date(int(raw[4:8]), int(raw[2:4]), int(raw[0:2]))
    except ValueError:
        raise CccdQrError(
            f"{label.capitalize()} {raw[0:2]}/{raw[2:4]}/{raw[4:8]} không phải ngày có thật."
        ) from None


def _parse_sex(raw: str) -> str:
    """Return "male" or "female" for Nam/Nữ (any case, with or without diacritics)."""
    sex = _SEX_WORDS.get(fold(raw))
    if sex is None:
        raise CccdQrError(f"Giới tính phải là “Nam” hoặc “Nữ”, đã đọc “{raw}”.")
    return sex
