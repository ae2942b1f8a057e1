"""The station's list of 46 health-record fields and how complete each record is.

Modelled on the 46 fields of the electronic health book (QĐ 1332/QĐ-BYT Phụ lục B,
Hanoi's "46/46"), whose full numbered list was not found (DOMAIN §4.2 ❓). The
list below is the station's own, built from the known field groups (QĐ 31/QĐ-BYT
Đ2 k3) and the QĐ 831 record sections; numbers 9 (place that manages the record)
and 12–15 (guardian / representative / caregiver) follow the known positions.
docs/health-record-fields.md says which field is which and what is unverified.

Each field is data: a number, a key, a Vietnamese label, a group, and two
definitions of "filled" that must agree (tests check them on the same records):

* ``check(patient, today)`` for one record already loaded (the record page);
* ``sql(today)`` for counting over a commune (the completeness page), one query.

A field that does not apply (birth conditions of an adult, reproductive history of
a man) counts as filled. Ages use the birth year, so both definitions agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from station.clock import UTC
from station.patients.models import BhytCard, Patient, PatientIdentifier

GROUPS: dict[str, str] = {
    "admin": "Thông tin hành chính",
    "history": "Tiền sử và yếu tố liên quan sức khỏe",
    "care": "Khám, chữa bệnh tại trạm",
}
#: History sections that may be confirmed as "none" (Patient.none_declared).
DECLARABLE: dict[str, str] = {"allergies": "Không có dị ứng", "conditions": "Không có bệnh mạn tính/tiền sử bệnh",
                              "surgeries": "Chưa từng phẫu thuật", "family": "Gia đình không có bệnh cần lưu ý",
                              "disabilities": "Không khuyết tật", "vaccinations": "Không nhớ/không có tiêm chủng"}


@dataclass(frozen=True)
class RecordField:
    """One of the 46 fields."""

    number: int
    key: str
    label: str
    group: str
    check: Callable[[Patient, date], bool]
    sql: Callable[[date], Any]
    #: Who the field applies to, in words (for the docs and the page).
    applies_to: str = "mọi người"


@dataclass
class Completeness:
    """How complete one record is."""

    filled: int
    total: int
    missing: list[RecordField]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def percent(self) -> int:
        return round(100 * self.filled / self.total) if self.total else 100


# --- Field builders ----------------------------------------------------------------------

def _age(patient: Patient, today: date) -> int:
    return today.year - patient.birth_year


def _sql_age(today: date) -> Any:
    return literal(today.year) - Patient.birth_year


def _text(key: str, *columns: str) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    cols = columns or (key,)
    return (lambda p, t: any(bool(getattr(p, c)) for c in cols),
            lambda t: or_(*(getattr(Patient, c) != "" for c in cols)))


def _declared(section: str, relation: str, model_path: str) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    def check(p: Patient, t: date) -> bool:
        items = getattr(p, relation)
        if section == "allergies":
            items = [a for a in items if a.active]
        return bool(items) or section in p.none_declared.split(",")

    def sql(t: date) -> Any:
        model = _model(model_path)
        cond = [model.patient_id == Patient.id]
        if section == "allergies":
            cond.append(model.active.is_(True))
        return or_(exists().where(*cond), Patient.none_declared.contains(section))
    return check, sql


def _model(name: str) -> Any:
    from station.patients import models

    return getattr(models, name)


def _applies(predicate: Callable[[Patient, date], bool], sql_predicate: Callable[[date], Any],
             inner: tuple[Callable[[Patient, date], bool], Callable[[date], Any]]
             ) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    check, sql = inner
    return (lambda p, t: (not predicate(p, t)) or check(p, t),
            lambda t: or_(~sql_predicate(t), sql(t)))


def _child(max_age: int) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    return (lambda p, t: _age(p, t) < max_age), (lambda t: _sql_age(t) < max_age)


def _adult() -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    return (lambda p, t: _age(p, t) >= 15), (lambda t: _sql_age(t) >= 15)


def _woman_of_age() -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    return ((lambda p, t: p.sex == "female" and 15 <= _age(p, t) <= 49),
            (lambda t: and_(Patient.sex == "female", _sql_age(t) >= 15, _sql_age(t) <= 49)))


def _one(relation: str, model_name: str, attr: str) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    """A one-per-patient section (risk factors, ...) whose *attr* is set."""
    def check(p: Patient, t: date) -> bool:
        row = getattr(p, relation)
        return row is not None and getattr(row, attr) not in (None, "")

    def sql(t: date) -> Any:
        model = _model(model_name)
        column = getattr(model, attr)
        filled = column.is_not(None)
        if _is_str(column):
            filled = and_(filled, column != "")
        return exists().where(model.patient_id == Patient.id, filled)
    return check, sql


def _is_str(column: Any) -> bool:
    return isinstance(column.type, String)


def _identifier(*kinds: str) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    return ((lambda p, t: any(i.kind in kinds and i.status == "active" for i in p.identifiers)),
            (lambda t: exists().where(PatientIdentifier.patient_id == Patient.id, PatientIdentifier.kind.in_(kinds),
                                      PatientIdentifier.status == "active")))


def _card(attr: str | None) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    def check(p: Patient, t: date) -> bool:
        return any(attr is None or getattr(c, attr) not in (None, "") for c in p.bhyt_cards)

    def sql(t: date) -> Any:
        cond = [BhytCard.patient_id == Patient.id]
        if attr is not None:
            column = getattr(BhytCard, attr)
            cond.append(column != "" if attr == "registered_facility" else column.is_not(None))
        return exists().where(*cond)
    return check, sql


def _observation(kind: str) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    from station.visits.models import Observation

    def check(p: Patient, t: date) -> bool:
        return bool(getattr(p, "_completeness_observations", set()) & {kind})

    return check, lambda t: exists().where(Observation.patient_id == Patient.id, Observation.kind == kind)


def _visit(recent_days: int | None) -> tuple[Callable[[Patient, date], bool], Callable[[date], Any]]:
    from datetime import datetime

    from station.visits.models import Visit

    def since(t: date) -> datetime:
        return datetime(t.year, t.month, t.day, tzinfo=UTC) - timedelta(days=recent_days or 0)

    def check(p: Patient, t: date) -> bool:
        last = getattr(p, "_completeness_last_visit", None)
        if last is None:
            return False
        return recent_days is None or last >= since(t)

    def sql(t: date) -> Any:
        cond = [Visit.patient_id == Patient.id, Visit.status != "cancelled"]
        if recent_days is not None:
            cond.append(Visit.arrived_at >= since(t))
        return exists().where(*cond)
    return check, sql


def _f(number: int, key: str, label: str, group: str,
       pair: tuple[Callable[[Patient, date], bool], Callable[[date], Any]], applies_to: str = "mọi người") -> RecordField:
    return RecordField(number, key, label, group, pair[0], pair[1], applies_to)


_under16, _under6 = _child(16), _child(6)

FIELDS: list[RecordField] = [
    _f(1, "full_name", "Họ và tên", "admin", _text("full_name")),
    _f(2, "birth_date", "Ngày sinh đủ ngày, tháng, năm", "admin",
       ((lambda p, t: p.birth_precision == "day"), (lambda t: Patient.birth_precision == "day"))),
    _f(3, "sex", "Giới tính", "admin",
       ((lambda p, t: p.sex in ("male", "female")), (lambda t: Patient.sex.in_(("male", "female"))))),
    _f(4, "ethnicity", "Dân tộc", "admin", _text("ethnicity_code")),
    _f(5, "nationality", "Quốc tịch", "admin", _text("nationality_code")),
    _f(6, "occupation", "Nghề nghiệp", "admin", _text("occupation", "occupation", "occupation_code")),
    _f(7, "personal_id", "Số định danh cá nhân (CCCD) hoặc hộ chiếu", "admin", _identifier("cccd", "passport")),
    _f(8, "phone", "Số điện thoại", "admin", _text("phone")),
    _f(9, "managing_facility", "Nơi quản lý hồ sơ sức khỏe", "admin", _text("managing_facility")),
    _f(10, "bhyt_code", "Mã thẻ BHYT", "admin", _card(None)),
    _f(11, "bhyt_facility", "Nơi đăng ký KCB ban đầu", "admin", _card("registered_facility")),
    _f(12, "guardian_name", "Người giám hộ / đại diện: họ tên", "admin",
       _applies(*_under16, _text("guardian_name")), "trẻ dưới 16 tuổi"),
    _f(13, "guardian_relation", "Người giám hộ / đại diện: quan hệ", "admin",
       _applies(*_under16, _text("guardian_relation")), "trẻ dưới 16 tuổi"),
    _f(14, "guardian_phone", "Người giám hộ / đại diện: điện thoại", "admin",
       _applies(*_under16, _text("guardian_phone")), "trẻ dưới 16 tuổi"),
    _f(15, "emergency_contact", "Người liên hệ khẩn cấp / người chăm sóc", "admin",
       ((lambda p, t: bool(p.emergency_name and p.emergency_phone)),
        (lambda t: and_(Patient.emergency_name != "", Patient.emergency_phone != "")))),
    _f(16, "bhyt_validity", "Hạn sử dụng thẻ BHYT", "admin", _card("valid_to")),
    _f(17, "province", "Tỉnh/thành phố cư trú", "admin", _text("province_code")),
    _f(18, "commune", "Xã/phường cư trú", "admin", _text("commune_code")),
    _f(19, "street", "Thôn/tổ dân phố hoặc số nhà, đường", "admin", _text("street", "hamlet", "street")),
    _f(20, "religion", "Tôn giáo", "admin", _text("religion")),
    _f(21, "blood_group", "Nhóm máu ABO", "admin", _text("blood_group")),
    _f(22, "blood_rh", "Nhóm máu Rh", "admin", _text("blood_rh")),
    _f(23, "birth_registration", "Nơi đăng ký khai sinh", "admin", _text("birth_registration_place")),
    _f(24, "allergies", "Dị ứng (hoặc xác nhận không có)", "history", _declared("allergies", "allergies", "Allergy")),
    _f(25, "conditions", "Tiền sử bệnh (hoặc xác nhận không có)", "history",
       _declared("conditions", "conditions", "ChronicCondition")),
    _f(26, "surgeries", "Tiền sử phẫu thuật (hoặc xác nhận không có)", "history",
       _declared("surgeries", "surgeries", "Surgery")),
    _f(27, "family", "Tiền sử gia đình (hoặc xác nhận không có)", "history",
       _declared("family", "family_history", "FamilyHistory")),
    _f(28, "disabilities", "Khuyết tật (hoặc xác nhận không có)", "history",
       _declared("disabilities", "disabilities", "Disability")),
    _f(29, "tobacco", "Hút thuốc lá, thuốc lào", "history",
       _applies(*_adult(), _one("risk_factors", "RiskFactors", "tobacco")), "từ 15 tuổi"),
    _f(30, "alcohol", "Uống rượu bia", "history",
       _applies(*_adult(), _one("risk_factors", "RiskFactors", "alcohol")), "từ 15 tuổi"),
    _f(31, "drug_use", "Sử dụng ma túy", "history",
       _applies(*_adult(), _one("risk_factors", "RiskFactors", "drug_use")), "từ 15 tuổi"),
    _f(32, "physical_activity", "Hoạt động thể lực", "history",
       _applies(*_adult(), _one("risk_factors", "RiskFactors", "physical_activity")), "từ 15 tuổi"),
    _f(33, "exposure", "Tiếp xúc yếu tố nguy cơ nghề nghiệp, môi trường", "history",
       _applies(*_adult(), _one("risk_factors", "RiskFactors", "occupational_exposure")), "từ 15 tuổi"),
    _f(34, "birth_delivery", "Tình trạng khi sinh: đẻ thường/đẻ mổ", "history",
       _applies(*_under6, _one("birth_conditions", "BirthConditions", "delivery")), "trẻ dưới 6 tuổi"),
    _f(35, "birth_weight", "Cân nặng khi sinh", "history",
       _applies(*_under6, _one("birth_conditions", "BirthConditions", "birth_weight_g")), "trẻ dưới 6 tuổi"),
    _f(36, "pregnancies", "Tiền sử sinh sản (số lần có thai, sinh, sảy)", "history",
       _applies(*_woman_of_age(), _one("reproductive", "ReproductiveHistory", "pregnancies")), "nữ 15–49 tuổi"),
    _f(37, "contraception", "Biện pháp tránh thai đang dùng", "history",
       _applies(*_woman_of_age(), _one("reproductive", "ReproductiveHistory", "contraception")), "nữ 15–49 tuổi"),
    _f(38, "vaccinations", "Tiền sử tiêm chủng (hoặc xác nhận không có)", "history",
       _declared("vaccinations", "vaccinations", "Vaccination")),
    _f(39, "household", "Hộ gia đình (quan hệ với chủ hộ)", "admin", _text("household_relation")),
    _f(40, "bhxh_number", "Mã số BHXH", "admin", _identifier("bhxh")),
    _f(41, "visit", "Đã khám tại trạm (có lượt khám)", "care", _visit(None)),
    _f(42, "height", "Chiều cao", "care", _observation("height")),
    _f(43, "weight", "Cân nặng", "care", _observation("weight")),
    _f(44, "blood_pressure", "Huyết áp", "care", _observation("bp_systolic")),
    _f(45, "pulse", "Mạch", "care", _observation("pulse")),
    _f(46, "recent_visit", "Khám trong 12 tháng gần đây", "care", _visit(365)),
]
TOTAL = len(FIELDS)
assert TOTAL == 46 and [f.number for f in FIELDS] == list(range(1, 47))


def prepare(session: Session, patient: Patient) -> None:
    """Load the visit facts the care fields need (two small indexed queries)."""
    from station.visits.models import Observation, Visit

    last = session.scalar(select(func.max(Visit.arrived_at)).where(
        Visit.patient_id == patient.id, Visit.status != "cancelled"))
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    patient._completeness_last_visit = last  # type: ignore[attr-defined]
    kinds = session.scalars(select(Observation.kind).where(Observation.patient_id == patient.id).distinct()).all()
    patient._completeness_observations = set(kinds)  # type: ignore[attr-defined]


def evaluate(session: Session, patient: Patient, today: date) -> Completeness:
    """Return "filled N/46" for *patient* with the missing fields."""
    prepare(session, patient)
    missing = [f for f in FIELDS if not f.check(patient, today)]
    return Completeness(TOTAL - len(missing), TOTAL, missing)


@dataclass
class CommuneCompleteness:
    """Aggregate completeness of the records of one commune (or all): statistics only, no names."""

    records: int
    complete: int
    per_field: list[tuple[RecordField, int]]  # (field, number of records where it is missing)
    distribution: list[tuple[int, int]]  # (filled fields, number of records)

    @property
    def complete_percent(self) -> float:
        return round(100 * self.complete / self.records, 1) if self.records else 0.0

    @property
    def most_missing(self) -> list[tuple[RecordField, int]]:
        return sorted((pf for pf in self.per_field if pf[1]), key=lambda pf: -pf[1])


def commune_completeness(session: Session, today: date, commune_code: str | None = None) -> CommuneCompleteness:
    """Count, over active records (of *commune_code* if given), complete records and missing fields."""
    filled = [case((f.sql(today), 1), else_=0) for f in FIELDS]
    where = [Patient.status != "merged"]
    if commune_code:
        where.append(Patient.commune_code == commune_code)
    row = session.execute(select(func.count(), *(func.sum(c) for c in filled)).where(*where)).one()
    records = int(row[0] or 0)
    per_field = [(f, records - int(row[i + 1] or 0)) for i, f in enumerate(FIELDS)]
    total_expr = sum(filled[1:], filled[0])
    distribution = sorted((int(n), int(c)) for n, c in session.execute(
        select(total_expr.label("n"), func.count()).where(*where).group_by(total_expr)).all())
    complete = sum(c for n, c in distribution if n == TOTAL)
    return CommuneCompleteness(records, complete, per_field, distribution)

