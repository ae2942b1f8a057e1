"""Prescribing under TT 26/2025/TT-BYT: draft lines, checks, issue (code + print job), replacement.

The rules themselves are pure functions in :mod:`station.prescriptions.rules`; this module feeds
them data from the database, turns their findings into Vietnamese errors naming the rule, and
stores the result. Services flush only; the caller commits.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

from station.admin.models import Facility
from station.audit import services as audit
from station.audit.services import Actor
from station.catalog.models import Drug
from station.clock import Clock, SystemClock, local_today, to_local
from station.errors import NotFound, ValidationFailed
from station.patients.models import Allergy, Patient
from station.prescriptions import rules
from station.prescriptions.models import Prescription, PrescriptionItem
from station.text import clean
from station.visits.models import Observation, Visit

_CHRONIC_LIST: rules.ChronicList | None = None
MAX_LINES = 20
_INT_RE = re.compile(r"^\s*\d{1,6}\s*$")


def chronic_list() -> rules.ChronicList:
    """Return the PL VII list (data file), loaded once per process."""
    global _CHRONIC_LIST
    if _CHRONIC_LIST is None:
        _CHRONIC_LIST = rules.load_chronic_list()
    return _CHRONIC_LIST


class AlertsNeedOverride(ValidationFailed):
    """Issuing stopped on safety alerts (allergy, duplicate ingredient) without an override."""

    def __init__(self, alerts: list[rules.Alert]) -> None:
        """Keep the *alerts* to show, each needing an explicit override with a reason."""
        self.alerts = alerts
        lines = "; ".join(f"{a.message} ({a.rule})" for a in alerts)
        super().__init__("Cảnh báo an toàn kê đơn cần bác sĩ xác nhận và ghi lý do (ít nhất "
                         f"{rules.MIN_OVERRIDE_REASON} ký tự) trước khi phát hành: {lines}")


class RulesBroken(ValidationFailed):
    """Issuing stopped on blocking rules; ``violations`` lists every one with its rule name."""

    def __init__(self, violations: list[rules.Violation]) -> None:
        """Keep the blocking *violations*."""
        self.violations = violations
        text = " ".join(f"[{v.rule}] {v.message}" for v in violations)
        super().__init__(f"Chưa phát hành được đơn thuốc: {text}")


# --- reading ----------------------------------------------------------------------------------


def get_prescription(session: Session, prescription_id: Any) -> Prescription:
    """Return the prescription with its lines, or raise NotFound."""
    try:
        key = prescription_id if isinstance(prescription_id, uuid.UUID) else uuid.UUID(str(prescription_id))
    except ValueError:
        raise NotFound("Không tìm thấy đơn thuốc.") from None
    found = session.get(Prescription, key, options=[selectinload(Prescription.lines)])
    if found is None:
        raise NotFound("Không tìm thấy đơn thuốc.")
    return found


def prescriptions_of_visit(session: Session, visit_id: uuid.UUID) -> list[Prescription]:
    """Return every prescription of a visit (drafts and issued), oldest first."""
    return list(session.scalars(select(Prescription).where(Prescription.visit_id == visit_id)
                                .options(selectinload(Prescription.lines)).order_by(Prescription.created_at)))


def active_prescriptions(session: Session, visit_id: uuid.UUID) -> list[Prescription]:
    """Return the issued prescriptions of a visit that no issued prescription replaces (billing, XML2)."""
    newer = aliased(Prescription)
    replaced = exists().where(and_(newer.replaces_id == Prescription.id, newer.status == "issued"))
    return list(session.scalars(select(Prescription).where(Prescription.visit_id == visit_id,
                                                           Prescription.status == "issued", ~replaced)
                                .options(selectinload(Prescription.lines)).order_by(Prescription.issued_at)))


def replaced_ids(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Return {old id: new code} for the prescriptions among *ids* replaced by an issued one."""
    if not ids:
        return {}
    rows = session.execute(select(Prescription.replaces_id, Prescription.code)
                           .where(Prescription.replaces_id.in_(ids), Prescription.status == "issued")).all()
    return {r.replaces_id: r.code for r in rows}


# --- drafts -----------------------------------------------------------------------------------


def _ensure_draft(prescription: Prescription) -> None:
    if prescription.status != "draft":
        rules_error = rules.RULE_IMMUTABLE
        raise ValidationFailed(f"Đơn thuốc {prescription.code} đã phát hành, không được sửa ({rules_error}). "
                               "Hãy kê đơn mới thay thế đơn này.")


def draft_for_visit(session: Session, visit: Visit, *, user: Any, actor: Actor) -> Prescription:
    """Return the open draft prescription of *visit*, creating it when there is none."""
    draft = session.scalar(select(Prescription).where(Prescription.visit_id == visit.id,
                                                      Prescription.status == "draft",
                                                      Prescription.replaces_id.is_(None))
                           .order_by(Prescription.created_at))
    if draft is not None:
        return draft
    draft = Prescription(visit_id=visit.id, patient_id=visit.patient_id, prescriber_id=user.id,
                         prescriber_name=user.full_name, status="draft")
    session.add(draft)
    session.flush()
    audit.record(session, actor, "prescription.create", entity_type="prescription", entity_id=draft.id,
                 detail={"visit": str(visit.id)})
    return draft


def _parse_dose(text: str) -> Decimal:
    value = clean(str(text)).replace(",", ".")
    try:
        dose = Decimal(value)
    except InvalidOperation:
        raise ValidationFailed(f"{rules.RULE_DOSE}: liều mỗi lần phải là số (ví dụ 1 hoặc 0,5), "
                               f"đang là {clean(str(text))!r}.", field="dose_per_time") from None
    if not dose.is_finite():
        raise ValidationFailed(f"{rules.RULE_DOSE}: liều mỗi lần không hợp lệ.", field="dose_per_time")
    return dose


def _parse_int(text: str, rule: str, what: str, field: str) -> int:
    if not _INT_RE.match(str(text)):
        raise ValidationFailed(f"{rule}: {what} phải là số nguyên, đang là {clean(str(text))!r}.", field=field)
    return int(str(text).strip())


def _rule_drug(drug: Drug) -> rules.Drug:
    """Return the pure rules view of a catalogue drug."""
    return rules.Drug(name=drug.brand_name or drug.inn, ingredients=drug.ingredients, strength=drug.strength,
                      unit=drug.unit, whole_units=drug.whole_units,
                      prescription_type=rules.PrescriptionType(drug.prescription_type),
                      biologic=drug.biologic, poison=drug.poison,
                      supplement=drug.supplement)


def _item_rule_drug(item: PrescriptionItem, drug: Drug | None) -> rules.Drug:
    if drug is not None:
        return _rule_drug(drug)
    return rules.Drug(name=item.brand_name or item.inn,
                      ingredients=tuple(p.strip() for p in item.inn.split("+") if p.strip()),
                      strength=item.strength, unit=item.unit)


def diagnosis_codes_of_visit(session: Session, visit_id: uuid.UUID) -> list[tuple[str, str]]:
    """Return (code, title) of the visit's consultation diagnoses, main first."""
    from station.consultation.models import Consultation, ConsultationDiagnosis

    rows = session.execute(select(ConsultationDiagnosis.icd10_code, ConsultationDiagnosis.title)
                           .join(Consultation).where(Consultation.visit_id == visit_id)
                           .order_by(ConsultationDiagnosis.position)).all()
    return [(r.icd10_code, r.title) for r in rows]


def add_line(session: Session, prescription: Prescription, *, drug_id: Any, dose_per_time: str,
             times_per_day: str, days: str, timing: str = "", instructions: str = "", route: str = "",
             actor: Actor, clock: Clock | None = None) -> PrescriptionItem:
    """Add a drug line to a draft after the dose, quantity, type and duration checks; flush only."""
    _ensure_draft(prescription)
    try:
        drug = session.get(Drug, uuid.UUID(str(drug_id)))
    except ValueError:
        drug = None
    if drug is None or not drug.active:
        raise ValidationFailed("Chọn một thuốc đang dùng trong danh mục thuốc của trạm.", field="drug_id")
    if drug.supplement:
        raise ValidationFailed(f"{rules.RULE_SUPPLEMENT}: {drug.brand_name or drug.inn} là thực phẩm chức năng, "
                               "không được kê đơn.", field="drug_id")
    if len(prescription.lines) >= MAX_LINES:
        raise ValidationFailed(f"Một đơn thuốc có tối đa {MAX_LINES} dòng thuốc.")
    dose = _parse_dose(dose_per_time)
    times = _parse_int(times_per_day, rules.RULE_TIMES, "số lần mỗi ngày", "times_per_day")
    n_days = _parse_int(days, rules.RULE_DAYS, "số ngày", "days")
    try:
        quantity = rules.compute_quantity(dose, times, n_days, whole_units=drug.whole_units)
    except rules.PrescriptionRuleError as error:
        raise ValidationFailed(f"{error.rule}: {error}", field="dose_per_time") from None
    if prescription.lines and prescription.prescription_type != drug.prescription_type:
        raise ValidationFailed(
            f"{rules.RULE_TYPE}: {drug.inn} thuộc loại đơn {drug.prescription_type}, đơn đang kê là loại "
            f"{prescription.prescription_type}. Hãy kê thuốc này trên một đơn riêng.", field="drug_id")
    codes = [code for code, _ in diagnosis_codes_of_visit(session, prescription.visit_id)]
    day = local_today(clock)
    limit = rules.max_days(_rule_drug(drug), codes, chronic_list(), chronic_treatment=prescription.chronic_treatment,
                           on=day)
    if n_days > limit:
        rule = rules.RULE_MAX_90 if limit == 90 else rules.RULE_MAX_30 if limit == 30 else rules.RULE_TYPE
        hint = "" if limit >= 90 else " (90 ngày chỉ cho bệnh thuộc danh mục PL VII có trong chẩn đoán)"
        raise ValidationFailed(f"{rule}: {drug.inn} kê {n_days} ngày, tối đa {limit} ngày{hint}.", field="days")
    if not prescription.lines:
        prescription.prescription_type = drug.prescription_type
    position = max((i.position for i in prescription.lines), default=0) + 1
    item = PrescriptionItem(
        position=position, drug_id=drug.id,
        display_name=rules.display_name(_rule_drug(drug)), inn=drug.inn, brand_name=drug.brand_name,
        strength=drug.strength, dosage_form=drug.dosage_form, unit=drug.unit,
        route=clean(route)[:40] or drug.route, dose_per_time=dose, times_per_day=times, days=n_days,
        quantity=quantity, timing=clean(timing)[:120], instructions=clean(instructions)[:255],
        bhyt_code=drug.bhyt_code, registration_number=drug.registration_number, unit_price=drug.price)
    prescription.lines.append(item)
    session.flush()
    audit.record(session, actor, "prescription.line.add", entity_type="prescription", entity_id=prescription.id,
                 detail={"drug": drug.code, "position": position})
    return item


def remove_line(session: Session, prescription: Prescription, item_id: Any, *, actor: Actor) -> None:
    """Remove a line from a draft; flush only."""
    _ensure_draft(prescription)
    item = next((i for i in prescription.lines if str(i.id) == str(item_id)), None)
    if item is None:
        raise NotFound("Không tìm thấy dòng thuốc.")
    prescription.lines.remove(item)
    session.flush()
    audit.record(session, actor, "prescription.line.remove", entity_type="prescription", entity_id=prescription.id,
                 detail={"position": item.position})


def discard_draft(session: Session, prescription: Prescription, *, actor: Actor) -> None:
    """Delete a draft prescription (never an issued one)."""
    _ensure_draft(prescription)
    audit.record(session, actor, "prescription.discard", entity_type="prescription", entity_id=prescription.id)
    session.delete(prescription)
    session.flush()


# --- checks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueDetails:
    """What the doctor adds on issuing: child data, receiver, advice, overrides."""

    advice: str = ""
    follow_up_on: date | None = None
    weight_kg: str = ""
    companion_name: str = ""
    companion_id_number: str = ""
    receiver_name: str = ""
    chronic_treatment: bool = False
    #: alert key -> reason
    overrides: dict[str, str] | None = None


def patient_info(session: Session, patient: Patient, weight_kg: Decimal | None) -> rules.PatientInfo:
    """Return what the rules need to know about *patient* (drug allergies by INN)."""
    allergies = tuple(session.scalars(select(Allergy.substance).where(
        Allergy.patient_id == patient.id, Allergy.active.is_(True), Allergy.category == "drug")))
    address = ", ".join(p for p in (patient.street, patient.hamlet) if p) or patient.card_address
    return rules.PatientInfo(birth_date=patient.birth_date, sex=patient.sex, address=address or None,
                             personal_id=patient.active_identifier("cccd"), weight_kg=weight_kg, allergies=allergies)


def latest_weight(session: Session, visit_id: uuid.UUID) -> Decimal | None:
    """Return the latest weight measured in the visit (kg), if any."""
    return session.scalar(select(Observation.value).where(Observation.visit_id == visit_id, Observation.kind == "weight")
                          .order_by(Observation.recorded_at.desc()).limit(1))


def _weight(text: str, fallback: Decimal | None) -> Decimal | None:
    if not clean(text or ""):
        return fallback
    try:
        value = Decimal(clean(text).replace(",", "."))
    except InvalidOperation:
        raise ValidationFailed(f"{rules.RULE_CHILD}: cân nặng phải là số (kg).", field="weight_kg") from None
    if not value.is_finite() or not Decimal("0.3") <= value <= Decimal(300):
        raise ValidationFailed(f"{rules.RULE_CHILD}: cân nặng {value} kg không hợp lý (0,3 đến 300 kg).",
                               field="weight_kg")
    return value.quantize(Decimal("0.01"))


def build_draft(session: Session, prescription: Prescription, details: IssueDetails,
                on: date) -> tuple[rules.PrescriptionDraft, Decimal | None]:
    """Return the pure draft the rules check, and the weight used."""
    patient = session.get(Patient, prescription.patient_id)
    assert patient is not None
    weight = _weight(details.weight_kg, latest_weight(session, prescription.visit_id))
    drugs = {d.id: d for d in session.scalars(select(Drug).where(Drug.id.in_([i.drug_id for i in prescription.lines])))}
    lines = tuple(rules.PrescriptionLine(drug=_item_rule_drug(i, drugs.get(i.drug_id)), dose_per_time=i.dose_per_time,
                                         times_per_day=i.times_per_day, days=i.days, route=i.route, timing=i.timing)
                  for i in prescription.lines)
    companion = None
    if clean(details.companion_name):
        companion = rules.Companion(clean(details.companion_name), clean(details.companion_id_number) or None)
    facility = session.scalar(select(Facility).limit(1))
    overrides = tuple(rules.Override(k, r) for k, r in (details.overrides or {}).items())
    draft = rules.PrescriptionDraft(
        facility_code=facility.facility_code if facility else "00000",
        prescription_type=rules.PrescriptionType(prescription.prescription_type), prescribed_on=on,
        patient=patient_info(session, patient, weight),
        diagnoses=tuple(code for code, _ in diagnosis_codes_of_visit(session, prescription.visit_id)),
        lines=lines, advice=clean(details.advice), companion=companion,
        receiver_name=clean(details.receiver_name) or None, chronic_treatment=details.chronic_treatment,
        replaces_code=prescription.replaces.code if prescription.replaces is not None else None,
        overrides=overrides)
    return draft, weight


def pending_alerts(session: Session, prescription: Prescription) -> list[rules.Alert]:
    """Return the allergy and duplicate-ingredient alerts of the current lines (for the form)."""
    draft, _ = build_draft(session, prescription, IssueDetails(), local_today())
    return rules.check_allergies(draft.lines, draft.patient.allergies) + rules.check_duplicate_ingredients(draft.lines)


# --- issue ------------------------------------------------------------------------------------


def _code_taken(session: Session, code: str) -> bool:
    return session.scalar(select(Prescription.id).where(Prescription.code == code)) is not None


def issue(session: Session, prescription: Prescription, details: IssueDetails, *, user: Any, actor: Actor,
          clock: Clock | None = None, station_name: str = "", print_slip: bool = True) -> Prescription:
    """Check every TT 26/2025 rule, draw the code, freeze the prescription and queue its slip; flush only."""
    _ensure_draft(prescription)
    clock = clock or SystemClock()
    today = local_today(clock)
    draft, weight = build_draft(session, prescription, details, today)
    found = rules.validate_prescription(draft, chronic_list())
    blocking_alert_rules = {rules.RULE_ALLERGY, rules.RULE_DUPLICATE}
    blocking = [v for v in found if v.blocking and v.rule not in blocking_alert_rules]
    if blocking:
        raise RulesBroken(blocking)
    alerts = rules.check_allergies(draft.lines, draft.patient.allergies) + rules.check_duplicate_ingredients(draft.lines)
    unresolved = rules.unresolved_alerts(alerts, draft.overrides)
    if unresolved:
        raise AlertsNeedOverride(unresolved)
    patient = session.get(Patient, prescription.patient_id)
    assert patient is not None
    age = rules.age_in_months(patient.birth_date, today)
    reasons = details.overrides or {}
    for attempt in range(5):
        code = rules.new_prescription_code(draft.facility_code, draft.prescription_type,
                                           lambda c: _code_taken(session, c))
        try:
            with session.begin_nested():
                prescription.code = code
                session.flush()
            break
        except IntegrityError:  # drawn concurrently by another transaction: draw again
            prescription.code = None
            if attempt == 4:
                raise
    codes = diagnosis_codes_of_visit(session, prescription.visit_id)
    prescription.issued_at = clock.now()
    prescription.prescribed_on = today
    prescription.prescriber_id = user.id
    prescription.prescriber_name = user.full_name
    prescription.facility_code = draft.facility_code
    prescription.diagnosis_text = "; ".join(f"{c} - {t}" for c, t in codes)
    prescription.diagnosis_codes = ";".join(c for c, _ in codes)[:120]
    prescription.advice = clean(details.advice)
    prescription.follow_up_on = details.follow_up_on
    prescription.weight_kg = weight
    prescription.age_months = age if age < rules.CHILD_AGE_MONTHS else None
    prescription.companion_name = clean(details.companion_name)[:120]
    prescription.companion_id_number = clean(details.companion_id_number)[:20]
    prescription.receiver_name = clean(details.receiver_name)[:120]
    prescription.chronic_treatment = details.chronic_treatment
    prescription.overrides = json.dumps([{"key": a.key, "rule": a.rule, "message": a.message,
                                          "reason": clean(reasons.get(a.key, ""))} for a in alerts],
                                        ensure_ascii=False)
    prescription.status = "issued"  # last: nothing may change once this is flushed
    session.flush()
    audit.record(session, actor, "prescription.issue", entity_type="prescription", entity_id=prescription.id,
                 detail={"code": prescription.code, "lines": len(prescription.lines),
                         "overrides": [a.key for a in alerts],
                         "replaces": str(prescription.replaces_id or "")}, clock=clock)
    if print_slip:
        _enqueue_slip(session, prescription, patient, actor=actor, station_name=station_name)
    return prescription


def dose_text(item: PrescriptionItem) -> str:
    """Return the usage line: "Uống 1 Viên/lần × 2 lần/ngày, sau ăn" (DOMAIN §3.5 LIEU_DUNG)."""
    dose = format(item.dose_per_time.normalize(), "f").replace(".", ",")
    text = f"{item.route} {dose} {item.unit.lower()}/lần × {item.times_per_day} lần/ngày"
    extra = ", ".join(p for p in (item.timing, item.instructions) if p)
    return f"{text}, {extra}" if extra else text


def _enqueue_slip(session: Session, prescription: Prescription, patient: Patient, *, actor: Actor,
                  station_name: str) -> None:
    """Queue the prescription slip (printers.layouts.PrescriptionSlipData fields) in this transaction."""
    from station.printing.services import enqueue

    visit = session.get(Visit, prescription.visit_id)
    facility = session.scalar(select(Facility).limit(1))
    age = rules.age_in_months(patient.birth_date, prescription.prescribed_on or local_today())
    detail = f"Năm sinh {patient.birth_year}"
    if age < rules.CHILD_AGE_MONTHS:
        detail = f"{age} tháng tuổi, {prescription.weight_kg} kg, người đưa trẻ: {prescription.companion_name}"
    data = {
        "station_name": station_name or (facility.name if facility else ""),
        "prescription_code": prescription.code,
        "issued_at": prescription.issued_at.isoformat() if prescription.issued_at else "",
        "patient_name": patient.full_name,
        "lines": [{"drug_name": i.display_name, "quantity": str(i.quantity), "unit": i.unit,
                   "dose": dose_text(i), "days": i.days, "strength": i.strength or None}
                  for i in rules_order(prescription.lines)],
        "prescriber": prescription.prescriber_name,
        "patient_detail": detail,
        "diagnosis": prescription.diagnosis_text or None,
        "advice": prescription.advice or None,
        "follow_up_date": prescription.follow_up_on.isoformat() if prescription.follow_up_on else None,
        "reprint": False,
    }
    enqueue(session, "prescription_slip", data, actor=actor, room_code=visit.room_code if visit else "",
            subject_type="prescription", subject_id=prescription.id, patient_id=patient.id)


def rules_order(items: list[PrescriptionItem]) -> list[PrescriptionItem]:
    """Return lines in printing order (as entered; poisons are required first at entry)."""
    return sorted(items, key=lambda i: i.position)


def start_replacement(session: Session, original: Prescription, *, reason: str, user: Any,
                      actor: Actor) -> Prescription:
    """Open a new draft that will replace the issued *original* (copied lines, link kept); flush only."""
    if original.status != "issued":
        raise ValidationFailed("Chỉ kê đơn thay thế cho đơn đã phát hành; đơn nháp thì sửa trực tiếp.")
    if len(clean(reason)) < rules.MIN_OVERRIDE_REASON:
        raise ValidationFailed(f"{rules.RULE_IMMUTABLE}: đơn thay thế cần ghi lý do (ít nhất "
                               f"{rules.MIN_OVERRIDE_REASON} ký tự).", field="reason")
    taken = session.scalar(select(Prescription).where(Prescription.replaces_id == original.id))
    if taken is not None:
        raise ValidationFailed("Đơn này đã có đơn thay thế" + (f" {taken.code}." if taken.code else " đang soạn."))
    new = Prescription(visit_id=original.visit_id, patient_id=original.patient_id, prescriber_id=user.id,
                       prescriber_name=user.full_name, prescription_type=original.prescription_type, status="draft",
                       replaces_id=original.id, replacement_reason=clean(reason), advice=original.advice,
                       companion_name=original.companion_name, companion_id_number=original.companion_id_number,
                       receiver_name=original.receiver_name, chronic_treatment=original.chronic_treatment)
    for item in original.lines:
        new.lines.append(PrescriptionItem(**{c: getattr(item, c) for c in (
            "position", "drug_id", "display_name", "inn", "brand_name", "strength", "dosage_form", "unit", "route",
            "dose_per_time", "times_per_day", "days", "quantity", "timing", "instructions", "bhyt_code",
            "registration_number", "unit_price")}))
    session.add(new)
    session.flush()
    audit.record(session, actor, "prescription.replace.start", entity_type="prescription", entity_id=new.id,
                 detail={"replaces": original.code, "reason": clean(reason)})
    return new


def local_issue_time(prescription: Prescription) -> str:
    """Return the issue time as dd/mm/yyyy HH:MM (station time)."""
    return to_local(prescription.issued_at).strftime("%d/%m/%Y %H:%M") if prescription.issued_at else ""
