"""Demo residents: realistic Vietnamese people of the station's province (never for a real station).

Names with diacritics in their real frequencies, an age/sex pyramid close to Hà Nội's,
post-2025 communes of the facility's province (vietnam-provinces), CCCD numbers whose
century/sex and year digits agree with the birth date, BHYT cards by age group,
some allergies, chronic conditions (I10, E11...) and EPI vaccinations for young children.

Rows are written with bulk inserts (plus their change-log rows and one audit event),
so 50 residents take milliseconds and 100,000 take seconds.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from station.admin import services as admin_services
from station.audit import services as audit
from station.audit.services import Actor
from station.clock import local_today, now_utc
from station.db import lock_for_append
from station.patients.cccd import BIRTH_PROVINCE_CODES
from station.patients.models import (
    Allergy, BhytCard, ChronicCondition, Patient, PatientIdentifier, PatientNameToken, RiskFactors, Vaccination,
    token_rows,
)
from station.sync.models import ChangeLog
from station.text import fold

ORDER = 10

FAMILY = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 5), ("Phan", 4.5), ("Vũ", 4),
          ("Võ", 2), ("Đặng", 2.1), ("Bùi", 2), ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1),
          ("Lý", 0.5), ("Đào", 0.8), ("Đinh", 0.7), ("Trịnh", 0.6), ("Lương", 0.5), ("Mai", 0.4), ("Tạ", 0.3)]
MIDDLE = {"male": ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Công", "Xuân", "Mạnh", "Tiến", "Ngọc", "Anh"],
          "female": ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Hồng", "Bích", "Kim", "Khánh"]}
GIVEN = {"male": ["Anh", "Hùng", "Dũng", "Tuấn", "Nam", "Hải", "Long", "Phúc", "Bình", "Cường", "Hiếu", "Khánh",
                  "Sơn", "Thắng", "Tùng", "Việt", "Đạt", "Quân", "Huy", "Minh", "Trung", "Thành", "Đức", "Hoàng",
                  "Kiên", "Lâm", "Toàn", "Vinh", "Hưng", "Quý"],
         "female": ["Lan", "Hoa", "Hương", "Mai", "Linh", "Trang", "Hằng", "Ngọc", "Thảo", "Nhung", "Yến", "Hà",
                    "Thủy", "Hạnh", "Phương", "Dung", "Huyền", "Vân", "Chi", "Anh", "Loan", "Nga", "Oanh", "Hòa",
                    "Giang", "Quỳnh", "Trâm", "Uyên", "Liên", "Tâm"]}
#: Share of the population per 5-year age band (0-4 ... 95-99), roughly Hà Nội 2019.
AGE_BANDS = [7.5, 8, 7.5, 7, 7, 7.5, 8, 8, 7.5, 7, 6, 5.5, 5, 4, 3, 2, 1.2, 0.7, 0.25, 0.05]
OCCUPATIONS = ["Nông dân", "Công nhân", "Nhân viên văn phòng", "Buôn bán", "Nội trợ", "Giáo viên",
               "Lao động tự do", "Kỹ sư", "Lái xe", "Thợ may", "Bộ đội", "Công an", "Kế toán"]
STREETS = ["Hàng Bạc", "Hàng Đào", "Lý Thái Tổ", "Đinh Tiên Hoàng", "Hàng Gai", "Tràng Tiền", "Phan Chu Trinh",
           "Bà Triệu", "Hai Bà Trưng", "Lê Thái Tổ", "Hàng Bông", "Cầu Gỗ", "Hàng Chiếu", "Mã Mây", "Ngõ Trạm"]
ALLERGIES = [("drug", "Amoxicillin", "Nổi mẩn đỏ"), ("drug", "Penicillin", "Khó thở, nổi mề đay"),
             ("drug", "Aspirin", "Phù mặt"), ("food", "Hải sản", "Ngứa, nổi mẩn"), ("drug", "Cotrimoxazol", "Ban đỏ"),
             ("food", "Sữa bò", "Đau bụng, tiêu chảy"), ("chemical", "Thuốc nhuộm tóc", "Viêm da tiếp xúc")]
#: EPI schedule for infants: (code, name, dose, age in days).
EPI = [("BCG", "Vắc xin BCG (lao)", 1, 0), ("VGB", "Vắc xin viêm gan B sơ sinh", 1, 0),
       ("DPT-VGB-Hib", "Vắc xin 5 trong 1 (DPT-VGB-Hib)", 1, 60), ("OPV", "Vắc xin bại liệt uống", 1, 60),
       ("DPT-VGB-Hib", "Vắc xin 5 trong 1 (DPT-VGB-Hib)", 2, 90), ("OPV", "Vắc xin bại liệt uống", 2, 90),
       ("DPT-VGB-Hib", "Vắc xin 5 trong 1 (DPT-VGB-Hib)", 3, 120), ("OPV", "Vắc xin bại liệt uống", 3, 120),
       ("IPV", "Vắc xin bại liệt tiêm", 1, 150), ("MR", "Vắc xin sởi", 1, 270), ("VNNB", "Viêm não Nhật Bản", 1, 365),
       ("DPT", "Vắc xin DPT nhắc lại", 4, 540), ("MR", "Vắc xin sởi - rubella", 2, 540)]


def _weighted(rng: random.Random, pairs: list[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def generate(rng: random.Random, count: int, *, today: date, province_code: str, communes: list[str],
             home_commune: str, facility_code: str, bhyt_province: str = "01") -> Iterator[dict[str, Any]]:
    """Yield *count* residents as plain dicts (also used by bench/dataset.py to write CSV files)."""
    used_cccd: set[str] = set()
    used_bhxh: set[str] = set()
    birth_codes = list(BIRTH_PROVINCE_CODES)
    for _ in range(count):
        sex = "female" if rng.random() < 0.505 else "male"
        band = rng.choices(range(len(AGE_BANDS)), weights=AGE_BANDS)[0]
        age = band * 5 + rng.randrange(5)
        birth = today - timedelta(days=age * 365 + rng.randrange(365))
        if birth > today:
            birth = today
        precision = "day"
        if age >= 80 and rng.random() < 0.3:
            precision, birth = "year", date(birth.year, 1, 1)
        full_name = f"{_weighted(rng, FAMILY)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"
        person: dict[str, Any] = {
            "full_name": full_name, "sex": sex, "birth_date": birth, "birth_precision": precision, "age": age,
            "province_code": province_code, "commune_code": home_commune if rng.random() < 0.8 or not communes
            else rng.choice(communes), "hamlet": f"Tổ dân phố số {rng.randint(1, 25)}",
            "street": f"Số {rng.randint(1, 180)} phố {rng.choice(STREETS)}",
            "ethnicity_code": "01" if rng.random() < 0.97 else rng.choice(["06", "02", "09", "04", "07"]),
            "occupation": "Trẻ em" if age < 6 else "Học sinh" if age < 18 else "Hưu trí" if age >= 60
            else rng.choice(OCCUPATIONS),
            "religion": rng.choices(["Không", "Phật giáo", "Công giáo"], weights=[80, 15, 5])[0],
            "phone": "", "cccd": "", "bhyt": "", "managing_facility": facility_code,
        }
        if age >= 14 and rng.random() < 0.9:
            prefix = ("001" if rng.random() < 0.75 else rng.choice(birth_codes))
            digit = (birth.year // 100 - 19) * 2 + (1 if sex == "female" else 0)
            while True:
                number = f"{prefix}{digit}{birth.year % 100:02d}{rng.randrange(10**6):06d}"
                if number not in used_cccd:
                    used_cccd.add(number)
                    break
            person["cccd"] = number
        if age >= 16 and rng.random() < 0.85:
            person["phone"] = f"0{rng.choice('35789')}{rng.randrange(10**8):08d}"
        if rng.random() < 0.9:
            obj = "TE" if age < 6 else "HS" if age < 18 else "HT" if age >= 60 and rng.random() < 0.5 else \
                rng.choice(["GD", "DN", "HC", "GD"])
            level = {"TE": 1, "HS": 4, "HT": 3, "GD": 4, "DN": 4, "HC": 4}[obj]
            while True:
                bhxh = f"{bhyt_province}{rng.randrange(10**8):08d}"
                if bhxh not in used_bhxh:
                    used_bhxh.add(bhxh)
                    break
            person["bhyt"] = f"{obj}{level}{bhyt_province}{bhxh}"
            person["bhxh"] = bhxh
        if age < 16:
            parent_sex = rng.choice(["male", "female"])
            person["guardian_name"] = f"{full_name.split(' ')[0]} {rng.choice(MIDDLE[parent_sex])} " \
                                      f"{rng.choice(GIVEN[parent_sex])}"
            person["guardian_relation"] = "Bố" if parent_sex == "male" else "Mẹ"
            person["guardian_phone"] = f"09{rng.randrange(10**8):08d}"
        yield person


def bulk_insert(session: Session, people: list[dict[str, Any]], *, actor: Actor, rng: random.Random,
                today: date, facility_code: str) -> list[uuid.UUID]:
    """Write *people* (from :func:`generate`) with bulk inserts, their history and change log; return ids."""
    from station.patients.importer import _reserve_codes

    now = now_utc()
    codes = _reserve_codes(session, facility_code, len(people))
    patients, tokens, idents, cards, allergies, conditions, vaccines, risks = ([] for _ in range(8))
    ids: list[uuid.UUID] = []
    for person, code in zip(people, codes, strict=True):
        pid = uuid.uuid4()
        ids.append(pid)
        birth: date = person["birth_date"]
        patients.append({
            "id": pid, "code": code, "full_name": person["full_name"], "name_folded": fold(person["full_name"]),
            "birth_date": birth, "birth_precision": person["birth_precision"], "birth_year": birth.year,
            "sex": person["sex"], "ethnicity_code": person["ethnicity_code"], "nationality_code": "000",
            "occupation": person["occupation"], "religion": person["religion"],
            "province_code": person["province_code"], "commune_code": person["commune_code"],
            "hamlet": person["hamlet"], "street": person["street"], "phone": person["phone"],
            "guardian_name": person.get("guardian_name", ""), "guardian_relation": person.get("guardian_relation", ""),
            "guardian_phone": person.get("guardian_phone", ""), "managing_facility": facility_code,
            "status": "active", "version": 1, "created_at": now, "updated_at": now,
            "none_declared": "" if rng.random() < 0.6 else "surgeries,disabilities",
        })
        tokens.extend(token_rows(pid, person["full_name"]))
        if person["cccd"]:
            idents.append({"id": uuid.uuid4(), "patient_id": pid, "kind": "cccd", "value": person["cccd"],
                           "status": "active", "source": "qr", "created_at": now, "updated_at": now,
                           "issued_on": date(2021, 1, 1) + timedelta(days=rng.randrange(1200))})
        if person["bhyt"]:
            idents.append({"id": uuid.uuid4(), "patient_id": pid, "kind": "bhxh", "value": person["bhxh"],
                           "status": "active", "source": "bhyt", "created_at": now, "updated_at": now,
                           "issued_on": None})
            cards.append({"id": uuid.uuid4(), "patient_id": pid, "card_code": person["bhyt"],
                          "valid_from": date(today.year, 1, 1), "valid_to": date(today.year, 12, 31),
                          "registered_facility": facility_code, "five_years_on": None, "area_code": "",
                          "benefit_percent": None, "verified_at": None, "created_at": now, "updated_at": now})
        age = person["age"]
        if rng.random() < 0.06:
            cat, substance, reaction = rng.choice(ALLERGIES)
            allergies.append({"id": uuid.uuid4(), "patient_id": pid, "category": cat, "substance": substance,
                              "reaction": reaction, "severity": rng.choice(["mild", "moderate"]), "active": True,
                              "created_at": now, "updated_at": now})
        chronic = []
        if age >= 40 and rng.random() < min(0.45, 0.05 + (age - 40) * 0.008):
            chronic.append(("I10", "Tăng huyết áp vô căn (nguyên phát)"))
        if age >= 40 and rng.random() < 0.08:
            chronic.append(("E11", "Đái tháo đường type 2"))
        if rng.random() < 0.02:
            chronic.append(("J45", "Hen phế quản"))
        for icd, title in chronic:
            conditions.append({"id": uuid.uuid4(), "patient_id": pid, "icd10_code": icd, "title": title,
                               "onset_year": max(birth.year, today.year - rng.randint(0, 10)), "status": "active",
                               "note": "", "created_at": now, "updated_at": now})
        if age >= 15 and rng.random() < 0.4:
            smoker = person["sex"] == "male" and rng.random() < 0.45
            risks.append({"id": uuid.uuid4(), "patient_id": pid, "tobacco": "current" if smoker else "never",
                          "tobacco_per_day": rng.randint(5, 20) if smoker else None,
                          "alcohol": rng.choice(["never", "occasional", "regular"]), "drug_use": "never",
                          "physical_activity": rng.choice(["none", "low", "regular"]),
                          "occupational_exposure": "Không", "created_at": now, "updated_at": now})
        if age < 6:
            days_old = (today - birth).days
            for code, name, dose, at_days in EPI:
                if at_days <= days_old and rng.random() < 0.95:
                    vaccines.append({"id": uuid.uuid4(), "patient_id": pid, "vaccine_code": code, "vaccine_name": name,
                                     "dose_number": dose, "given_on": birth + timedelta(days=at_days + rng.randrange(7)),
                                     "place": "Trạm Y tế" if at_days else "Bệnh viện Phụ sản Hà Nội", "epi": True,
                                     "lot_number": "", "note": "", "version": 1, "created_at": now, "updated_at": now})
    for table, rows in ((Patient.__table__, patients), (PatientNameToken.__table__, tokens),
                        (PatientIdentifier.__table__, idents), (BhytCard.__table__, cards),
                        (Allergy.__table__, allergies), (ChronicCondition.__table__, conditions),
                        (RiskFactors.__table__, risks), (Vaccination.__table__, vaccines)):
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start:start + 5000])
    txn = str(uuid.uuid4())
    log = [{"entity": "Patient", "entity_id": str(p), "op": "upsert", "version": 1, "txn_id": txn,
            "changed_at": now} for p in ids]
    log += [{"entity": "Immunization", "entity_id": str(v["id"]), "op": "upsert", "version": 1, "txn_id": txn,
             "changed_at": now} for v in vaccines]
    lock_for_append(session, "change_log")
    for start in range(0, len(log), 5000):
        session.execute(insert(ChangeLog), log[start:start + 5000])
    audit.record(session, actor, "patient.demo_seed", entity_type="patient", detail={"count": len(ids)})
    return ids


def seed_demo(session: Session, rng: random.Random, actor: Actor, summary: dict[str, Any], *, patients: int) -> None:
    """Create *patients* demo residents in the facility's province and commune."""
    if patients <= 0:
        return
    facility = admin_services.get_facility(session)
    province = facility.province_code if facility else "01"
    home = facility.commune_code if facility else "00070"
    code = facility.facility_code if facility else "00000"
    communes = [c for c, _ in admin_services.commune_choices(province)]
    today = local_today()
    people = list(generate(rng, patients, today=today, province_code=province, communes=communes,
                           home_commune=home, facility_code=code, bhyt_province=province[-2:]))
    session.flush()
    bulk_insert(session, people, actor=actor, rng=rng, today=today, facility_code=code)
    summary["patients_created"] = patients
    example = next((p for p in people if p["cccd"]), None)
    if example is not None:
        summary["patient_example"] = {"full_name": example["full_name"], "cccd": example["cccd"]}
