"""Clinical and billing payloads (consultation, prescriptions, billing) validate as FHIR R4 (R4B models),
and every synced entity type has a builder, so none is set aside by the push for lack of one."""

from __future__ import annotations

import importlib
import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from station.sync import fhir
from tests.billing.helpers import ACTOR, add_consultation, add_prices, clock, ensure_consultation_tables, full_visit, \
    make_catalog, make_patient, make_visit, setup_station

SETTINGS = fhir.FhirSettings(facility_code="01001")
MISSING = "00000000-0000-0000-0000-000000000001"


def validate(resource: dict) -> None:
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    getattr(module, kind).model_validate(resource)


def build(entity: str, obj) -> dict:  # type: ignore[no-untyped-def]
    from station.extensions import db

    built = fhir.builders()[entity](db.session, [str(obj.id), MISSING], SETTINGS)
    assert set(built) == {str(obj.id)}  # missing ids are left out
    validate(built[str(obj.id)])
    return built[str(obj.id)]


def _world(session):  # type: ignore[no-untyped-def]
    """A signed visit with diagnoses, services, an issued prescription, referral, follow-up, invoice, payment."""
    from station.billing import services as billing
    from station.consultation.models import Consultation, FollowUpAppointment, Referral, ServiceOrder
    from station.prescriptions.models import Prescription

    visit = full_visit(session, referral=True, follow_up=True)
    consultation = session.scalar(select(Consultation).where(Consultation.visit_id == visit.id))
    consultation.history, consultation.examination = "Sốt 3 ngày", "Họng đỏ"
    consultation.discharge_code, consultation.icd_version = "1", "ICD-10 BYT 2025"
    referral = session.scalar(select(Referral).where(Referral.visit_id == visit.id))
    referral.findings, referral.treatment_given, referral.transport = "SpO2 93%", "Paracetamol", "Xe cứu thương"
    referral.diagnosis = "J18.9 - Viêm phổi"
    invoice = billing.compute_invoice(session, visit, actor=ACTOR, clock=clock())
    payment = billing.record_payment(session, invoice, method="cash", amount=invoice.patient_due or 0,
                                     actor=ACTOR, clock=clock(minutes=40))
    session.commit()
    return {
        "visit": visit, "ClinicalImpression": consultation, "Referral": referral,
        "ServiceRequest": session.scalars(select(ServiceOrder).where(ServiceOrder.visit_id == visit.id)).first(),
        "Appointment": session.scalar(select(FollowUpAppointment).where(FollowUpAppointment.visit_id == visit.id)),
        "MedicationRequest": session.scalar(select(Prescription).where(Prescription.visit_id == visit.id)),
        "Invoice": invoice, "PaymentReconciliation": payment,
    }


def _uninsured_payment(session):  # type: ignore[no-untyped-def]
    """A paid cash receipt of an uninsured visit (the patient pays the whole 72.900 đ)."""
    from station.billing import services as billing

    ensure_consultation_tables(session)
    setup_station(session)
    catalog = make_catalog(session)
    add_prices(session)
    visit = make_visit(session, make_patient(session, card=None, name="Trần Văn Nam"), insured=False)
    add_consultation(session, visit, catalog)
    invoice = billing.compute_invoice(session, visit, actor=ACTOR, clock=clock())
    payment = billing.record_payment(session, invoice, method="cash", amount="100.000", actor=ACTOR,
                                     clock=clock(minutes=40))
    session.commit()
    return invoice, payment


def test_every_synced_entity_has_a_builder(app):
    from station.extensions import db
    from station.sync.capture import Synced

    with app.app_context():
        declared = {m.class_.__sync_entity__ for m in db.Model.registry.mappers
                    if issubclass(m.class_, Synced) and getattr(m.class_, "__sync_entity__", None)}
        assert {"ClinicalImpression", "ServiceRequest", "Referral", "Appointment", "MedicationRequest", "Invoice",
                "PaymentReconciliation"} <= declared
        missing = declared - set(fhir.builders())
        assert not missing, f"synced entities without a FHIR builder (the push would set them aside): {missing}"


def test_clinical_and_billing_payloads_validate_as_fhir_r4(app):
    from station.extensions import db

    with app.app_context():
        world = _world(db.session)
        expected = {"ClinicalImpression": "ClinicalImpression", "ServiceRequest": "ServiceRequest",
                    "Referral": "ServiceRequest", "Appointment": "Appointment", "MedicationRequest": "Bundle",
                    "Invoice": "Invoice", "PaymentReconciliation": "PaymentReconciliation"}
        for entity, rtype in expected.items():
            assert build(entity, world[entity])["resourceType"] == rtype
            assert fhir.builders()[entity](db.session, [MISSING], SETTINGS) == {}


def test_clinical_impression_contains_coded_diagnoses(app):
    from station.extensions import db

    with app.app_context():
        world = _world(db.session)
        ci = build("ClinicalImpression", world["ClinicalImpression"])
        assert ci["status"] == "completed" and ci["encounter"] == {"reference": f"Encounter/{world['visit'].id}"}
        assert [p["reference"] for p in ci["problem"]] == ["#dx0", "#dx1"]
        main = ci["contained"][0]
        assert main["id"] == "dx0" and main["resourceType"] == "Condition"
        assert main["code"]["coding"][0] == {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J06.9",
                                             "display": "Bệnh J06.9", "version": "ICD-10 BYT 2025"}
        assert main["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
        assert ci["contained"][1]["code"]["coding"][0]["code"] == "I10"
        assert ci["summary"].startswith("Uống nhiều nước")
        codes = {e["url"]: e["valueCoding"]["code"] for e in ci["extension"] if "valueCoding" in e}
        assert codes == {"urn:vn:extension:ket-qua-dtri": "2", "urn:vn:extension:ma-loai-rv": "1"}
        assert {"text": "Khám lâm sàng: Họng đỏ"} in ci["note"]


def test_draft_consultation_without_diagnoses_is_in_progress(app):
    from station.consultation.models import Consultation
    from station.extensions import db

    with app.app_context():
        visit = full_visit(db.session, signed=False, main=None, drugs=False)
        db.session.commit()
        draft = db.session.scalar(select(Consultation).where(Consultation.visit_id == visit.id))
        ci = build("ClinicalImpression", draft)
        assert ci["status"] == "in-progress" and "contained" not in ci and "problem" not in ci


def test_service_request_referral_and_appointment(app):
    from station.extensions import db

    with app.app_context():
        world = _world(db.session)
        sr = build("ServiceRequest", world["ServiceRequest"])
        assert sr["status"] == "completed" and sr["intent"] == "order"
        assert {"system": "urn:vn:station-service", "code": "KB01", "display": "Khám bệnh đa khoa"} \
            in sr["code"]["coding"]
        assert {"system": "urn:vn:ma-dich-vu", "code": "02.1896"} in sr["code"]["coding"]
        assert sr["quantityQuantity"] == {"value": 1, "unit": "Lần"}

        ref = build("Referral", world["Referral"])
        assert ref["resourceType"] == "ServiceRequest"
        assert ref["category"][0]["coding"][0]["code"] == "3457005"
        assert ref["performer"][0] == {"display": "Bệnh viện Bạch Mai",
                                       "identifier": {"system": "urn:vn:ma-cskcb", "value": "01905"}}
        assert ref["occurrencePeriod"]["end"] == world["Referral"].valid_until.isoformat()
        assert {"text": "J18.9 - Viêm phổi"} in ref["reasonCode"]
        assert any("Xe cứu thương" in n["text"] for n in ref["note"])

        appt = build("Appointment", world["Appointment"])
        day = world["Appointment"].appointment_on.isoformat()
        assert appt["status"] == "booked"
        assert (appt["start"], appt["end"]) == (f"{day}T07:30:00+07:00", f"{day}T08:00:00+07:00")
        assert appt["participant"][0]["actor"]["reference"].startswith("Patient/")
        assert appt["participant"][0]["status"] == "accepted"


def test_appointment_without_clock_time_defaults_to_eight_local():
    from station.consultation.fhir import appointment_slot

    start, end = appointment_slot(date(2026, 3, 17), "buổi sáng")
    assert (start.isoformat(), end.isoformat()) == ("2026-03-17T08:00:00+07:00", "2026-03-17T08:30:00+07:00")
    assert appointment_slot(date(2026, 3, 17), "")[0].isoformat() == "2026-03-17T08:00:00+07:00"
    assert appointment_slot(date(2026, 3, 17), "Chiều")[0].isoformat() == "2026-03-17T14:00:00+07:00"
    assert appointment_slot(date(2026, 3, 17), "14h30")[0].isoformat() == "2026-03-17T14:30:00+07:00"


def test_prescription_is_a_bundle_of_one_medication_request_per_line(app):
    from station.extensions import db
    from station.prescriptions.models import Prescription, PrescriptionItem

    with app.app_context():
        world = _world(db.session)
        old = world["MedicationRequest"]
        bundle = build("MedicationRequest", old)
        assert bundle["type"] == "collection" and len(bundle["entry"]) == 2
        first = bundle["entry"][0]
        assert first["fullUrl"] == f"urn:uuid:{old.lines[0].id}"
        mr = first["resource"]
        assert mr["status"] == "active" and mr["intent"] == "order"
        assert mr["groupIdentifier"] == {"system": "urn:vn:ma-don-thuoc", "value": old.code}
        assert {"system": "urn:vn:station-drug", "code": "T001", "display": "Paracetamol 500mg"} \
            in mr["medicationCodeableConcept"]["coding"]
        assert {"system": "urn:vn:ma-thuoc", "code": "40.17"} in mr["medicationCodeableConcept"]["coding"]
        dosage = mr["dosageInstruction"][0]
        assert dosage["timing"]["repeat"]["frequency"] == 3 and dosage["timing"]["repeat"]["periodUnit"] == "d"
        assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 1, "unit": "Viên"}
        assert mr["dispenseRequest"]["quantity"]["value"] == 15
        assert mr["dispenseRequest"]["expectedSupplyDuration"] == {"value": 5, "unit": "d",
                                                                   "system": "http://unitsofmeasure.org", "code": "d"}
        assert [c["coding"][0]["code"] for c in mr["reasonCode"]] == ["J06.9", "I10"]

        # A correction: the new prescription replaces the issued one (which is left unchanged).
        line = old.lines[0]
        new = Prescription(code=f"01001{uuid.uuid4().hex[:7]}-c", visit_id=old.visit_id, patient_id=old.patient_id,
                           prescriber_name="Nguyễn Thị Hòa", facility_code="01001", status="issued",
                           prescribed_on=old.prescribed_on, issued_at=old.issued_at + timedelta(minutes=5),
                           diagnosis_codes="J06.9", replaces_id=old.id, replacement_reason="Sai liều",
                           chronic_treatment=True)
        new.lines.append(PrescriptionItem(position=0, drug_id=line.drug_id, display_name=line.display_name,
                                          inn=line.inn, unit="Viên", route="Uống", dose_per_time=Decimal("0.5"),
                                          times_per_day=2, days=3, quantity=Decimal(3)))
        draft = Prescription(visit_id=old.visit_id, patient_id=old.patient_id, status="draft")
        db.session.add_all([new, draft])
        db.session.commit()
        assert build("MedicationRequest", old)["entry"][0]["resource"]["status"] == "cancelled"
        replacement = build("MedicationRequest", new)["entry"][0]["resource"]
        assert replacement["status"] == "active"
        assert replacement["priorPrescription"]["identifier"]["value"] == old.code
        assert replacement["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 0.5
        assert replacement["courseOfTherapyType"]["coding"][0]["code"] == "continuous"
        empty = build("MedicationRequest", draft)
        assert "entry" not in empty and empty["identifier"]["value"] == f"urn:uuid:{draft.id}"


def test_insured_invoice_splits_bhyt_and_patient_shares(app):
    from station.extensions import db

    with app.app_context():
        invoice = _world(db.session)["Invoice"]
        assert invoice.t_bhtt > 0
        inv = build("Invoice", invoice)
        assert inv["status"] == "balanced"
        assert inv["totalGross"] == inv["totalNet"] == {"value": invoice.t_tongchi_bv, "currency": "VND"}
        shares = {c["code"]["coding"][0]["code"]: (c["type"], c["amount"]["value"]) for c in inv["totalPriceComponent"]}
        assert shares == {"base": ("base", invoice.t_tongchi_bv), "bhyt": ("deduction", invoice.t_bhtt),
                          "patient": ("informational", invoice.patient_due)}
        assert len(inv["lineItem"]) == len(invoice.lines) == 4
        assert sum(li["priceComponent"][0]["amount"]["value"] for li in inv["lineItem"]) == invoice.t_tongchi_bv
        assert {li["chargeItemCodeableConcept"]["coding"][0]["system"] for li in inv["lineItem"]} \
            == {"urn:vn:ma-dich-vu", "urn:vn:ma-thuoc"}


def test_payment_with_refund(app):
    from station.billing import services as billing
    from station.extensions import db

    with app.app_context():
        invoice, payment = _uninsured_payment(db.session)
        inv = build("Invoice", invoice)
        shares = {c["code"]["coding"][0]["code"]: c["amount"]["value"] for c in inv["totalPriceComponent"]}
        assert shares == {"base": 72_900, "patient": 72_900}
        pr = build("PaymentReconciliation", payment)
        assert pr["status"] == "active" and pr["outcome"] == "complete"
        assert pr["identifier"] == [{"system": "urn:vn:so-bien-lai", "value": payment.number}]
        assert pr["paymentAmount"] == {"value": 72_900, "currency": "VND"}
        assert pr["detail"] == [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/payment-type",
                                                      "code": "payment"}]},
                                 "request": {"reference": f"Invoice/{invoice.id}"},
                                 "date": payment.business_day.isoformat(),
                                 "amount": {"value": 72_900, "currency": "VND"}}]
        billing.refund_payment(db.session, payment, amount="10.000", reason="Thu thừa tiền", actor=ACTOR,
                               clock=clock(minutes=50))
        db.session.commit()
        pr = build("PaymentReconciliation", payment)
        assert pr["detail"][-1]["amount"] == {"value": -10_000, "currency": "VND"}
        assert pr["detail"][-1]["type"]["coding"][0]["code"] == "adjustment"
        assert "Thu thừa tiền" in pr["processNote"][0]["text"]


def test_cancelled_receipt_and_reopened_invoice(app):
    from station.billing import services as billing
    from station.extensions import db

    with app.app_context():
        invoice, payment = _uninsured_payment(db.session)
        billing.cancel_payment(db.session, payment, reason="Thu nhầm người bệnh", actor=ACTOR, clock=clock(minutes=45))
        db.session.commit()
        pr = build("PaymentReconciliation", payment)
        assert pr["status"] == "cancelled" and "outcome" not in pr
        assert build("Invoice", invoice)["status"] == "draft"
