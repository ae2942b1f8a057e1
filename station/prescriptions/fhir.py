"""FHIR R4 payload of a prescription (entity ``MedicationRequest``).

A FHIR MedicationRequest orders ONE medication, while a prescription (đơn thuốc) has several
drug lines. The payload of a prescription is therefore a ``Bundle`` of type ``collection``
(id = the prescription id) holding one MedicationRequest per line:

* entry ``fullUrl`` is ``urn:uuid:<line id>`` and the resource id is the line id;
* every entry carries ``groupIdentifier`` = the prescription code (system ``urn:vn:ma-don-thuoc``;
  a draft has no code yet, so its group identifier is ``urn:uuid:<prescription id>``), which is how
  a receiver puts the lines back together; the Bundle's ``identifier`` is the same code;
* status: a draft is ``draft``; an issued prescription is ``active``, or ``cancelled`` once an
  issued prescription replaces it (``replaces_id``). An issued prescription never changes, so
  its own change-log entry is not rewritten when it is replaced: the replacement's lines carry
  ``priorPrescription`` (the old code) and the replacement reason, which is what a receiver
  should act on; a later build or snapshot of the old one shows ``cancelled``.
* medication: ``text`` is the printed name (INN, or brand for combinations); codings are the
  station's drug code, the BHYT drug code (MA_THUOC) and the registration number (SĐK);
* dosage: text as printed, ``timing.repeat`` = times per day (frequency/period 1 d) bounded by
  the number of days, ``doseAndRate.doseQuantity`` = dose per time in the line's unit;
* ``dispenseRequest``: the quantity to hand out and the supply duration in days (UCUM ``d``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from station.catalog.models import Drug
from station.prescriptions.models import Prescription, PrescriptionItem
from station.sync.fhir import ICD10, UCUM, FhirSettings, _ids, _meta, _ref

COURSE_OF_THERAPY = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"


def _number(value: Decimal | int) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _days(n: int) -> dict[str, Any]:
    return {"value": n, "unit": "d", "system": UCUM, "code": "d"}


def _group_identifier(p: Prescription, settings: FhirSettings) -> dict[str, str]:
    if p.code:
        return {"system": settings.system("ma-don-thuoc"), "value": p.code}
    return {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{p.id}"}


def _status(p: Prescription, replaced: set[uuid.UUID]) -> str:
    if p.status != "issued":
        return "draft"
    return "cancelled" if p.id in replaced else "active"


def _dosage_text(line: PrescriptionItem) -> str:
    dose = _number(line.dose_per_time)
    parts = [f"{line.route} {dose} {line.unit}/lần, {line.times_per_day} lần/ngày, {line.days} ngày"]
    parts += [t for t in (line.timing, line.instructions) if t]
    return "; ".join(parts)


def _medication(line: PrescriptionItem, drug_code: str | None, settings: FhirSettings) -> dict[str, Any]:
    coding = []
    if drug_code:
        coding.append({"system": settings.system("station-drug"), "code": drug_code, "display": line.display_name})
    if line.bhyt_code:
        coding.append({"system": settings.system("ma-thuoc"), "code": line.bhyt_code})
    if line.registration_number:
        coding.append({"system": settings.system("so-dang-ky"), "code": line.registration_number})
    concept: dict[str, Any] = {"text": " ".join(t for t in (line.display_name, line.strength)
                                                if t and t not in line.display_name) or line.display_name}
    if coding:
        concept["coding"] = coding
    return concept


def _line_request(p: Prescription, line: PrescriptionItem, status: str, drug_code: str | None,
                  settings: FhirSettings) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": str(line.id),
        "groupIdentifier": _group_identifier(p, settings),
        "status": status,
        "intent": "order",
        "courseOfTherapyType": {"coding": [{"system": COURSE_OF_THERAPY,
                                            "code": "continuous" if p.chronic_treatment else "acute"}]},
        "medicationCodeableConcept": _medication(line, drug_code, settings),
        "subject": _ref("Patient", p.patient_id),
        "encounter": _ref("Encounter", p.visit_id),
        "dosageInstruction": [{
            "sequence": 1,
            "text": _dosage_text(line),
            "timing": {"repeat": {"boundsDuration": _days(line.days), "frequency": line.times_per_day,
                                  "period": 1, "periodUnit": "d"}},
            "route": {"text": line.route},
            "doseAndRate": [{"doseQuantity": {"value": _number(line.dose_per_time), "unit": line.unit}}],
            **({"patientInstruction": line.timing} if line.timing else {}),
        }],
        "dispenseRequest": {"quantity": {"value": _number(line.quantity), "unit": line.unit},
                            "expectedSupplyDuration": _days(line.days)},
    }
    authored = p.issued_at.isoformat() if p.issued_at else p.prescribed_on.isoformat() if p.prescribed_on else None
    if authored:
        resource["authoredOn"] = authored
    if p.prescriber_id or p.prescriber_name:
        requester: dict[str, Any] = {}
        if p.prescriber_id:
            requester["identifier"] = {"system": "urn:vn:station-user", "value": str(p.prescriber_id)}
        if p.prescriber_name:
            requester["display"] = p.prescriber_name
        resource["requester"] = requester
    codes = [c.strip() for c in p.diagnosis_codes.split(";") if c.strip()]
    if codes:
        resource["reasonCode"] = [{"coding": [{"system": ICD10, "code": c}]} for c in codes]
    elif p.diagnosis_text:
        resource["reasonCode"] = [{"text": p.diagnosis_text}]
    if p.replaces is not None:
        resource["priorPrescription"] = {"identifier": _group_identifier(p.replaces, settings),
                                         "display": f"Đơn thuốc {p.replaces.code or ''}".strip()}
    notes = [{"text": t} for t in (p.advice, f"Lý do thay đơn: {p.replacement_reason}"
                                   if p.replacement_reason else "") if t]
    if notes:
        resource["note"] = notes
    return resource


def build_medication_requests(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    """Return {prescription id: Bundle of one MedicationRequest per line} (see the module docstring)."""
    wanted = _ids(ids)
    rows = session.scalars(select(Prescription).where(Prescription.id.in_(wanted)).options(
        selectinload(Prescription.lines), selectinload(Prescription.replaces))).all()
    if not rows:
        return {}
    replaced = set(session.scalars(select(Prescription.replaces_id).where(
        Prescription.replaces_id.in_([p.id for p in rows]), Prescription.status == "issued")))
    drug_ids = {line.drug_id for p in rows for line in p.lines}
    codes: dict[uuid.UUID, str] = {}
    if drug_ids:
        codes = {row.id: row.code for row in session.execute(select(Drug.id, Drug.code).where(Drug.id.in_(drug_ids)))}
    out = {}
    for p in rows:
        status = _status(p, replaced)
        bundle: dict[str, Any] = {
            "resourceType": "Bundle", "id": str(p.id), "meta": _meta(p),
            "identifier": _group_identifier(p, settings),
            "type": "collection",
            "timestamp": (p.issued_at or p.updated_at).isoformat(),
        }
        if p.lines:
            bundle["entry"] = [{"fullUrl": f"urn:uuid:{line.id}",
                                "resource": _line_request(p, line, status, codes.get(line.drug_id), settings)}
                               for line in p.lines]
        out[str(p.id)] = bundle
    return out


BUILDERS = {"MedicationRequest": build_medication_requests}
