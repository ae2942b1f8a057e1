"""Every payload the station emits validates as FHIR R4 (fhir.resources R4B models)."""

from __future__ import annotations

import importlib
from datetime import date, datetime, timezone
from decimal import Decimal

from station.patients.models import BhytCard, Household, Patient, PatientIdentifier, Vaccination
from station.printing.models import PrintJob
from station.sync import fhir
from station.visits.models import Observation, Visit

SETTINGS = fhir.FhirSettings(facility_code="01001")
T0 = datetime(2026, 11, 25, 1, 30, tzinfo=timezone.utc)


def validate(resource: dict) -> None:
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    getattr(module, kind).model_validate(resource)


def _records(session):  # type: ignore[no-untyped-def]
    household = Household(code="HGD-001", head_name="Trần Văn Bình")
    patient = Patient(code="01001-0000001", full_name="Nguyễn Thị Ánh", name_folded="nguyen thi anh",
                      birth_date=date(1952, 1, 1), birth_precision="year", birth_year=1952, sex="female",
                      phone="0912345678", province_code="01", commune_code="00070", street="12 Hàng Bạc",
                      ethnicity_code="01", emergency_name="Trần Văn Bình", emergency_phone="0987654321",
                      household=household)
    patient.identifiers.append(PatientIdentifier(kind="cccd", value="001152012345", issued_on=date(2021, 4, 15)))
    patient.identifiers.append(PatientIdentifier(kind="cmnd", value="012345678", status="cancelled"))
    patient.bhyt_cards.append(BhytCard(card_code="HT3010120878811", valid_from=date(2026, 1, 1),
                                       valid_to=date(2026, 12, 31)))
    visit = Visit(visit_key="01001.20261125.0001", patient=patient, arrived_at=T0, room_code="PK1",
                  reason="Ho, sốt", status="completed", completed_at=T0)
    vaccine = Vaccination(patient=patient, vaccine_code="VAT", vaccine_name="Uốn ván", dose_number=2,
                          given_on=date(2020, 5, 4), place="Trạm Y tế phường Hoàn Kiếm")
    session.add_all([household, patient, visit, vaccine])
    session.flush()
    obs = Observation(visit_id=visit.id, patient_id=patient.id, kind="bp_systolic", loinc="8480-6",
                      value=Decimal("135"), unit="mm[Hg]", recorded_at=T0)
    session.add(obs)
    job = PrintJob(document="ticket", payload="{}", patient_id=patient.id, state="done")
    session.add(job)
    session.commit()
    return {"Group": household, "Patient": patient, "Encounter": visit, "Observation": obs,
            "Immunization": vaccine, "DocumentReference": job}


def test_core_payloads_validate_as_fhir_r4(app):
    from station.extensions import db

    with app.app_context():
        records = _records(db.session)
        builders = fhir.builders()
        for kind, obj in records.items():
            built = builders[kind](db.session, [str(obj.id)], SETTINGS)
            resource = built[str(obj.id)]
            assert resource["resourceType"] == kind
            validate(resource)


def test_patient_payload_carries_identifiers_and_year_only_birth(app):
    from station.extensions import db

    with app.app_context():
        patient = _records(db.session)["Patient"]
        resource = fhir.build_patients(db.session, [str(patient.id)], SETTINGS)[str(patient.id)]
        values = {(i["system"], i["value"], i.get("use")) for i in resource["identifier"]}
        assert ("urn:vn:cccd", "001152012345", "official") in values
        assert ("urn:vn:cmnd", "012345678", "old") in values
        assert ("urn:vn:bhyt", "HT3010120878811", "secondary") in values
        assert ("urn:vn:station-patient", "01001-0000001", "usual") in values
        assert resource["birthDate"] == "1952"
        assert resource["name"][0]["family"] == "Nguyễn" and resource["name"][0]["given"] == ["Thị", "Ánh"]


def test_missing_entities_are_left_out(app):
    from station.extensions import db

    with app.app_context():
        assert fhir.build_patients(db.session, ["00000000-0000-0000-0000-000000000001"], SETTINGS) == {}
