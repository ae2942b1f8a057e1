"""Builders for billing and claims tests: a station, a patient with a BHYT card, a visit with
consultation data (signed diagnoses, services ordered, an issued prescription) and price lists.

Consultation rows are created directly with the consultation area's models, as the billing
adapter (station.billing.sources) reads them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from station.admin.models import Facility
from station.audit.services import Actor
from station.billing import prices
from station.billing import services as billing
from station.clock import LOCAL_TZ, FrozenClock
from station.patients.models import BhytCard, Patient, PatientIdentifier
from station.visits.models import Visit

ACTOR = Actor(id="test-cashier", label="Thu ngân Test", address="127.0.0.1")
#: 09:00 on 10/03/2026, Hà Nội time.
VISIT_AT = datetime(2026, 3, 10, 9, 0, tzinfo=LOCAL_TZ)
CARD = "HT3010120878811"  # level 3: 95 %, 100 % at a commune station
BANK_BIN = "970436"
BANK_ACCOUNT = "0011001234567"


def clock(at: datetime = VISIT_AT, **delta: float) -> FrozenClock:
    """Return a frozen clock at *at* plus *delta*."""
    return FrozenClock(at + timedelta(**delta))


def ensure_consultation_tables(session: Session) -> None:
    """Create the consultation area's tables if its migration has not been filled in yet (no-op after)."""
    from station.catalog.models import Drug, ServiceItem
    from station.consultation.models import (Consultation, ConsultationDiagnosis, FollowUpAppointment, Referral,
                                             ServiceOrder)
    from station.prescriptions.models import Prescription, PrescriptionItem

    session.commit()  # SQLite: release this session's write lock before using other connections
    bind = session.get_bind()
    existing = set(inspect(bind).get_table_names())
    tables = [m.__table__ for m in (Drug, ServiceItem, Consultation, ConsultationDiagnosis, ServiceOrder, Referral,
                                    FollowUpAppointment, Prescription, PrescriptionItem)]
    missing = [t for t in tables if t.name not in existing]
    if missing:
        for table in missing:
            table.create(bind, checkfirst=True)


def setup_station(session: Session, *, series: str = "BL2026", bank: bool = True) -> Facility:
    """Create the facility and billing settings (bank account for VietQR)."""
    facility = Facility(name="Trạm Y tế phường Hoàn Kiếm", facility_code="01001", province_code="01",
                        commune_code="00070", address="Số 1 Hàng Bài", db_identity=uuid.uuid4())
    session.add(facility)
    billing.save_config(session, actor=ACTOR, receipt_series=series, bank_bin=BANK_BIN if bank else "",
                        bank_account=BANK_ACCOUNT if bank else "", bank_account_name="TRAM Y TE HOAN KIEM",
                        bank_is_demo=False, receipt_room="THU", commune_level=True, head_bhxh_code="0101234567",
                        department_code="K01")
    session.flush()
    return facility


def make_patient(session: Session, *, name: str = "Nguyễn Thị Hồng & <Nhung>", card: str | None = CARD,
                 benefit: Decimal | None = Decimal(95), valid_to: date = date(2026, 12, 31),
                 code: str | None = None) -> Patient:
    """Create a patient (with a portal-verified BHYT card unless *card* is None)."""
    patient = Patient(code=code or f"01001-{uuid.uuid4().int % 10**7:07d}", full_name=name,
                      name_folded="nguyen thi hong nhung", birth_date=date(1985, 4, 12), birth_precision="day",
                      birth_year=1985, sex="female", ethnicity_code="01", nationality_code="000",
                      occupation_code="00000", province_code="01", commune_code="00070", street="12 Hàng Gai",
                      phone="0912345678")
    session.add(patient)
    session.flush()
    session.add(PatientIdentifier(patient_id=patient.id, kind="cccd", value="001185012345", status="active"))
    if card is not None:
        session.add(BhytCard(patient_id=patient.id, card_code=card, valid_from=date(2026, 1, 1), valid_to=valid_to,
                             registered_facility="01001", area_code="", benefit_percent=benefit,
                             verified_at=VISIT_AT))
    session.flush()
    return patient


def make_visit(session: Session, patient: Patient, *, at: datetime = VISIT_AT, key: str | None = None,
               insured: bool = True) -> Visit:
    """Create an outpatient visit at *at*."""
    card = patient.bhyt_cards[0] if (insured and patient.bhyt_cards) else None
    visit = Visit(visit_key=key or f"01001-{at:%Y%m%d}-{uuid.uuid4().int % 10**5:05d}", patient_id=patient.id,
                  visit_type="01", insurance_object_type="1.1" if card else "",
                  bhyt_card_id=card.id if card else None, eligibility="verified" if card else "uninsured",
                  reason="Ho, sốt 3 ngày", room_code="PK1", status="completed", arrived_at=at,
                  completed_at=at + timedelta(minutes=25))
    session.add(visit)
    session.flush()
    return visit


def make_catalog(session: Session) -> dict[str, Any]:
    """Create one exam service, one test and two drugs in the catalogue."""
    from station.catalog.models import Drug, ServiceItem

    found: dict[str, Any] = {}
    for code, name, bhyt in (("KB01", "Khám bệnh đa khoa", "02.1896"), ("XN01", "Đường máu mao mạch", "23.0075")):
        item = ServiceItem(code=code, name=name, kind="exam" if code == "KB01" else "test", bhyt_code=bhyt,
                           unit="Lần", price=Decimal(0), active=True, search_key=code.lower())
        session.add(item)
        found[code] = item
    for code, inn, strength, bhyt in (("T001", "Paracetamol", "500mg", "40.17"),
                                      ("T002", "Amoxicillin", "500mg", "40.98")):
        drug = Drug(code=code, inn=inn, strength=strength, dosage_form="Viên nén", unit="Viên", route="Uống",
                    registration_number="VD-12345-20", bhyt_code=bhyt, price=Decimal(0), active=True,
                    search_key=inn.lower())
        session.add(drug)
        found[code] = drug
    session.flush()
    return found


def add_prices(session: Session, *, effective_from: str = "01/01/2026", skip: tuple[str, ...] = ()) -> None:
    """Price the test catalogue (services at BHYT prices, drugs in the BHYT list)."""
    rows = [("dich_vu", "KB01", "Khám bệnh đa khoa", "38.700", "38.700", "Lần"),
            ("dich_vu", "XN01", "Đường máu mao mạch", "15.200", "15.200", "Lần"),
            ("thuoc", "T001", "Paracetamol 500mg", "500", "500", "Viên"),
            ("thuoc", "T002", "Amoxicillin 500mg", "1.150", "1.150", "Viên")]
    for kind, code, name, bv, bh, unit in rows:
        if code in skip:
            continue
        prices.save_price(session, prices.validate_price(kind, code, name, bv, bh, effective_from, unit=unit),
                          actor=ACTOR)


def add_consultation(session: Session, visit: Visit, catalog: dict[str, Any], *, signed: bool = True,
                     main: str | None = "J06.9", secondary: tuple[str, ...] = ("I10",), drugs: bool = True,
                     referral: bool = False, follow_up: bool = False) -> None:
    """Create the visit's consultation with diagnoses, services ordered and an issued prescription."""
    from station.consultation.models import (Consultation, ConsultationDiagnosis, FollowUpAppointment, Referral,
                                             ServiceOrder)
    from station.prescriptions.models import Prescription, PrescriptionItem

    at = visit.arrived_at
    record = Consultation(visit_id=visit.id, patient_id=visit.patient_id, status="signed" if signed else "draft",
                          reason="Ho, sốt", outcome_code="2", discharge_code="", advice="Uống nhiều nước & nghỉ ngơi",
                          signed_at=at + timedelta(minutes=20) if signed else None, revision=1 if signed else 0)
    codes = ([main] if main else []) + list(secondary)
    for position, code in enumerate(codes if main else [], start=0):
        record.diagnoses.append(ConsultationDiagnosis(position=position, icd10_code=code, title=f"Bệnh {code}"))
    session.add(record)
    for minute, code in ((5, "KB01"), (6, "XN01")):
        item = catalog[code]
        session.add(ServiceOrder(visit_id=visit.id, patient_id=visit.patient_id, service_id=item.id,
                                 service_code=item.code, service_name=item.name, bhyt_code=item.bhyt_code,
                                 unit="Lần", quantity=1, status="done", ordered_at=at + timedelta(minutes=minute)))
    if drugs:
        script = Prescription(code=f"01001{uuid.uuid4().hex[:7]}-c", visit_id=visit.id, patient_id=visit.patient_id,
                              prescriber_name="Nguyễn Thị Hòa", facility_code="01001", status="issued",
                              prescribed_on=at.date(), issued_at=at + timedelta(minutes=18),
                              diagnosis_codes=";".join(codes))
        for position, (code, dose, times, days) in enumerate((("T001", "1", 3, 5), ("T002", "1", 2, 5))):
            drug = catalog[code]
            script.lines.append(PrescriptionItem(
                position=position, drug_id=drug.id, display_name=f"{drug.inn} {drug.strength}", inn=drug.inn,
                strength=drug.strength, dosage_form=drug.dosage_form, unit="Viên", route="Uống",
                dose_per_time=Decimal(dose), times_per_day=times, days=days,
                quantity=Decimal(int(dose) * times * days), timing="Sau ăn", bhyt_code=drug.bhyt_code))
        session.add(script)
    if referral:
        session.add(Referral(visit_id=visit.id, patient_id=visit.patient_id, number=f"CT-{uuid.uuid4().hex[:6]}",
                             destination_code="01905", destination_name="Bệnh viện Bạch Mai", reason="Vượt khả năng",
                             issued_on=at.date(), valid_until=at.date() + timedelta(days=14)))
    if follow_up:
        session.add(FollowUpAppointment(visit_id=visit.id, patient_id=visit.patient_id,
                                        number=f"HK-{uuid.uuid4().hex[:6]}", appointment_on=at.date() + timedelta(days=7),
                                        appointment_time="07:30", issued_at=at + timedelta(minutes=21)))
    session.flush()


def full_visit(session: Session, **kwargs: Any) -> Visit:
    """Create station, catalogue, prices, a patient with a card, a visit and its consultation."""
    ensure_consultation_tables(session)
    setup_station(session)
    catalog = make_catalog(session)
    add_prices(session)
    patient = make_patient(session)
    visit = make_visit(session, patient)
    add_consultation(session, visit, catalog, **kwargs)
    return visit
