"""Coded values of XML1 used by the consultation form, kept as dated data (DOMAIN §3.4, decision 1).

Codes are strings, never ints (decision 4): ``"01"``, not ``1``. Each list carries the document
that defines it and its effective dates; :func:`code_list_for` picks the list in force on the
episode date.

Sources: DOMAIN §3.4 (fields 40, 41, 55), confirmed against the QĐ 4750 field descriptions in
[DH] ``XML130/QD4570/Table xml130.bang01``. ``MA_LOAI_KCB`` "05" comes from the same [DH] table
(NGAY_RA and SO_NGAY_DTRI rules); the full list is the DMDC code set (QĐ 824/QĐ-BYT, 2023).
❓ QĐ 1804/QĐ-BYT (19/06/2026) sets 16 visit-type codes from 01/08/2026; its text was not
available, so the MA_LOAI_KCB list below is left open-ended and must be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class CodedValue:
    """One code and its Vietnamese label."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class CodeList:
    """A dated list of codes for one XML field."""

    field: str
    source: str
    effective_from: date
    effective_to: date | None
    values: tuple[CodedValue, ...]
    note: str = ""

    def in_force(self, day: date) -> bool:
        """Return True when the list applies on *day*."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def codes(self) -> tuple[str, ...]:
        """Return the codes in order."""
        return tuple(v.code for v in self.values)

    def choices(self) -> list[tuple[str, str]]:
        """Return (code, "code - label") pairs for a select box."""
        return [(v.code, f"{v.code} - {v.label}") for v in self.values]

    def label(self, code: str) -> str:
        """Return the label of *code*, or raise ValueError with a Vietnamese message."""
        for value in self.values:
            if value.code == code:
                return value.label
        raise ValueError(f"Mã {code!r} không có trong danh mục {self.field} ({self.source}).")

    def is_valid(self, code: str) -> bool:
        """Return True when *code* (a string) is on the list."""
        return isinstance(code, str) and code in self.codes()


_QD_4750 = "QĐ 4750/QĐ-BYT (bảng XML1)"
_QD_4750_FROM = date(2024, 7, 1)

KET_QUA_DTRI = CodeList(
    field="KET_QUA_DTRI",
    source=_QD_4750,
    effective_from=_QD_4750_FROM,
    effective_to=None,
    values=(
        CodedValue("1", "Khỏi"),
        CodedValue("2", "Đỡ"),
        CodedValue("3", "Không thay đổi"),
        CodedValue("4", "Nặng hơn"),
        CodedValue("5", "Tử vong"),
        CodedValue("6", "Tiên lượng nặng xin về"),
        CodedValue("7", "Chưa xác định"),
        CodedValue("8", "Tử vong ngoại viện"),
    ),
)

MA_LOAI_RV = CodeList(
    field="MA_LOAI_RV",
    source=_QD_4750,
    effective_from=_QD_4750_FROM,
    effective_to=None,
    values=(
        CodedValue("1", "Ra viện"),
        CodedValue("2", "Chuyển tuyến theo yêu cầu chuyên môn"),
        CodedValue("3", "Trốn viện"),
        CodedValue("4", "Xin ra viện"),
        CodedValue("5", "Chuyển tuyến theo yêu cầu người bệnh"),
    ),
)

#: Visit types a commune station uses. Inpatient codes (03, 04, 06, 08, 09) are left out.
MA_LOAI_KCB = CodeList(
    field="MA_LOAI_KCB",
    source="QĐ 824/QĐ-BYT (DMDC) theo QĐ 4750/QĐ-BYT",
    effective_from=_QD_4750_FROM,
    effective_to=None,
    values=(
        CodedValue("01", "Khám bệnh"),
        CodedValue("02", "Điều trị ngoại trú"),
        CodedValue("05", "Điều trị ngoại trú bệnh mạn tính dài ngày, có khám bệnh và lĩnh thuốc"),
        CodedValue("07", "Nhận thuốc theo hẹn (không khám bệnh)"),
    ),
    note="Kiểm tra lại theo QĐ 1804/QĐ-BYT (áp dụng từ 01/08/2026).",
)

OUTPATIENT_EXAM = "01"
DISCHARGED = "1"
#: MA_LOAI_RV codes that mean the patient was referred on (a referral form goes with them, DOMAIN §6).
REFERRAL_CODES = frozenset({"2", "5"})

CODE_LISTS: dict[str, tuple[CodeList, ...]] = {
    "KET_QUA_DTRI": (KET_QUA_DTRI,),
    "MA_LOAI_RV": (MA_LOAI_RV,),
    "MA_LOAI_KCB": (MA_LOAI_KCB,),
}


def code_list_for(field: str, day: date | datetime) -> CodeList:
    """Return the list for XML1 *field* in force on *day* (the episode date)."""
    if isinstance(day, datetime):
        day = day.date()
    lists = CODE_LISTS.get(field)
    if lists is None:
        raise KeyError(f"Không có danh mục cho trường {field}.")
    for code_list in lists:
        if code_list.in_force(day):
            return code_list
    raise LookupError(f"Không có danh mục {field} áp dụng cho ngày {day:%d/%m/%Y}.")


def is_referral(ma_loai_rv: str) -> bool:
    """Return True when the discharge type is a referral (codes "2" and "5")."""
    return ma_loai_rv in REFERRAL_CODES
