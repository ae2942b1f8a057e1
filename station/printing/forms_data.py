"""The data contracts of printed documents: plain dataclasses built from plain dicts.

Other areas build these contexts from their own models and hand them to
:mod:`station.printing.pdf` (A4/A5 forms) or to
:func:`station.printing.services.enqueue` (thermal slips, as the dict of the
matching ``printers`` layout dataclass). Every context can be given either as
the dataclass or as a JSON-like dict: :func:`build` turns ISO date strings,
numbers-as-strings and nested dicts into the typed fields, so the same dict
that is stored in a ``PrintJob.payload`` renders the same document again.

Form contexts (``FORM_TYPES`` maps the form name to its dataclass):

``prescription``  :class:`PrescriptionForm`  đơn thuốc, TT 26/2025 (A4)
``referral``      :class:`ReferralForm`      phiếu chuyển cơ sở KCB, TT 01/2025 PL VI (A4)
``followup``      :class:`FollowUpForm`      giấy hẹn khám lại, TT 01/2025 PL V (A5)
``receipt``       :class:`ReceiptForm`       biên lai thu tiền (A5)
``summary``       :class:`PatientSummaryForm` tóm tắt hồ sơ sức khỏe (A4)
"""

from __future__ import annotations

import dataclasses
import types
from collections import abc
import typing
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from station.clock import LOCAL_TZ

T = TypeVar("T")

CHILD_AGE_MONTHS = 72


class ContextError(ValueError):
    """A document context is missing a field or holds a value of the wrong kind (Vietnamese message)."""


# ---------------------------------------------------------------------------
# Generic dict -> dataclass conversion
# ---------------------------------------------------------------------------

def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert *value* to the type *hint* (dataclass, list, date, datetime, Decimal, int, str, Optional)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is None or value == "":
            if type(None) in typing.get_args(hint):
                return None
        last: Exception | None = None
        for option in options:
            try:
                return _coerce(value, option, where)
            except ContextError as error:
                last = error
        raise last or ContextError(f"Trường {where} không hợp lệ.")
    if origin in (list, tuple, abc.Sequence):
        if not isinstance(value, (list, tuple)):
            raise ContextError(f"Trường {where} phải là một danh sách.")
        (item_hint,) = typing.get_args(hint)[:1] or (Any,)
        return [_coerce(item, item_hint, f"{where}[{i}]") for i, item in enumerate(value)]
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            raise ContextError(f"Trường {where} phải là một bảng giá trị.")
        return build(hint, value, where=where)  # type: ignore[arg-type]
    if hint is datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ContextError(f"Trường {where}: thời điểm không hợp lệ ({value!r}).") from None
        return parsed
    if hint is date:
        if isinstance(value, datetime):
            return (value.astimezone(LOCAL_TZ) if value.tzinfo else value).date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise ContextError(f"Trường {where}: ngày không hợp lệ ({value!r}).") from None
    if hint is Decimal:
        try:
            return value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise ContextError(f"Trường {where}: số không hợp lệ ({value!r}).") from None
    if hint is int:
        if isinstance(value, bool):
            raise ContextError(f"Trường {where}: cần một số nguyên.")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ContextError(f"Trường {where}: cần một số nguyên ({value!r}).") from None
        if number != number.to_integral_value():
            raise ContextError(f"Trường {where}: cần một số nguyên ({value!r}).")
        return int(number)
    if hint is bool:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on", "có")
        return bool(value)
    if hint is str:
        if isinstance(value, (dict, list)):
            raise ContextError(f"Trường {where} phải là chữ.")
        return unicodedata.normalize("NFC", str(value))
    return value


def build(cls: type[T], data: dict[str, Any] | T, *, where: str = "") -> T:
    """Build dataclass *cls* from a JSON-like dict, coercing each field to its annotation.

    Unknown keys are ignored (a payload may carry routing extras such as ``reprint``
    for documents that have no such field). Raises :class:`ContextError` naming the field.
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ContextError(f"Dữ liệu {where or cls.__name__} phải là một bảng giá trị.")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        label = f"{where}.{item.name}" if where else item.name
        if item.name in data:
            values[item.name] = _coerce(data[item.name], hints[item.name], label)
        elif item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            raise ContextError(f"Thiếu trường bắt buộc: {label}.")
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ContextError(f"Dữ liệu {where or cls.__name__} không hợp lệ: {error}") from error


def to_plain(value: Any) -> Any:
    """Turn a context (dataclasses, dates, Decimals) into JSON-storable values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# ---------------------------------------------------------------------------
# Shared parts
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FacilityInfo:
    """The issuing station, as printed in the form header."""

    name: str  #: "Trạm Y tế phường Hoàn Kiếm"
    code: str = ""  #: MA_CSKCB, 5 characters
    parent: str = ""  #: governing body line, e.g. "SỞ Y TẾ HÀ NỘI" or "UBND PHƯỜNG HOÀN KIẾM"
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class PatientInfo:
    """Patient identity as the forms print it."""

    full_name: str
    birth_date: date | None = None
    birth_year: int | None = None  #: when only the year is known
    sex: str = ""  #: "Nam" / "Nữ" (printed as given)
    patient_code: str = ""
    id_number: str = ""  #: CCCD / personal ID / passport
    bhyt_code: str = ""  #: 15-character BHYT card code
    bhyt_valid_to: date | None = None
    address: str = ""
    phone: str = ""
    weight_kg: Decimal | None = None  #: required on prescriptions for children under 72 months
    companion_name: str = ""  #: accompanying person for a child (TT 26/2025 Đ6)
    ethnicity: str = ""
    occupation: str = ""


@dataclass(frozen=True)
class Diagnosis:
    """One diagnosis with its ICD-10 code."""

    name: str
    icd_code: str = ""


def age_in_months(birth: date, on: date) -> int:
    """Return the completed months between *birth* and *on*."""
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if on.day < birth.day:
        months -= 1
    return max(0, months)


def age_text(patient: PatientInfo, on: date) -> str:
    """Return "18 tháng tuổi" for a child under 72 months, else "35 tuổi" (or "")."""
    if patient.birth_date is not None:
        months = age_in_months(patient.birth_date, on)
        if months < CHILD_AGE_MONTHS:
            return f"{months} tháng tuổi"
        return f"{months // 12} tuổi"
    if patient.birth_year:
        return f"{on.year - patient.birth_year} tuổi"
    return ""


def is_child(patient: PatientInfo, on: date) -> bool:
    """Return True for a child under 72 months (TT 26/2025 Đ6: age in months, weight, companion)."""
    return patient.birth_date is not None and age_in_months(patient.birth_date, on) < CHILD_AGE_MONTHS


def quantity_text(quantity: Decimal | int) -> str:
    """Format a drug quantity: whole numbers under 10 with a leading zero ("05"), decimals with a comma."""
    value = Decimal(quantity)
    if value == value.to_integral_value():
        number = int(value)
        return f"{number:02d}" if 0 <= number < 10 else str(number)
    return format(value.normalize(), "f").replace(".", ",")


# ---------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DrugLine:
    """One prescribed drug (TT 26/2025 Đ6 k5-k7)."""

    name: str  #: INN, optionally "INN (brand)"; brand name for multi-ingredient drugs
    quantity: Decimal
    unit: str  #: "viên", "gói", "lọ"
    usage: str  #: "Uống, sáng 1 viên, tối 1 viên, sau ăn"
    strength: str = ""  #: "500mg"
    days: int | None = None
    quantity_in_words: str = ""  #: required for narcotics ("mười")


@dataclass(frozen=True)
class PrescriptionForm:
    """Đơn thuốc (TT 26/2025): context of the ``prescription`` form."""

    facility: FacilityInfo
    prescription_code: str  #: national code xxxxxyyyyyyy-z, printed as text and QR
    issued_at: datetime
    patient: PatientInfo
    diagnoses: list[Diagnosis]
    lines: list[DrugLine]
    doctor_name: str
    doctor_title: str = "Y sĩ"  #: printed above the signature ("Bác sĩ", "Y sĩ")
    advice: str = ""
    follow_up_date: date | None = None
    receiver_name: str = ""  #: forms N and H: the person who receives the drugs
    kind_label: str = "ĐƠN THUỐC"  #: "ĐƠN THUỐC \"N\"", "ĐƠN THUỐC \"H\"" ...
    reprint: bool = False


@dataclass(frozen=True)
class ReferralForm:
    """Phiếu chuyển cơ sở khám bệnh, chữa bệnh (TT 01/2025 PL VI): the ``referral`` form."""

    facility: FacilityInfo
    number: str  #: "Số: 12/2026/GCT"
    issued_at: datetime
    patient: PatientInfo
    to_facility: str  #: "Bệnh viện Đa khoa Xanh Pôn"
    diagnoses: list[Diagnosis]
    doctor_name: str
    treated_from: date | None = None
    treated_to: date | None = None
    clinical_signs: str = ""  #: Dấu hiệu lâm sàng
    test_results: str = ""  #: Kết quả xét nghiệm, cận lâm sàng
    treatment: str = ""  #: Phương pháp, thủ thuật, kỹ thuật, thuốc đã sử dụng
    condition_at_transfer: str = ""  #: Tình trạng người bệnh lúc chuyển
    reason: str = "Đủ điều kiện chuyển cơ sở khám bệnh, chữa bệnh"  #: Lý do chuyển
    direction: str = ""  #: Hướng điều trị
    transfer_at: datetime | None = None
    transport: str = ""  #: Phương tiện vận chuyển
    escort: str = ""  #: Họ tên, chức danh người hộ tống
    head_name: str = ""  #: Người có thẩm quyền (trưởng trạm)
    valid_until: date | None = None  #: 10 working days, or 1 year for PL III conditions
    reprint: bool = False


@dataclass(frozen=True)
class FollowUpForm:
    """Giấy hẹn khám lại (TT 01/2025 PL V): the ``followup`` form."""

    facility: FacilityInfo
    number: str
    issued_at: datetime
    patient: PatientInfo
    appointment_date: date
    doctor_name: str
    visit_date: date | None = None  #: Ngày khám / vào viện
    diagnoses: list[Diagnosis] = field(default_factory=list)
    appointment_place: str = ""
    appointment_time: str = ""
    note: str = ""
    reprint: bool = False


@dataclass(frozen=True)
class ReceiptLine:
    """One line of an A5 receipt."""

    name: str
    quantity: Decimal
    unit_price: int
    amount: int
    unit: str = ""


@dataclass(frozen=True)
class ReceiptForm:
    """Biên lai thu tiền (A5): the ``receipt`` form. Money is integer đồng."""

    facility: FacilityInfo
    receipt_number: str
    issued_at: datetime
    patient: PatientInfo
    items: list[ReceiptLine]
    total: int
    insurance_share: int
    patient_share: int
    cashier: str = ""
    payment_method: str = "Tiền mặt"
    amount_in_words: str = ""
    vietqr_payload: str = ""  #: EMVCo VietQR string; printed as a QR when given
    reprint: bool = False

    def __post_init__(self) -> None:
        """Check that the shares add up to the total."""
        if self.insurance_share + self.patient_share != self.total:
            raise ValueError("BHYT chi trả + người bệnh trả phải bằng tổng tiền")


@dataclass(frozen=True)
class VisitSummary:
    """One past visit in a record summary."""

    visit_date: date
    reason: str = ""
    diagnoses: list[Diagnosis] = field(default_factory=list)
    doctor_name: str = ""


@dataclass(frozen=True)
class PatientSummaryForm:
    """Tóm tắt hồ sơ sức khỏe: the ``summary`` form."""

    facility: FacilityInfo
    generated_at: datetime
    patient: PatientInfo
    blood_group: str = ""
    allergies: list[str] = field(default_factory=list)
    chronic_conditions: list[Diagnosis] = field(default_factory=list)
    visits: list[VisitSummary] = field(default_factory=list)
    vaccinations: list[str] = field(default_factory=list)
    notes: str = ""
    reprint: bool = False


FORM_TYPES: dict[str, type] = {
    "prescription": PrescriptionForm,
    "referral": ReferralForm,
    "followup": FollowUpForm,
    "receipt": ReceiptForm,
    "summary": PatientSummaryForm,
}

#: Vietnamese titles of the forms (print-queue page, timeline).
FORM_TITLES: dict[str, str] = {
    "prescription": "Đơn thuốc (A4)",
    "referral": "Phiếu chuyển cơ sở KCB (A4)",
    "followup": "Giấy hẹn khám lại (A5)",
    "receipt": "Biên lai thu tiền (A5)",
    "summary": "Tóm tắt hồ sơ sức khỏe (A4)",
}


# ---------------------------------------------------------------------------
# Sample contexts (demo pages, tests, benchmark)
# ---------------------------------------------------------------------------

def sample_context(form: str, *, lines: int = 3, station_name: str = "Trạm Y tế phường Hoàn Kiếm") -> dict[str, Any]:
    """Return a realistic sample context (plain dict) for *form*, as other areas would build it."""
    facility = {"name": station_name, "code": "01001", "parent": "UBND phường Hoàn Kiếm",
                "address": "12 Hàng Bài, phường Hoàn Kiếm, Hà Nội", "phone": "024 3825 1234"}
    patient = {"full_name": "Nguyễn Thị Hồng Nhung", "birth_date": "1986-04-12", "sex": "Nữ",
               "patient_code": "BN-000123", "id_number": "001186012345", "bhyt_code": "GD4010112345678",
               "bhyt_valid_to": "2026-12-31", "address": "Số 5 ngõ 12 Hàng Bài, phường Hoàn Kiếm, Hà Nội",
               "phone": "0912345678", "ethnicity": "Kinh", "occupation": "Giáo viên"}
    child = {"full_name": "Trần Minh Đức", "birth_date": "2024-03-02", "sex": "Nam", "weight_kg": "11.5",
             "companion_name": "Trần Thị Lụa (mẹ)", "bhyt_code": "TE1010198765432",
             "address": "Tổ 3, phường Hoàn Kiếm, Hà Nội"}
    diagnoses = [{"name": "Viêm họng cấp", "icd_code": "J02.9"}, {"name": "Sốt, không đặc hiệu", "icd_code": "R50.9"}]
    drugs = [
        {"name": "Paracetamol", "strength": "500mg", "quantity": 10, "unit": "viên",
         "usage": "Uống, mỗi lần 1 viên khi sốt trên 38,5 độ, cách nhau ít nhất 4 giờ", "days": 3},
        {"name": "Amoxicillin", "strength": "500mg", "quantity": 21, "unit": "viên",
         "usage": "Uống, sáng 1 viên, trưa 1 viên, tối 1 viên, sau ăn", "days": 7},
        {"name": "Natri clorid 0,9%", "strength": "10ml", "quantity": 5, "unit": "lọ",
         "usage": "Nhỏ mũi, mỗi bên 2 giọt, ngày 3 lần", "days": 5},
    ]
    issued = "2026-03-10T09:30:00+07:00"
    if form == "prescription":
        return {"facility": facility, "prescription_code": "01001a7k2m9q-C", "issued_at": issued,
                "patient": patient if lines != 0 else child, "diagnoses": diagnoses,
                "lines": [drugs[i % len(drugs)] for i in range(lines)], "doctor_name": "Phạm Quốc Việt",
                "doctor_title": "Bác sĩ", "advice": "Uống nhiều nước ấm, súc họng nước muối, tái khám ngay nếu sốt cao không giảm.",
                "follow_up_date": "2026-03-17"}
    if form == "referral":
        return {"facility": facility, "number": "12/2026/CT", "issued_at": issued, "patient": patient,
                "to_facility": "Bệnh viện Đa khoa Xanh Pôn", "diagnoses": [{"name": "Viêm phổi", "icd_code": "J18.9"}],
                "doctor_name": "Phạm Quốc Việt", "treated_from": "2026-03-08", "treated_to": "2026-03-10",
                "clinical_signs": "Sốt 39 độ, ho đờm, ran nổ đáy phổi phải.", "test_results": "SpO2 94%.",
                "treatment": "Paracetamol 500mg, Amoxicillin 500mg.", "condition_at_transfer": "Tỉnh, tự thở, sốt 38,5 độ.",
                "direction": "Chụp X-quang phổi, điều trị kháng sinh.", "transfer_at": issued, "transport": "Xe cứu thương",
                "escort": "Lê Thị Hòa, điều dưỡng", "head_name": "Đỗ Văn Hùng", "valid_until": "2026-03-24"}
    if form == "followup":
        return {"facility": facility, "number": "HEN-2026-000055", "issued_at": issued, "patient": patient,
                "appointment_date": "2026-03-17", "appointment_time": "08:00", "doctor_name": "Phạm Quốc Việt",
                "visit_date": "2026-03-10", "diagnoses": diagnoses, "appointment_place": "Phòng khám số 2",
                "note": "Mang theo đơn thuốc và thẻ BHYT."}
    if form == "receipt":
        items = [{"name": "Khám bệnh", "unit": "lần", "quantity": 1, "unit_price": 34500, "amount": 34500},
                 {"name": "Paracetamol 500mg", "unit": "viên", "quantity": 10, "unit_price": 500, "amount": 5000},
                 {"name": "Amoxicillin 500mg", "unit": "viên", "quantity": 21, "unit_price": 1500, "amount": 31500}]
        return {"facility": facility, "receipt_number": "BL-2026-000426", "issued_at": issued, "patient": patient,
                "items": items, "total": 71000, "insurance_share": 56800, "patient_share": 14200,
                "cashier": "Lê Thị Ánh", "amount_in_words": "Mười bốn nghìn hai trăm đồng",
                "vietqr_payload": "00020101021238570010A00000072701270006970422011301234567890120208QRIBFTTA53037045802VN6304ABCD"}
    if form == "summary":
        return {"facility": facility, "generated_at": issued, "patient": patient, "blood_group": "O+",
                "allergies": ["Penicillin: nổi mày đay"], "chronic_conditions": [{"name": "Tăng huyết áp vô căn", "icd_code": "I10"}],
                "visits": [{"visit_date": "2026-03-10", "reason": "Sốt, đau họng", "diagnoses": diagnoses,
                            "doctor_name": "Phạm Quốc Việt"}],
                "vaccinations": ["Viêm gan B (2015)", "Uốn ván (2020)"]}
    raise KeyError(form)
