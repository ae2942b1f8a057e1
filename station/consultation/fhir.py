"""FHIR R4 payloads of the consultation area's synced entities.

* ``ClinicalImpression`` (:class:`Consultation`): the doctor's note. Each ICD-10 diagnosis is a
  ``contained`` Condition (id ``dx<position>``: ``dx0`` is the main diagnosis MA_BENH_CHINH,
  ``dx1``.. the secondary ones MA_BENH_KT) referenced from ``problem`` as ``#dx<position>``.
  The treatment outcome (KET_QUA_DTRI) and discharge type (MA_LOAI_RV) are extensions with
  codings; history, examination and amendment reasons are ``note`` annotations.
* ``ServiceRequest`` (:class:`ServiceOrder`): a service ordered from the station's list, coded
  with the station's service code and, when known, the BHYT service code (MA_DICH_VU).
* ``Referral`` (:class:`Referral`): a ServiceRequest of category "Patient referral"
  (SNOMED CT 3457005) whose performer is the destination facility (MA_CSKCB identifier).
* ``Appointment`` (:class:`FollowUpAppointment`): the follow-up slip. Only a date and a free
  time text are stored; the slot is the "HH:MM" (or "HHhMM") of that text when it has one,
  otherwise 08:00 (14:00 for an afternoon text), 30 minutes long, in Asia/Ho_Chi_Minh time
  written with its +07:00 offset. The stored time text is kept in ``comment``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from station.clock import LOCAL_TZ
from station.consultation.models import (Consultation, ConsultationDiagnosis, ConsultationRevision,
                                         FollowUpAppointment, Referral, ServiceOrder)
from station.sync.fhir import ICD10, FhirSettings, _ids, _meta, _ref

SNOMED = "http://snomed.info/sct"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OUTCOME_EXTENSION = "urn:vn:extension:ket-qua-dtri"
DISCHARGE_EXTENSION = "urn:vn:extension:ma-loai-rv"
REVISION_EXTENSION = "urn:vn:extension:revision"

SERVICE_STATUS = {"ordered": "active", "done": "completed", "cancelled": "revoked"}
APPOINTMENT_STATUS = {"booked": "booked", "attended": "fulfilled", "cancelled": "cancelled"}
REFERRAL_CATEGORY = {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]}
#: MA_LOAI_RV of each referral reason kind.
REFERRAL_REASON_CODE = {"professional": "2", "patient_request": "5"}
#: Default slot of a follow-up appointment when no clock time is stored.
DEFAULT_SLOT = time(8, 0)
AFTERNOON_SLOT = time(14, 0)
SLOT_LENGTH = timedelta(minutes=30)
_CLOCK_TIME = re.compile(r"\b([01]?\d|2[0-3])\s*[:hH]\s*([0-5]\d)?")


def _user(user_id: object) -> dict[str, Any]:
    return {"identifier": {"system": "urn:vn:station-user", "value": str(user_id)}}


def _diagnosis_condition(d: ConsultationDiagnosis, c: Consultation, version: str) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": ICD10, "code": d.icd10_code, "display": d.title}
    if version:
        coding["version"] = version
    return {
        "resourceType": "Condition", "id": f"dx{d.position}",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION,
                                           "code": "confirmed" if c.status == "signed" else "provisional"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis",
                                  "display": "Encounter Diagnosis"}]}],
        "code": {"coding": [coding], "text": d.title},
        "subject": _ref("Patient", c.patient_id),
        "encounter": _ref("Encounter", c.visit_id),
    }


def _notes(c: Consultation) -> list[dict[str, Any]]:
    notes = [{"text": f"{label}: {text}"} for label, text in (
        ("Bệnh sử", c.history), ("Khám lâm sàng", c.examination), ("Ghi chú", c.notes)) if text.strip()]
    for r in c.revisions:
        if r.kind == "amendment":
            notes.append({"text": f"Sửa đổi lần {r.number}: {r.reason}".strip(), "time": r.created_at.isoformat(),
                          **({"authorString": r.author_name} if r.author_name else {})})
    return notes


def build_clinical_impressions(session: Session, ids: list[str],
                               settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Consultation).where(Consultation.id.in_(_ids(ids))).options(
        selectinload(Consultation.diagnoses),
        selectinload(Consultation.revisions).load_only(
            ConsultationRevision.number, ConsultationRevision.kind, ConsultationRevision.reason,
            ConsultationRevision.created_at, ConsultationRevision.author_name))).all()
    out = {}
    for c in rows:
        signed = c.status == "signed"
        resource: dict[str, Any] = {
            "resourceType": "ClinicalImpression", "id": str(c.id), "meta": _meta(c),
            "status": "completed" if signed else "in-progress",
            "subject": _ref("Patient", c.patient_id),
            "encounter": _ref("Encounter", c.visit_id),
            "date": (c.signed_at if signed and c.signed_at else c.updated_at).isoformat(),
        }
        if c.reason:
            resource["description"] = c.reason
        if c.doctor_id:
            resource["assessor"] = _user(c.doctor_id)
        summary = "\n".join(t for t in (c.advice.strip(), c.notes.strip()) if t)
        if summary:
            resource["summary"] = summary
        if c.diagnoses:
            resource["contained"] = [_diagnosis_condition(d, c, c.icd_version) for d in c.diagnoses]
            resource["problem"] = [{"reference": f"#dx{d.position}", "display": f"{d.icd10_code} - {d.title}"}
                                   for d in c.diagnoses]
        extensions = [{"url": url, "valueCoding": {"system": settings.system(kind), "code": code}}
                      for url, kind, code in ((OUTCOME_EXTENSION, "ket-qua-dtri", c.outcome_code),
                                              (DISCHARGE_EXTENSION, "ma-loai-rv", c.discharge_code)) if code]
        if c.revision:
            extensions.append({"url": REVISION_EXTENSION, "valueInteger": c.revision})
        if extensions:
            resource["extension"] = extensions
        notes = _notes(c)
        if notes:
            resource["note"] = notes
        out[str(c.id)] = resource
    return out


def build_service_requests(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(ServiceOrder).where(ServiceOrder.id.in_(_ids(ids)))).all()
    out = {}
    for o in rows:
        coding = [{"system": settings.system("station-service"), "code": o.service_code, "display": o.service_name}]
        if o.bhyt_code:
            coding.append({"system": settings.system("ma-dich-vu"), "code": o.bhyt_code})
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest", "id": str(o.id), "meta": _meta(o),
            "status": SERVICE_STATUS.get(o.status, "unknown"),
            "intent": "order",
            "code": {"coding": coding, "text": o.service_name},
            "quantityQuantity": {"value": o.quantity, "unit": o.unit},
            "subject": _ref("Patient", o.patient_id),
            "encounter": _ref("Encounter", o.visit_id),
            "authoredOn": o.ordered_at.isoformat(),
        }
        if o.ordered_by:
            resource["requester"] = _user(o.ordered_by)
        if o.icd10_code:
            resource["reasonCode"] = [{"coding": [{"system": ICD10, "code": o.icd10_code}]}]
        notes = [{"text": t} for t in (o.note, f"Lý do hủy: {o.cancelled_reason}" if o.cancelled_reason else "")
                 if t]
        if notes:
            resource["note"] = notes
        out[str(o.id)] = resource
    return out


def build_referrals(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Referral).where(Referral.id.in_(_ids(ids)))).all()
    out = {}
    for r in rows:
        performer: dict[str, Any] = {"display": r.destination_name}
        if r.destination_code:
            performer["identifier"] = {"system": settings.system("facility"), "value": r.destination_code}
        reason: dict[str, Any] = {"text": r.reason}
        if r.reason_kind in REFERRAL_REASON_CODE:
            reason["coding"] = [{"system": settings.system("ma-loai-rv"), "code": REFERRAL_REASON_CODE[r.reason_kind]}]
        reasons = [reason] + ([{"text": r.diagnosis}] if r.diagnosis.strip() else [])
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest", "id": str(r.id), "meta": _meta(r),
            "identifier": [{"system": settings.system("giay-chuyen-tuyen"), "value": r.number}],
            "status": "active",
            "intent": "order",
            "category": [REFERRAL_CATEGORY],
            "code": {"coding": REFERRAL_CATEGORY["coding"], "text": "Chuyển cơ sở khám bệnh, chữa bệnh"},
            "subject": _ref("Patient", r.patient_id),
            "encounter": _ref("Encounter", r.visit_id),
            "occurrencePeriod": {"start": r.issued_on.isoformat(), "end": r.valid_until.isoformat()},
            "authoredOn": r.issued_on.isoformat(),
            "performer": [performer],
            "reasonCode": reasons,
        }
        if r.signer_name or r.signed_by:
            resource["requester"] = {"display": r.signer_name or r.signed_by}
        notes = [{"text": f"{label}: {text}"} for label, text in (
            ("Dấu hiệu lâm sàng, kết quả cận lâm sàng", r.findings),
            ("Thuốc, phương pháp điều trị đã dùng", r.treatment_given),
            ("Tình trạng người bệnh lúc chuyển", r.condition_at_transfer),
            ("Phương tiện vận chuyển", r.transport),
            ("Người hộ tống", r.accompanying_staff)) if text.strip()]
        if notes:
            resource["note"] = notes
        out[str(r.id)] = resource
    return out


def appointment_slot(day: date, time_text: str) -> tuple[datetime, datetime]:
    """Return the local start and end of a follow-up slot on *day* (see the module docstring)."""
    match = _CLOCK_TIME.search(time_text or "")
    if match:
        start_time = time(int(match.group(1)), int(match.group(2) or 0))
    elif "chiều" in (time_text or "").lower():
        start_time = AFTERNOON_SLOT
    else:
        start_time = DEFAULT_SLOT
    start = datetime.combine(day, start_time, tzinfo=LOCAL_TZ)
    return start, start + SLOT_LENGTH


def build_appointments(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(FollowUpAppointment).where(FollowUpAppointment.id.in_(_ids(ids)))).all()
    out = {}
    for a in rows:
        start, end = appointment_slot(a.appointment_on, a.appointment_time)
        resource: dict[str, Any] = {
            "resourceType": "Appointment", "id": str(a.id), "meta": _meta(a),
            "identifier": [{"system": settings.system("so-giay-hen"), "value": a.number}],
            "status": APPOINTMENT_STATUS.get(a.status, "booked"),
            "description": a.reason or "Hẹn khám lại",
            "start": start.isoformat(), "end": end.isoformat(),
            "minutesDuration": int(SLOT_LENGTH.total_seconds() // 60),
            "created": a.issued_at.isoformat(),
            "participant": [{"actor": _ref("Patient", a.patient_id), "required": "required",
                             "status": "accepted"}],
        }
        comment = "; ".join(t for t in (
            f"Giờ hẹn: {a.appointment_time}" if a.appointment_time else "",
            f"Phòng: {a.room_code}" if a.room_code else "", a.note) if t)
        if comment:
            resource["comment"] = comment
        out[str(a.id)] = resource
    return out


BUILDERS = {
    "ClinicalImpression": build_clinical_impressions,
    "ServiceRequest": build_service_requests,
    "Referral": build_referrals,
    "Appointment": build_appointments,
}
