"""Build and decode VietQR (NAPAS, EMVCo merchant-presented mode) payloads (DOMAIN §10).

Each object is ``ID`` (2 digits) + length (2 digits) + value. The builder emits,
in order: 00 payload format ``01``; 01 initiation ``11`` (static, no amount) or
``12`` (dynamic, with amount); 38 NAPAS merchant account (00 GUID
``A000000727``, 01 beneficiary = 00 bank BIN + 01 account, 02 service code);
53 currency ``704``; 54 amount in whole đồng; 58 ``VN``; 62 additional data
(08 purpose); 63 CRC-16/CCITT-FALSE over everything including ``6304``.

Purpose text: bank apps and the EMVCo alphanumeric set do not carry Vietnamese
diacritics, so each accented letter is folded with ``station.text.fold`` and
keeps its case ("Phí khám" -> "Phi kham", "ĐỢT" -> "DOT"). After folding only
ASCII letters, digits, space and ``- . , /`` are allowed (a conservative set:
the NAPAS spec v1.5.2 itself was not checked, DOMAIN §10 ❓), up to 25 characters.

Exceptions::

    ValueError
     └── VietQrError   (invalid input to the builder, or a payload that fails to decode)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from station.text import clean
from station.text import fold
from station.text import nfc

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
SERVICE_TO_CARD = "QRIBFTTC"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
PURPOSE_MAX_LENGTH = 25
AMOUNT_MAX_DIGITS = 13  # EMVCo limit on the length of tag 54

_BIN = re.compile(r"\d{6}")
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,19}")
_PURPOSE = re.compile(r"[0-9A-Za-z .,/-]*")


class VietQrError(ValueError):
    """A VietQR payload that cannot be built or decoded."""


@dataclass(frozen=True)
class VietQr:
    """The fields decoded from a VietQR payload."""

    dynamic: bool
    bank_bin: str
    account: str
    service_code: str | None
    currency: str | None
    amount: int | None
    country: str | None
    purpose: str | None
    crc: str
    tags: dict[str, str]  # top-level TLV objects, raw

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict of the decoded fields."""
        return {
            "dynamic": self.dynamic,
            "bank_bin": self.bank_bin,
            "account": self.account,
            "service_code": self.service_code,
            "currency": self.currency,
            "amount": self.amount,
            "country": self.country,
            "purpose": self.purpose,
            "crc": self.crc,
        }


def crc16_ccitt_false(data: bytes) -> int:
    """Return CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    """Return one EMVCo object: tag, 2-digit length, value."""
    if len(value) > 99:
        raise VietQrError(f"Giá trị của trường {tag} dài quá 99 ký tự.")
    return f"{tag}{len(value):02d}{value}"


def fold_purpose(text: str) -> str:
    """Return *text* without Vietnamese diacritics, keeping letter case and single spaces."""
    out = []
    for char in clean(text):
        if char.isascii():
            out.append(char)
            continue
        folded = fold(char)
        out.append(folded.upper() if char.isupper() else folded)
    return "".join(out)


def build_vietqr(
    bank_bin: str,
    account: str,
    *,
    amount: int | Decimal | None = None,
    purpose: str | None = None,
    to_card: bool = False,
) -> str:
    """Return a VietQR payload: static without *amount*, dynamic with it."""
    bank_bin = "".join(bank_bin.split())
    if not _BIN.fullmatch(bank_bin):
        raise VietQrError("Mã BIN ngân hàng phải gồm đúng 6 chữ số.")
    account = "".join(account.split())
    if not _ACCOUNT.fullmatch(account):
        raise VietQrError(
            "Số tài khoản/số thẻ phải gồm 1 đến 19 chữ số hoặc chữ cái không dấu."
        )
    amount_text = None if amount is None else _amount_text(amount)
    purpose_text = None
    if purpose is not None and clean(purpose):
        purpose_text = _purpose_text(purpose)

    beneficiary = tlv("00", bank_bin) + tlv("01", account)
    service = SERVICE_TO_CARD if to_card else SERVICE_TO_ACCOUNT
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", service)
    payload = tlv("00", "01") + tlv("01", "11" if amount_text is None else "12")
    payload += tlv("38", merchant) + tlv("53", CURRENCY_VND)
    if amount_text is not None:
        payload += tlv("54", amount_text)
    payload += tlv("58", COUNTRY_VN)
    if purpose_text is not None:
        payload += tlv("62", tlv("08", purpose_text))
    payload += "6304"
    return payload + f"{crc16_ccitt_false(payload.encode('ascii')):04X}"


def _amount_text(amount: object) -> str:
    """Return the amount as whole-đồng digits or raise VietQrError."""
    if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
        raise VietQrError("Số tiền phải là số nguyên đồng (kiểu int hoặc Decimal).")
    if isinstance(amount, Decimal):
        if not amount.is_finite() or amount != amount.to_integral_value():
            raise VietQrError("Số tiền phải là số nguyên đồng, không có phần lẻ.")
        amount = int(amount)
    if amount <= 0:
        raise VietQrError("Số tiền phải lớn hơn 0 đồng.")
    text = str(amount)
    if len(text) > AMOUNT_MAX_DIGITS:
        raise VietQrError(f"Số tiền quá lớn (tối đa {AMOUNT_MAX_DIGITS} chữ số).")
    return text


def _purpose_text(purpose: str) -> str:
    """Return the folded purpose or raise VietQrError on length or characters."""
    text = fold_purpose(purpose)
    bad = sorted({char for char in text if not _PURPOSE.fullmatch(char)})
    if bad:
        shown = " ".join(f"“{char}”" for char in bad)
        raise VietQrError(
            f"Nội dung chuyển khoản có ký tự không dùng được: {shown} "
            "(chỉ dùng chữ, số, khoảng trắng và - . , /)."
        )
    if len(text) > PURPOSE_MAX_LENGTH:
        raise VietQrError(
            f"Nội dung chuyển khoản dài tối đa {PURPOSE_MAX_LENGTH} ký tự "
            f"(đang có {len(text)} ký tự)."
        )
    return text


def parse_tlv(text: str) -> dict[str, str]:
    """Return the EMVCo objects in *text* as {tag: value}; raise VietQrError if malformed."""
    objects: dict[str, str] = {}
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        if len(header) < 4 or not header.isascii() or not header.isdigit():
            raise VietQrError(f"Mã VietQR sai cấu trúc ở vị trí {position}.")
        tag, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if len(value) != length:
            raise VietQrError(f"Mã VietQR bị cắt: trường {tag} thiếu dữ liệu.")
        if tag in objects:
            raise VietQrError(f"Mã VietQR có trường {tag} lặp lại.")
        objects[tag] = value
        position += 4 + length
    return objects


def parse_vietqr(payload: str) -> VietQr:
    """Decode a VietQR payload, checking its structure and CRC."""
    text = nfc(payload).strip()
    if len(text) < 8 or text[-8:-4] != "6304":
        raise VietQrError(
            "Mã VietQR phải kết thúc bằng trường CRC (6304 và 4 ký tự hex)."
        )
    given = text[-4:].upper()
    computed = f"{crc16_ccitt_false(text[:-4].encode('utf-8')):04X}"
    if given != computed:
        raise VietQrError(
            f"Mã kiểm tra CRC của mã VietQR không khớp (ghi {given}, tính được {computed})."
        )
    tags = parse_tlv(text)
    if tags.get("00") != "01":
        raise VietQrError("Mã VietQR phải bắt đầu bằng 000201.")
    if tags.get("01") not in ("11", "12"):
        raise VietQrError("Trường 01 của mã VietQR phải là 11 (tĩnh) hoặc 12 (động).")
    merchant = parse_tlv(tags.get("38", ""))
    if merchant.get("00") != NAPAS_GUID:
        raise VietQrError(
            "Không phải mã VietQR NAPAS (thiếu trường 38 với GUID A000000727)."
        )
    beneficiary = parse_tlv(merchant.get("01", ""))
    if "00" not in beneficiary or "01" not in beneficiary:
        raise VietQrError("Mã VietQR thiếu mã BIN ngân hàng hoặc số tài khoản.")
    amount = tags.get("54")
    if amount is not None and not (amount.isascii() and amount.isdigit()):
        # Other issuers may send "150000.00"; accept it only when the fraction is zero.
        whole, _, fraction = amount.partition(".")
        if not (whole.isdigit() and fraction.strip("0") == ""):
            raise VietQrError(
                f"Số tiền trong mã VietQR không phải số nguyên đồng: “{amount}”."
            )
        amount = whole
    additional = parse_tlv(tags["62"]) if "62" in tags else {}
    return VietQr(
        dynamic=tags["01"] == "12",
        bank_bin=beneficiary["00"],
        account=beneficiary["01"],
        service_code=merchant.get("02"),
        currency=tags.get("53"),
        amount=None if amount is None else int(amount),
        country=tags.get("58"),
        purpose=additional.get("08"),
        crc=given,
        tags=tags,
    )
