"""FHIR R4 payloads of synced entities, built from the current state of the records.

Each entity type of the change log maps to one resource type. Builders take
a batch of ids and return {id: resource}, loading with one query per batch,
so pushing a long backlog stays fast. Areas add their own resources by
exposing ``BUILDERS = {"Condition": build_conditions, ...}`` in
``station/<area>/fhir.py``; :func:`builders` collects them.

Identifier systems (CCCD, BHYT, the station's patient code) are configuration
(``SYNC_IDENTIFIER_SYSTEMS``) because no national FHIR naming system is
mandated (DOMAIN.md §13). The mapping is documented in docs/sync.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from station.patients.models import Household, Patient, Vaccination
from station.printing.models import PrintJob
from station.visits.models import Observation, Visit

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

DEFAULT_SYSTEMS: dict[str, str] = {
    "cccd": "urn:vn:cccd",            #: 12-digit personal identification number
    "cmnd": "urn:vn:cmnd",            #: old 9-digit identity card number
    "passport": "urn:vn:passport",
    "bhxh": "urn:vn:bhxh",            #: 10-digit social-insurance number
    "bhyt": "urn:vn:bhyt",            #: 15-character health-insurance card code
    "patient": "urn:vn:station-patient",  #: the station's own patient code, qualified by facility
    "visit": "urn:vn:ma-lk",          #: visit key (MA_LK) of the XML claim
    "facility": "urn:vn:ma-cskcb",    #: facility code (MA_CSKCB)
    "ethnicity": "urn:vn:dan-toc",    #: official list of 54 ethnic groups
}

GENDER = {"male": "male", "female": "female", "undetermined": "unknown"}
ENCOUNTER_STATUS = {"open": "arrived", "in_consultation": "in-progress", "completed": "finished",
                    "cancelled": "cancelled"}
VITAL_CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                              "code": "vital-signs", "display": "Vital Signs"}]}


@dataclass(frozen=True)
class FhirSettings:
    """What the builders need to know about the station."""

    facility_code: str
    systems: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SYSTEMS))

    def system(self, kind: str) -> str:
        return self.systems.get(kind, DEFAULT_SYSTEMS.get(kind, f"urn:vn:{kind}"))


Builder = Callable[[Session, list[str], FhirSettings], dict[str, dict[str, Any]]]


def _ids(ids: Iterable[str]) -> list[uuid.UUID]:
    return [uuid.UUID(i) for i in ids]


def _meta(obj: Any) -> dict[str, Any]:
    return {"versionId": str(obj.version), "lastUpdated": obj.updated_at.isoformat()}


def _ref(kind: str, ident: object) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def _birth_date(patient: Patient) -> str:
    if patient.birth_precision == "year":
        return f"{patient.birth_date.year:04d}"
    if patient.birth_precision == "month":
        return patient.birth_date.strftime("%Y-%m")
    return patient.birth_date.isoformat()


def patient_resource(patient: Patient, settings: FhirSettings) -> dict[str, Any]:
    """Map one patient (with identifiers and cards loaded) to a FHIR Patient."""
    identifiers: list[dict[str, Any]] = [{
        "use": "usual", "system": settings.system("patient"),
        "value": patient.code, "assigner": {"identifier": {"system": settings.system("facility"),
                                                           "value": settings.facility_code}}}]
    for ident in patient.identifiers:
        entry: dict[str, Any] = {"system": settings.system(ident.kind), "value": ident.value,
                                 "use": "official" if ident.status == "active" else "old"}
        if ident.issued_on or ident.valid_to:
            entry["period"] = {k: v.isoformat() for k, v in
                               (("start", ident.issued_on), ("end", ident.valid_to)) if v}
        identifiers.append(entry)
    for card in patient.bhyt_cards:
        entry = {"system": settings.system("bhyt"), "value": card.card_code, "use": "secondary"}
        if card.valid_from or card.valid_to:
            entry["period"] = {k: v.isoformat() for k, v in
                               (("start", card.valid_from), ("end", card.valid_to)) if v}
        identifiers.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": str(patient.id), "meta": _meta(patient),
        "identifier": identifiers,
        "active": patient.status == "active",
        "name": [{"use": "official", "text": patient.full_name}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": _birth_date(patient),
    }
    parts = patient.full_name.split()
    if len(parts) >= 2:
        resource["name"][0]["family"] = parts[0]
        resource["name"][0]["given"] = parts[1:]
    if patient.phone:
        resource["telecom"] = [{"system": "phone", "value": patient.phone, "use": "mobile"}]
    line = [p for p in (patient.street, patient.hamlet) if p]
    if line or patient.commune_code:
        address: dict[str, Any] = {"use": "home", "country": "VN"}
        if line:
            address["line"] = line
        if patient.commune_code:
            address["district"] = patient.commune_code  # the commune code: districts were abolished in 2025
        if patient.province_code:
            address["state"] = patient.province_code
        if patient.card_address:
            address["text"] = patient.card_address
        resource["address"] = [address]
    if patient.deceased_on:
        resource["deceasedDateTime"] = patient.deceased_on.isoformat()
    if patient.merged_into_id:
        resource["link"] = [{"other": _ref("Patient", patient.merged_into_id), "type": "replaced-by"}]
    if patient.emergency_name:
        resource["contact"] = [{"name": {"text": patient.emergency_name},
                                "relationship": [{"text": patient.emergency_relation or "emergency"}],
                                **({"telecom": [{"system": "phone", "value": patient.emergency_phone}]}
                                   if patient.emergency_phone else {})}]
    if patient.ethnicity_code:
        resource["extension"] = [{"url": "urn:vn:extension:ethnicity", "valueCoding": {
            "system": settings.system("ethnicity"), "code": patient.ethnicity_code}}]
    return resource


def build_patients(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Patient).where(Patient.id.in_(_ids(ids))).options(
        selectinload(Patient.identifiers), selectinload(Patient.bhyt_cards))).all()
    return {str(p.id): patient_resource(p, settings) for p in rows}


def build_groups(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Household).where(Household.id.in_(_ids(ids))).options(
        selectinload(Household.members))).all()
    out = {}
    for h in rows:
        resource: dict[str, Any] = {"resourceType": "Group", "id": str(h.id), "meta": _meta(h),
                                    "type": "person", "actual": True, "name": h.head_name or h.code or "Hộ gia đình",
                                    "quantity": len(h.members)}
        if h.code:
            resource["identifier"] = [{"system": "urn:vn:ho-gia-dinh", "value": h.code}]
        if h.members:
            resource["member"] = [{"entity": _ref("Patient", m.id)} for m in h.members]
        out[str(h.id)] = resource
    return out


def build_encounters(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Visit).where(Visit.id.in_(_ids(ids)))).all()
    out = {}
    for v in rows:
        period = {"start": v.arrived_at.isoformat()}
        if v.completed_at:
            period["end"] = v.completed_at.isoformat()
        resource: dict[str, Any] = {
            "resourceType": "Encounter", "id": str(v.id), "meta": _meta(v),
            "identifier": [{"system": settings.system("visit"), "value": v.visit_key}],
            "status": ENCOUNTER_STATUS.get(v.status, "unknown"),
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                      "display": "ambulatory"},
            "type": [{"coding": [{"system": "urn:vn:ma-loai-kcb", "code": v.visit_type}]}],
            "subject": _ref("Patient", v.patient_id),
            "period": period,
            "serviceProvider": {"identifier": {"system": settings.system("facility"),
                                               "value": settings.facility_code}},
        }
        if v.reason:
            resource["reasonCode"] = [{"text": v.reason}]
        if v.doctor_id:
            resource["participant"] = [{"individual": {"identifier": {"system": "urn:vn:station-user",
                                                                      "value": str(v.doctor_id)}}}]
        out[str(v.id)] = resource
    return out


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {"value": float(value), "unit": unit, "system": UCUM, "code": unit}


def build_observations(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Observation).where(Observation.id.in_(_ids(ids)))).all()
    out = {}
    for o in rows:
        resource = {
            "resourceType": "Observation", "id": str(o.id), "meta": _meta(o),
            "status": "amended" if o.replaces_id else "final",
            "category": [VITAL_CATEGORY],
            "code": {"coding": [{"system": LOINC, "code": o.loinc}], "text": o.kind},
            "subject": _ref("Patient", o.patient_id),
            "encounter": _ref("Encounter", o.visit_id),
            "effectiveDateTime": o.recorded_at.isoformat(),
            "valueQuantity": _quantity(o.value, o.unit),
        }
        out[str(o.id)] = resource
    return out


def build_immunizations(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Vaccination).where(Vaccination.id.in_(_ids(ids)))).all()
    out = {}
    for v in rows:
        resource: dict[str, Any] = {
            "resourceType": "Immunization", "id": str(v.id), "meta": _meta(v), "status": "completed",
            "vaccineCode": {"coding": [{"system": "urn:vn:vaccine", "code": v.vaccine_code}], "text": v.vaccine_name},
            "patient": _ref("Patient", v.patient_id),
            "occurrenceDateTime": v.given_on.isoformat(),
            "primarySource": not v.place,
        }
        if v.dose_number:
            resource["protocolApplied"] = [{"doseNumberPositiveInt": v.dose_number,
                                            **({"series": "TCMR"} if v.epi else {})}]
        if v.lot_number:
            resource["lotNumber"] = v.lot_number
        if v.place:
            resource["location"] = {"display": v.place}
        out[str(v.id)] = resource
    return out


def build_documents(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(PrintJob).where(PrintJob.id.in_(_ids(ids)))).all()
    out = {}
    for j in rows:
        resource: dict[str, Any] = {
            "resourceType": "DocumentReference", "id": str(j.id), "meta": _meta(j),
            "status": "current" if j.state == "done" else "entered-in-error" if j.state == "failed" else "current",
            "docStatus": "final" if j.state == "done" else "preliminary",
            "type": {"coding": [{"system": "urn:vn:station-document", "code": j.document}]},
            "date": j.created_at.isoformat(),
            "content": [{"attachment": {"contentType": "application/json", "title": j.document}}],
        }
        if j.patient_id:
            resource["subject"] = _ref("Patient", j.patient_id)
        if j.reprint_of_id:
            resource["relatesTo"] = [{"code": "replaces", "target": _ref("DocumentReference", j.reprint_of_id)}]
        out[str(j.id)] = resource
    return out


CORE_BUILDERS: dict[str, Builder] = {
    "Patient": build_patients,
    "Group": build_groups,
    "Encounter": build_encounters,
    "Observation": build_observations,
    "Immunization": build_immunizations,
    "DocumentReference": build_documents,
}


def builders() -> dict[str, Builder]:
    """Every entity builder: the core ones plus each area's ``fhir.BUILDERS``."""
    from station import area_modules

    found = dict(CORE_BUILDERS)
    for module in area_modules("fhir"):
        if module.__name__ != __name__:
            found.update(module.BUILDERS)
    return found
