"""Demo data for the consultation area: a commune formulary, a service list and past consultations."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from station.audit.services import Actor
from station.auth.models import User
from station.catalog import services as catalog
from station.catalog.models import Drug, ServiceItem
from station.clock import FrozenClock, SystemClock
from station.patients.models import Patient

ORDER = 40

#: code, INN, brand, strength, dosage form, unit, route, registration no., BHYT code, price, type
DEMO_DRUGS: list[tuple[str, str, str, str, str, str, str, str, str, str, str]] = [
    ("T001", "Paracetamol", "Panadol", "500mg", "Viên nén", "Viên", "Uống", "VN-20219-17", "40.1", "600", "C"),
    ("T002", "Paracetamol", "Hapacol 250", "250mg", "Thuốc bột sủi", "Gói", "Uống", "VD-21189-14", "40.2", "1500", "C"),
    ("T003", "Amoxicillin", "Amoxicillin 500mg", "500mg", "Viên nang", "Viên", "Uống", "VD-24773-16", "40.159", "850", "C"),
    ("T004", "Amoxicillin + Acid clavulanic", "Augmentin 625mg", "500mg + 125mg", "Viên nén bao phim", "Viên",
     "Uống", "VN-19813-16", "40.160", "9800", "C"),
    ("T005", "Amlodipin", "Amlor", "5mg", "Viên nang", "Viên", "Uống", "VN-21466-18", "40.437", "1200", "C"),
    ("T006", "Metformin", "Glucophage 500mg", "500mg", "Viên nén bao phim", "Viên", "Uống", "VN-20710-17", "40.634",
     "900", "C"),
    ("T007", "Omeprazol", "Omeprazol 20mg", "20mg", "Viên nang", "Viên", "Uống", "VD-25123-16", "40.677", "700", "C"),
    ("T008", "Natri clorid + Kali clorid + Natri citrat + Glucose khan", "Oresol 245", "4,22g", "Thuốc bột",
     "Gói", "Uống", "VD-23375-15", "40.960", "2000", "C"),
    ("T009", "Losartan", "Cozaar 50mg", "50mg", "Viên nén bao phim", "Viên", "Uống", "VN-18620-15", "40.447", "3500", "C"),
    ("T010", "Cetirizin", "Cetirizin 10mg", "10mg", "Viên nén", "Viên", "Uống", "VD-26788-17", "40.71", "300", "C"),
    ("T011", "Salbutamol", "Ventolin", "100mcg/liều", "Bình xịt định liều", "Bình", "Xịt họng", "VN-20025-16",
     "40.993", "75000", "C"),
    ("T012", "Ibuprofen", "Ibuprofen 400mg", "400mg", "Viên nén bao phim", "Viên", "Uống", "VD-22461-15", "40.25", "600", "C"),
    ("T013", "Kẽm gluconat", "Zinc 10mg", "10mg", "Siro", "Chai", "Uống", "VD-28934-18", "40.1044", "25000", "C"),
    ("T014", "Diazepam", "Seduxen 5mg", "5mg", "Viên nén", "Viên", "Uống", "VN-16547-13", "40.789", "500", "H"),
]

#: code, name, kind, BHYT code, price
DEMO_SERVICES: list[tuple[str, str, str, str, str]] = [
    ("DV001", "Khám bệnh (trạm y tế xã)", "exam", "02.1896", "30500"),
    ("DV002", "Đo đường huyết mao mạch", "test", "23.0075.1494", "15200"),
    ("DV003", "Tổng phân tích nước tiểu (10 thông số)", "test", "23.0206.1596", "27400"),
    ("DV004", "Điện tim thường", "imaging", "21.0014.1778", "32800"),
    ("DV005", "Thay băng vết thương dưới 15 cm", "procedure", "03.3911.0200", "57600"),
    ("DV006", "Khâu vết thương phần mềm dưới 10 cm", "procedure", "03.3826.0218", "178000"),
    ("DV007", "Tiêm bắp", "procedure", "03.0097.0212", "11400"),
    ("DV008", "Khí dung", "procedure", "03.0115.0209", "19700"),
]

_CASES: list[dict[str, Any]] = [
    {"reason": "Ho, sốt nhẹ 2 ngày", "exam": "Họng đỏ, amidan không sưng; phổi không ran.", "main": "J06.9",
     "secondary": "", "lines": [("T001", "1", "3", "3", "Sau ăn"), ("T010", "1", "1", "5", "Tối")],
     "advice": "Uống nhiều nước, tái khám nếu sốt cao trên 39 độ."},
    {"reason": "Tái khám tăng huyết áp", "exam": "Tim đều, HA 150/90 mmHg.", "main": "I10", "secondary": "E11.9",
     "lines": [("T005", "1", "1", "30", "Sáng"), ("T006", "1", "2", "30", "Sau ăn")],
     "advice": "Ăn nhạt, đi bộ 30 phút mỗi ngày, tái khám sau 1 tháng."},
    {"reason": "Đau thượng vị", "exam": "Bụng mềm, ấn đau thượng vị.", "main": "K29.7", "secondary": "",
     "lines": [("T007", "1", "2", "14", "Trước ăn 30 phút")], "advice": "Ăn đúng bữa, tránh đồ cay."},
    {"reason": "Tiêu chảy 1 ngày", "exam": "Không mất nước, bụng mềm.", "main": "A09.9", "secondary": "",
     "lines": [("T008", "1", "3", "3", "Pha 200 ml nước, uống dần")], "advice": "Bù nước, ăn chín uống sôi."},
]


def seed_formulary(session: Session, actor: Actor) -> tuple[int, int]:
    """Create the demo drugs and services that do not exist yet; return the counts created."""
    have_drugs = set(session.scalars(select(Drug.code)))
    made_drugs = 0
    for code, inn, brand, strength, form, unit, route, reg, bhyt, price, kind in DEMO_DRUGS:
        if code in have_drugs:
            continue
        catalog.save_drug(session, {"code": code, "inn": inn, "brand_name": brand, "strength": strength,
                                    "dosage_form": form, "unit": unit, "route": route, "registration_number": reg,
                                    "bhyt_code": bhyt, "price": Decimal(price), "prescription_type": kind,
                                    "whole_units": True}, actor=actor)
        made_drugs += 1
    have_services = set(session.scalars(select(ServiceItem.code)))
    made_services = 0
    for code, name, kind, bhyt, price in DEMO_SERVICES:
        if code in have_services:
            continue
        catalog.save_service(session, {"code": code, "name": name, "kind": kind, "bhyt_code": bhyt,
                                       "price": Decimal(price)}, actor=actor)
        made_services += 1
    return made_drugs, made_services


def seed_demo(session: Session, rng: random.Random, actor: Actor, summary: dict[str, Any], *, patients: int) -> None:
    """Formulary, services, and completed past consultations for a few demo residents."""
    from station.consultation import services as consult
    from station.prescriptions import services as rx
    from station.visits.services import open_visit

    drugs, services_made = seed_formulary(session, actor)
    summary["drugs_created"] = drugs
    summary["services_created"] = services_made
    doctor = session.scalar(select(User).where(User.username == "bs.hoa"))
    residents = list(session.scalars(select(Patient).where(Patient.status == "active", Patient.birth_year < 2015)
                                     .order_by(Patient.code).limit(30)))
    if doctor is None or not residents:
        summary["past_consultations"] = 0
        return
    from station.admin.models import Facility

    facility = session.scalar(select(Facility).limit(1))
    by_code = {d.code: d for d in session.scalars(select(Drug))}
    made = 0
    now = SystemClock().now()
    for patient in rng.sample(residents, k=min(8, len(residents))):
        if session.scalar(select(func.count()).select_from(consult.Consultation)
                          .where(consult.Consultation.patient_id == patient.id)):
            continue
        case = rng.choice(_CASES)
        when = now - timedelta(days=rng.randint(7, 120), hours=rng.randint(0, 5))
        clock = FrozenClock(datetime(when.year, when.month, when.day, 2, 0, tzinfo=when.tzinfo))
        visit = open_visit(session, patient, facility_code=facility.facility_code if facility else "", room_code="PK1",
                           actor=actor, reason=case["reason"], clock=clock)
        consult.start_consultation(session, visit, user=doctor, actor=actor)
        data = consult.ConsultationInput(reason=case["reason"], examination=case["exam"], main_code=case["main"],
                                         secondary_codes=case["secondary"], outcome_code="2", discharge_code="1",
                                         advice=case["advice"],
                                         vitals={"pulse": str(rng.randint(68, 96)), "temperature": "37.2"})
        consult.save_consultation(session, visit, data, expected_version=None, user=doctor, actor=actor, clock=clock)
        draft = rx.draft_for_visit(session, visit, user=doctor, actor=actor)
        for code, dose, times, days, timing in case["lines"]:
            rx.add_line(session, draft, drug_id=by_code[code].id, dose_per_time=dose, times_per_day=times, days=days,
                        timing=timing, actor=actor, clock=clock)
        try:
            rx.issue(session, draft, rx.IssueDetails(advice=case["advice"], companion_name=patient.guardian_name,
                                                     weight_kg="20" if patient.birth_year > 2019 else ""),
                     user=doctor, actor=actor, clock=clock, print_slip=False)
        except rx.ValidationFailed:
            rx.discard_draft(session, draft, actor=actor)
        consult.complete(session, visit, expected_version=None, user=doctor, actor=actor, clock=clock)
        made += 1
    summary["past_consultations"] = made
