"""Outpatient prescription rules of TT 26/2025/TT-BYT as pure functions (DOMAIN §5, decision 6).

Nothing here touches Flask or the database: services pass plain data in and get codes,
quantities, display strings, alerts and :class:`Violation` lists back.

Immutability (TT 26 Đ12, QĐ 425 Đ9 k3 c): a prescription code never changes. Before the
prescription is sent to the national e-prescription system it may still be edited under the same
code; once sent it is frozen. A correction is a *new* prescription, with a new code, whose
``replaces_code`` points to the old one (:func:`replacement_for`); the old one is kept as sent.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from station.catalog.icd10 import compact_code
from station.text import clean, fold

DATA_DIR = Path(__file__).resolve().parent / "data"
CHRONIC_LIST_PATH = DATA_DIR / "chronic_conditions_90d.json"

#: ``xxxxxyyyyyyy-z``: 5-character facility code, 7 random [0-9a-z], type letter (DOMAIN §5).
CODE_RE = re.compile(r"^[A-Z0-9]{5}[0-9a-z]{7}-[NHCT]$")
FACILITY_RE = re.compile(r"^[A-Z0-9]{5}$")
_RANDOM_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_RANDOM_RE = re.compile(r"^[0-9a-z]{7}$")

MAX_DOSE_PER_TIME = Decimal(100)
MAX_TIMES_PER_DAY = 24
MAX_QUANTITY = Decimal(10_000)
CHILD_AGE_MONTHS = 72
MIN_OVERRIDE_REASON = 5

# Rule names shown to users; every violation and error names one of them.
RULE_CODE = "TT 26/2025 PL I: mã đơn thuốc"
RULE_MAX_30 = "TT 26/2025: tối đa 30 ngày"
RULE_MAX_90 = "TT 26/2025 PL VII: tối đa 90 ngày"
RULE_NARCOTIC_DAYS = "TT 26/2025: thuốc gây nghiện tối đa 7 ngày (cấp tính)"
RULE_NARCOTIC_CHRONIC_DAYS = "TT 26/2025: thuốc gây nghiện tối đa 30 ngày (mạn tính)"
RULE_PSYCHOTROPIC_DAYS = "TT 26/2025: thuốc hướng thần tối đa 10 ngày (cấp tính)"
RULE_PSYCHOTROPIC_CHRONIC_DAYS = "TT 26/2025: thuốc hướng thần tối đa 30 ngày (mạn tính)"
RULE_DOSE = "Kiểm tra liều: liều mỗi lần từ trên 0 đến 100 đơn vị"
RULE_TIMES = "Kiểm tra liều: 1 đến 24 lần mỗi ngày"
RULE_DAYS = "Kiểm tra liều: số ngày dùng từ 1 trở lên"
RULE_QUANTITY = "Kiểm tra số lượng: tối đa 10.000 đơn vị mỗi dòng thuốc"
RULE_CHILD = "TT 26/2025 Đ6: trẻ dưới 72 tháng tuổi"
RULE_PATIENT = "TT 26/2025 Đ6: thông tin người bệnh"
RULE_CONTENT = "TT 26/2025 Đ6: nội dung đơn thuốc"
RULE_ADVICE = "TT 26/2025 Đ6: lời dặn"
RULE_TYPE = "TT 26/2025: loại đơn N/H/C/T"
RULE_FORM_N_BEDS = "TT 26/2025: đơn N chỉ dùng ở cơ sở có giường nội trú"
RULE_RECEIVER = "TT 26/2025: đơn N, H ghi người nhận thuốc"
RULE_POISON_FIRST = "TT 26/2025 Đ6: thuốc độc ghi trước"
RULE_SUPPLEMENT = "Luật KCB Đ63 k2: không kê thực phẩm chức năng"
RULE_ALLERGY = "An toàn kê đơn: dị ứng thuốc"
RULE_DUPLICATE = "An toàn kê đơn: trùng hoạt chất"
RULE_IMMUTABLE = "TT 26/2025 Đ12, QĐ 425 Đ9: đơn đã gửi không được sửa"


class PrescriptionType(StrEnum):
    """The type suffix of the code (DOMAIN §5)."""

    NARCOTIC = "N"  # thuốc gây nghiện
    PSYCHOTROPIC = "H"  # thuốc hướng thần, thuốc tiền chất
    OTHER = "C"  # thuốc thông thường
    HERBAL = "T"  # thuốc thang (TT 55/2025)


TYPE_LABELS: dict[PrescriptionType, str] = {
    PrescriptionType.NARCOTIC: "Đơn thuốc gây nghiện",
    PrescriptionType.PSYCHOTROPIC: "Đơn thuốc hướng thần, tiền chất",
    PrescriptionType.OTHER: "Đơn thuốc",
    PrescriptionType.HERBAL: "Đơn thuốc thang",
}


class PrescriptionRuleError(ValueError):
    """A rule was broken; ``rule`` names it, the message explains it in Vietnamese."""

    def __init__(self, rule: str, message: str) -> None:
        """Keep the *rule* name and the *message*."""
        self.rule = rule
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule; ``blocking`` False means a warning that does not stop issuing."""

    rule: str
    message: str
    line: int | None = None
    blocking: bool = True


@dataclass(frozen=True, slots=True)
class Alert:
    """A safety warning that needs an explicit :class:`Override` with a reason."""

    key: str
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Override:
    """The prescriber's decision to go ahead despite the alert with this *key*."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Drug:
    """A drug as prescribed: brand name, INN ingredients and the flags the rules need."""

    name: str
    ingredients: tuple[str, ...]
    strength: str = ""
    unit: str = "viên"
    #: Dispensed in countable units (tablets, capsules, ampoules): totals round up.
    whole_units: bool = True
    prescription_type: PrescriptionType = PrescriptionType.OTHER
    biologic: bool = False
    poison: bool = False
    supplement: bool = False


@dataclass(frozen=True, slots=True)
class PrescriptionLine:
    """One drug line: dose per time, times per day and days."""

    drug: Drug
    dose_per_time: Decimal
    times_per_day: int
    days: int
    route: str = "Uống"
    timing: str = ""


@dataclass(frozen=True, slots=True)
class PatientInfo:
    """What the rules need to know about the patient."""

    birth_date: date | None
    sex: str | None = None
    address: str | None = None
    personal_id: str | None = None
    weight_kg: Decimal | None = None
    allergies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Companion:
    """The person accompanying a child: name and, when given, personal ID."""

    name: str
    personal_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChronicList:
    """ICD-10 prefixes of the conditions allowed 90 days (TT 26/2025 PL VII), dated."""

    prefixes: tuple[str, ...]
    source: str
    effective_from: date
    effective_to: date | None = None

    def in_force(self, day: date) -> bool:
        """Return True when the list applies on *day*."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def matches(self, code: str) -> bool:
        """Return True when *code* is on the list (a prefix matches every code below it)."""
        compact = compact_code(code)
        return any(compact.startswith(prefix) for prefix in self.prefixes)


@dataclass(frozen=True, slots=True)
class PrescriptionDraft:
    """Everything :func:`validate_prescription` checks."""

    facility_code: str
    prescription_type: PrescriptionType
    prescribed_on: date
    patient: PatientInfo
    diagnoses: tuple[str, ...]
    lines: tuple[PrescriptionLine, ...]
    advice: str = ""
    companion: Companion | None = None
    receiver_name: str | None = None
    facility_has_inpatient_beds: bool = False
    #: Long-term treatment (changes the limits of N and H drugs).
    chronic_treatment: bool = False
    code: str | None = None
    replaces_code: str | None = None
    overrides: tuple[Override, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Replacement:
    """A new prescription replacing one already sent."""

    new_code: str
    replaces_code: str
    note: str


# --- codes -----------------------------------------------------------------------------------


def _draw_random() -> str:
    """Return 7 characters from [0-9a-z] drawn with the CSPRNG."""
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(7))


def new_prescription_code(
    facility_code: str,
    prescription_type: PrescriptionType,
    is_taken: Callable[[str], bool],
    *,
    max_attempts: int = 20,
    draw: Callable[[], str] = _draw_random,
) -> str:
    """Return a fresh ``xxxxxyyyyyyy-z`` code, drawing again while ``is_taken(code)`` is True."""
    if not FACILITY_RE.match(facility_code):
        raise PrescriptionRuleError(
            RULE_CODE, f"Mã cơ sở phải gồm 5 ký tự chữ in hoa hoặc số: {facility_code!r}."
        )
    suffix = PrescriptionType(prescription_type).value
    for _ in range(max_attempts):
        random_part = draw()
        if not _RANDOM_RE.match(random_part):
            raise PrescriptionRuleError(RULE_CODE, f"Phần ngẫu nhiên phải gồm 7 ký tự [0-9a-z]: {random_part!r}.")
        code = f"{facility_code}{random_part}-{suffix}"
        if not is_taken(code):
            return code
    raise PrescriptionRuleError(RULE_CODE, f"Không tạo được mã đơn thuốc chưa dùng sau {max_attempts} lần thử.")


def is_valid_code(code: str) -> bool:
    """Return True when *code* has the TT 26 format."""
    return bool(CODE_RE.match(code))


def code_type(code: str) -> PrescriptionType:
    """Return the type encoded in the suffix of a valid *code*."""
    if not is_valid_code(code):
        raise PrescriptionRuleError(RULE_CODE, f"Mã đơn thuốc không đúng định dạng xxxxxyyyyyyy-z: {code!r}.")
    return PrescriptionType(code[-1])


def ensure_editable(code: str, sent: bool) -> None:
    """Raise when the prescription *code* was already sent: only a replacement may correct it."""
    if sent:
        raise PrescriptionRuleError(
            RULE_IMMUTABLE,
            f"Đơn thuốc {code} đã gửi lên Hệ thống đơn thuốc quốc gia, không được sửa. "
            "Hãy kê đơn mới thay thế đơn này.",
        )


def replacement_for(original_code: str, new_code: str) -> Replacement:
    """Describe *new_code* replacing *original_code*: same facility, different code, link kept."""
    code_type(original_code)
    code_type(new_code)
    if new_code == original_code:
        raise PrescriptionRuleError(RULE_IMMUTABLE, "Đơn thay thế phải có mã mới, khác mã đơn cũ.")
    if new_code[:5] != original_code[:5]:
        raise PrescriptionRuleError(RULE_IMMUTABLE, "Đơn thay thế phải do cùng cơ sở khám bệnh, chữa bệnh kê.")
    return Replacement(new_code, original_code, f"Đơn thuốc {new_code} thay thế đơn {original_code}.")


# --- quantities ------------------------------------------------------------------------------


def _decimal(value: Decimal | int | str, what: str) -> Decimal:
    """Return *value* as a finite Decimal; floats are refused (binary rounding)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{what} phải là Decimal, int hoặc chuỗi, không dùng float.")
    try:
        result = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise PrescriptionRuleError(RULE_DOSE, f"{what} không phải là số: {value!r}.") from exc
    if not result.is_finite():
        raise PrescriptionRuleError(RULE_DOSE, f"{what} không phải là số hữu hạn: {value!r}.")
    return result


def compute_quantity(
    dose_per_time: Decimal | int | str, times_per_day: int, days: int, *, whole_units: bool = True
) -> Decimal:
    """Return dose × times × days; countable units round up to whole units. Absurd input raises."""
    dose = _decimal(dose_per_time, "Liều mỗi lần")
    if dose <= 0:
        raise PrescriptionRuleError(RULE_DOSE, f"Liều mỗi lần phải lớn hơn 0 (đang là {dose}).")
    if dose > MAX_DOSE_PER_TIME:
        raise PrescriptionRuleError(RULE_DOSE, f"Liều mỗi lần {dose} vượt quá 100 đơn vị, hãy kiểm tra lại.")
    if isinstance(times_per_day, bool) or not isinstance(times_per_day, int) or not 1 <= times_per_day <= MAX_TIMES_PER_DAY:
        raise PrescriptionRuleError(RULE_TIMES, f"Số lần dùng mỗi ngày phải từ 1 đến 24 (đang là {times_per_day}).")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PrescriptionRuleError(RULE_DAYS, f"Số ngày dùng phải từ 1 trở lên (đang là {days}).")
    total = dose * times_per_day * days
    if whole_units:
        total = total.to_integral_value(rounding=ROUND_CEILING)
    if total > MAX_QUANTITY:
        raise PrescriptionRuleError(
            RULE_QUANTITY, f"Tổng số lượng {format_quantity(total)} vượt quá 10.000 đơn vị, hãy kiểm tra lại."
        )
    return total


def format_quantity(quantity: Decimal | int) -> str:
    """Return *quantity* as printed: under 10 with a leading zero ("05"), decimal comma ("02,5")."""
    value = _decimal(quantity, "Số lượng")
    if value < 0:
        raise ValueError(f"Số lượng không được âm: {value}.")
    integral = value.to_integral_value(rounding=ROUND_FLOOR)
    text = f"{int(integral):02d}"
    fraction = (value - integral).normalize()
    if fraction:
        text += "," + format(fraction, "f").split(".")[1]
    return text


_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _three_digits(n: int, full: bool) -> list[str]:
    """Return the words of 0 ≤ *n* < 1000; *full* reads "không trăm" and "linh" inside a number."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if hundreds or full:
                words.append("linh")
            words.append(_DIGITS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else _DIGITS[units])
    else:
        words += [_DIGITS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 5: "lăm"}.get(units, _DIGITS[units]))
    return words


def number_in_words(n: int) -> str:
    """Return 0 ≤ *n* < 1,000,000 in Vietnamese words (narcotic quantities): 15 -> "mười lăm"."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 1_000_000:
        raise ValueError(f"Chỉ đọc được số nguyên từ 0 đến 999.999: {n!r}.")
    if n == 0:
        return "không"
    thousands, rest = divmod(n, 1000)
    words: list[str] = []
    if thousands:
        words += _three_digits(thousands, full=False) + ["nghìn"]
    if rest:
        words += _three_digits(rest, full=bool(thousands))
    return " ".join(words)


def format_narcotic_quantity(quantity: int) -> str:
    """Return a narcotic quantity as the number followed by the number in words: "05 (năm)"."""
    return f"{format_quantity(quantity)} ({number_in_words(quantity)})"


# --- drug display ----------------------------------------------------------------------------


def display_name(drug: Drug, *, show_brand: bool = True) -> str:
    """Return the prescribed name: single ingredient "INN (brand)", multi-ingredient or biologic by brand."""
    brand = clean(drug.name)
    ingredients = [clean(i) for i in drug.ingredients if clean(i)]
    if len(ingredients) == 1 and not drug.biologic:
        inn = ingredients[0]
        if show_brand and brand and fold(brand) != fold(inn):
            return f"{inn} ({brand})"
        return inn
    return brand or " + ".join(ingredients)


def order_lines(lines: Iterable[PrescriptionLine]) -> list[PrescriptionLine]:
    """Return *lines* with poisons (thuốc độc) first, otherwise in the order given."""
    return sorted(lines, key=lambda line: not line.drug.poison)


# --- durations -------------------------------------------------------------------------------


def load_chronic_list(path: str | Path = CHRONIC_LIST_PATH) -> ChronicList:
    """Read the configured PL VII list (JSON: source, effective_from/to, conditions[].prefix)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    prefixes = tuple(sorted({compact_code(c["prefix"]) for c in data["conditions"]}))
    to = data.get("effective_to")
    return ChronicList(
        prefixes=prefixes,
        source=data["source"],
        effective_from=date.fromisoformat(data["effective_from"]),
        effective_to=date.fromisoformat(to) if to else None,
    )


def _max_days_rule(drug: Drug, patient_conditions: Iterable[str], chronic_list: ChronicList | None,
                   chronic_treatment: bool, on: date | None) -> tuple[int, str]:
    """Return (days allowed, rule name) for *drug*."""
    if drug.prescription_type is PrescriptionType.NARCOTIC:
        return (30, RULE_NARCOTIC_CHRONIC_DAYS) if chronic_treatment else (7, RULE_NARCOTIC_DAYS)
    if drug.prescription_type is PrescriptionType.PSYCHOTROPIC:
        return (30, RULE_PSYCHOTROPIC_CHRONIC_DAYS) if chronic_treatment else (10, RULE_PSYCHOTROPIC_DAYS)
    if chronic_list is not None and (on is None or chronic_list.in_force(on)):
        if any(chronic_list.matches(code) for code in patient_conditions):
            return 90, RULE_MAX_90
    return 30, RULE_MAX_30


def max_days(
    drug: Drug,
    patient_conditions: Iterable[str],
    chronic_list: ChronicList | None,
    *,
    chronic_treatment: bool = False,
    on: date | None = None,
) -> int:
    """Return the longest allowed duration: 30, or 90 for a PL VII condition; N 7/30, H 10/30."""
    return _max_days_rule(drug, patient_conditions, chronic_list, chronic_treatment, on)[0]


# --- patient checks --------------------------------------------------------------------------


def age_in_months(birth_date: date, on: date) -> int:
    """Return completed months between *birth_date* and *on*."""
    months = (on.year - birth_date.year) * 12 + on.month - birth_date.month
    return months - 1 if on.day < birth_date.day else months


def check_child_requirements(
    birth_date: date | None, on: date, weight_kg: Decimal | None, companion: Companion | None
) -> list[Violation]:
    """Return what a prescription for a child under 72 months lacks (age, weight, companion)."""
    if birth_date is None:
        return [Violation(RULE_CHILD, "Thiếu ngày sinh: không xác định được trẻ dưới 72 tháng tuổi hay không.")]
    if age_in_months(birth_date, on) >= CHILD_AGE_MONTHS:
        return []
    found: list[Violation] = []
    if weight_kg is None or weight_kg <= 0:
        found.append(Violation(RULE_CHILD, "Trẻ dưới 72 tháng tuổi: phải ghi cân nặng."))
    if companion is None or not clean(companion.name):
        found.append(Violation(RULE_CHILD, "Trẻ dưới 72 tháng tuổi: phải ghi tên bố, mẹ hoặc người đưa trẻ đi khám."))
    elif not (companion.personal_id and clean(companion.personal_id)):
        # DOMAIN §5 requires the name only; the ID is asked for but does not block.
        found.append(
            Violation(RULE_CHILD, "Trẻ dưới 72 tháng tuổi: nên ghi số định danh của người đưa trẻ đi khám.",
                      blocking=False)
        )
    return found


def _words_match(a: str, b: str) -> bool:
    """Return True when folded *a* appears as whole words in folded *b*, or the reverse."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return False
    return bool(re.search(rf"\b{re.escape(fa)}\b", fb) or re.search(rf"\b{re.escape(fb)}\b", fa))


def check_allergies(lines: Sequence[PrescriptionLine], allergies: Iterable[str]) -> list[Alert]:
    """Return an alert for each line whose ingredient or brand matches a recorded allergy."""
    alerts: list[Alert] = []
    for allergy in allergies:
        if not clean(allergy):
            continue
        for n, line in enumerate(lines, start=1):
            names = (*line.drug.ingredients, line.drug.name)
            if any(_words_match(allergy, name) for name in names):
                alerts.append(
                    Alert(
                        key=f"allergy:{fold(allergy)}:{n}",
                        rule=RULE_ALLERGY,
                        message=f"Dòng {n} ({display_name(line.drug)}): người bệnh có tiền sử dị ứng {clean(allergy)}.",
                    )
                )
    return alerts


def check_duplicate_ingredients(lines: Sequence[PrescriptionLine]) -> list[Alert]:
    """Return an alert for each active ingredient that appears on more than one line."""
    seen: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for n, line in enumerate(lines, start=1):
        for ingredient in {fold(i): clean(i) for i in line.drug.ingredients if clean(i)}.items():
            seen.setdefault(ingredient[0], []).append(n)
            names.setdefault(ingredient[0], ingredient[1])
    return [
        Alert(
            key=f"duplicate:{key}",
            rule=RULE_DUPLICATE,
            message=f"Hoạt chất {names[key]} có ở các dòng {', '.join(map(str, where))}.",
        )
        for key, where in seen.items()
        if len(where) > 1
    ]


def unresolved_alerts(alerts: Iterable[Alert], overrides: Iterable[Override]) -> list[Alert]:
    """Return the alerts without an override carrying a reason of at least 5 characters."""
    accepted = {o.key for o in overrides if len(clean(o.reason)) >= MIN_OVERRIDE_REASON}
    return [a for a in alerts if a.key not in accepted]


# --- whole prescription ----------------------------------------------------------------------


def validate_prescription(draft: PrescriptionDraft, chronic_list: ChronicList | None) -> list[Violation]:
    """Return every broken rule of *draft*; an empty list means it may be issued."""
    found: list[Violation] = []
    kind = draft.prescription_type
    if draft.code is not None:
        if not is_valid_code(draft.code):
            found.append(Violation(RULE_CODE, f"Mã đơn thuốc không đúng định dạng xxxxxyyyyyyy-z: {draft.code}."))
        elif draft.code[-1] != kind.value or draft.code[:5] != draft.facility_code:
            found.append(Violation(RULE_CODE, f"Mã đơn thuốc {draft.code} không khớp cơ sở hoặc loại đơn {kind.value}."))
    if draft.replaces_code is not None and (not is_valid_code(draft.replaces_code) or draft.replaces_code == draft.code):
        found.append(Violation(RULE_IMMUTABLE, f"Mã đơn được thay thế không hợp lệ: {draft.replaces_code}."))

    patient = draft.patient
    if not (patient.personal_id and clean(patient.personal_id)):
        missing = [label for label, value in (("ngày sinh", patient.birth_date), ("giới tính", patient.sex),
                                              ("địa chỉ", patient.address)) if not value]
        if missing:
            found.append(Violation(RULE_PATIENT, "Không có số định danh cá nhân: phải ghi " + ", ".join(missing) + "."))
    found += check_child_requirements(patient.birth_date, draft.prescribed_on, patient.weight_kg, draft.companion)
    if not draft.diagnoses:
        found.append(Violation(RULE_CONTENT, "Đơn thuốc chưa có chẩn đoán."))
    if not draft.lines:
        found.append(Violation(RULE_CONTENT, "Đơn thuốc chưa có thuốc nào."))
    if not clean(draft.advice):
        found.append(Violation(RULE_ADVICE, "Phải ghi lời dặn (kể cả ngày hẹn khám lại nếu có)."))
    if kind is PrescriptionType.NARCOTIC and not draft.facility_has_inpatient_beds:
        found.append(Violation(RULE_FORM_N_BEDS, "Cơ sở không có giường bệnh nội trú nên không được kê đơn N."))
    if kind in (PrescriptionType.NARCOTIC, PrescriptionType.PSYCHOTROPIC) and not clean(draft.receiver_name or ""):
        found.append(Violation(RULE_RECEIVER, f"Đơn {kind.value} phải ghi họ tên người nhận thuốc."))

    non_poison_seen = False
    for n, line in enumerate(draft.lines, start=1):
        drug = line.drug
        name = display_name(drug)
        if drug.supplement:
            found.append(Violation(RULE_SUPPLEMENT, f"{name} là thực phẩm chức năng, không được kê đơn.", n))
        if drug.prescription_type is not kind:
            found.append(Violation(
                RULE_TYPE,
                f"{name} phải kê trên {TYPE_LABELS[drug.prescription_type].lower()} "
                f"(loại {drug.prescription_type.value}), đơn này là loại {kind.value}.",
                n,
            ))
        if drug.poison and non_poison_seen:
            found.append(Violation(RULE_POISON_FIRST, f"{name} là thuốc độc, phải ghi trước các thuốc khác.", n))
        non_poison_seen = non_poison_seen or not drug.poison
        try:
            compute_quantity(line.dose_per_time, line.times_per_day, line.days, whole_units=drug.whole_units)
        except PrescriptionRuleError as exc:
            found.append(Violation(exc.rule, f"{name}: {exc}", n))
        limit, rule = _max_days_rule(drug, draft.diagnoses, chronic_list, draft.chronic_treatment, draft.prescribed_on)
        if isinstance(line.days, int) and line.days > limit:
            found.append(Violation(rule, f"{name}: kê {line.days} ngày, tối đa {limit} ngày.", n))

    alerts = check_allergies(draft.lines, patient.allergies) + check_duplicate_ingredients(draft.lines)
    for alert in unresolved_alerts(alerts, draft.overrides):
        found.append(Violation(alert.rule, alert.message + " Cần xác nhận và ghi lý do để tiếp tục."))
    return found
