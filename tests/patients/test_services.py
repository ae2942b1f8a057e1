"""Registering and editing records: validation, identifiers with history, history sections."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from sqlalchemy import func, select

from station.audit.models import AuditEvent
from station.errors import ValidationFailed
from station.patients import services
from station.patients.cccd import parse_cccd_qr
from station.patients.models import PatientIdentifier, PatientNameToken
from tests.patients.conftest import ACTOR, CLOCK, TODAY, make_patient


def test_register_stores_nfc_folded_name_code_tokens_and_audit(session):
    nfd = unicodedata.normalize("NFD", "Nguyễn  Thị   Hòa")
    p = make_patient(session, nfd, "12/10/1980", "Nữ", cccd="001180012345", phone="+84 912 345 678")
    session.commit()
    assert p.full_name == "Nguyễn Thị Hòa" and unicodedata.is_normalized("NFC", p.full_name)
    assert p.name_folded == "nguyen thi hoa" and p.sex == "female" and p.phone == "0912345678"
    assert p.code == "00000-0000001" and p.birth_year == 1980
    assert session.scalars(select(PatientNameToken.token).where(PatientNameToken.patient_id == p.id)
                           .order_by(PatientNameToken.position)).all() == ["nguyen", "thi", "hoa"]
    assert p.active_identifier("cccd") == "001180012345"
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(p.id))).all()
    assert "patient.create" in actions and "patient.identifier.add" in actions


@pytest.mark.parametrize("birth, message", [
    ("31/02/1990", "không có ngày 31"), ("29/02/2023", "không có ngày 29"), ("01/13/1990", "tháng phải từ 1 đến 12"),
    ("16/03/2026", "sau ngày hôm nay"), ("2027", "sau ngày hôm nay"), ("1890", "trên 125"), ("abc", "dd/mm/yyyy"),
])
def test_impossible_birth_dates_are_refused_in_vietnamese(session, birth, message):
    with pytest.raises(ValidationFailed) as error:
        make_patient(session, birth=birth)
    assert message in error.value.message and error.value.field == "birth"


def test_year_only_and_month_year_births(session):
    old = make_patient(session, "Lê Văn Cụ", "1938")
    mid = make_patient(session, "Lê Thị Bà", "07/1941", "female")
    assert (old.birth_date, old.birth_precision) == (date(1938, 1, 1), "year")
    assert (mid.birth_date, mid.birth_precision) == (date(1941, 7, 1), "month")
    assert services.format_birth(mid.birth_date, mid.birth_precision) == "07/1941"


@pytest.mark.parametrize("fields, field", [
    ({"sex": "x"}, "sex"), ({"phone": "12345"}, "phone"), ({"province_code": "99", "commune_code": "00070"}, "province_code"),
    ({"province_code": "01", "commune_code": "99999"}, "commune_code"), ({"ethnicity_code": "Klingon"}, "ethnicity_code"),
    ({"ethnicity_code": "77"}, "ethnicity_code"),
])
def test_bad_fields_name_the_field(session, fields, field):
    data = {"full_name": "Trần Văn B", "birth": "01/01/1970", "sex": "male", **fields}
    with pytest.raises(ValidationFailed) as error:
        services.register_patient(session, data, actor=ACTOR, clock=CLOCK)
    assert error.value.field == field


def test_ethnicity_by_name_or_code_and_the_list_has_54_groups_plus_foreigners(session):
    assert len(services.ethnicities()) == 55 and services.ethnicities()["01"] == "Kinh"
    assert services.ethnicity_code("kinh") == "01" and services.ethnicity_code("Khơ-me") == "05"
    assert services.ethnicity_code("8") == "08"
    p = make_patient(session, ethnicity_code="Mường", province_code="01", commune_code="00070")
    assert p.ethnicity_code == "06" and p.commune_code == "00070"


def test_update_audits_field_names_not_values(session):
    p = make_patient(session)
    changed = services.update_patient(session, p, {"phone": "0987654321", "full_name": "Nguyễn Văn Ánh"}, actor=ACTOR)
    assert sorted(changed) == ["full_name", "phone"]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "patient.update")).one()
    assert "0987654321" not in event.detail and "phone" in event.detail
    session.flush()
    tokens = session.scalars(select(PatientNameToken.token).where(PatientNameToken.patient_id == p.id)).all()
    assert "anh" in tokens and p.name_folded == "nguyen van anh"


def test_reissued_cccd_cancels_the_old_number_and_keeps_it(session):
    p = make_patient(session, cccd="001056012345")
    services.add_identifier(session, p, "cccd", "001056099999", actor=ACTOR, clock=CLOCK)
    rows = {i.value: (i.status, i.valid_to) for i in p.identifiers if i.kind == "cccd"}
    assert rows == {"001056012345": ("cancelled", TODAY), "001056099999": ("active", None)}
    assert session.scalar(select(func.count()).select_from(PatientIdentifier)) == 2
    with pytest.raises(ValidationFailed, match="12 chữ số"):
        services.add_identifier(session, p, "cccd", "12345", actor=ACTOR)
    with pytest.raises(ValidationFailed, match="9 chữ số"):
        services.add_identifier(session, p, "cmnd", "12345", actor=ACTOR)


def test_restoring_an_old_number_retires_the_current_one(session):
    p = make_patient(session, cccd="001056012345")
    services.add_identifier(session, p, "cccd", "001056099999", actor=ACTOR, clock=CLOCK)
    services.add_identifier(session, p, "cccd", "001056012345", actor=ACTOR, clock=CLOCK)
    rows = {i.value: i.status for i in p.identifiers if i.kind == "cccd"}
    assert rows == {"001056012345": "active", "001056099999": "cancelled"}
    assert p.active_identifier("cccd") == "001056012345"


def test_cccd_century_sex_digit_mismatch_is_a_warning(session):
    p = make_patient(session, sex="female", birth="01/01/1990")
    ident = services.add_identifier(session, p, "cccd", "001090123456", actor=ACTOR)
    assert any("thứ 4" in w for w in ident.warnings)


def test_bhyt_card_adds_bhxh_identifier_and_never_a_benefit(session):
    p = make_patient(session)
    card = services.add_bhyt_card(session, p, "hs 4 01 0120878811", actor=ACTOR, valid_from="01/01/2026",
                                  valid_to="31/12/2026", registered_facility="01001")
    assert card.card_code == "HS4010120878811" and card.benefit_percent is None
    assert p.active_identifier("bhxh") == "0120878811"
    with pytest.raises(ValidationFailed, match="trước ngày bắt đầu"):
        services.add_bhyt_card(session, p, "HS4010120878811", actor=ACTOR, valid_from="01/01/2026", valid_to="01/01/2025")
    with pytest.raises(ValidationFailed, match="15 ký tự"):
        services.add_bhyt_card(session, p, "HS40101", actor=ACTOR)


def test_history_sections(session):
    p = make_patient(session, "Phạm Thị Lan", "02/02/1990", "female")
    services.add_allergy(session, p, category="drug", substance="Amoxicillin", reaction="Mẩn đỏ", actor=ACTOR)
    cond = services.add_condition(session, p, icd10_code="i10", onset_year="2020", actor=ACTOR, clock=CLOCK)
    assert (cond.icd10_code, cond.title) == ("I10", "Tăng huyết áp vô căn (nguyên phát)")
    with pytest.raises(ValidationFailed, match="không có trong danh mục"):
        services.add_condition(session, p, icd10_code="Z99.99", actor=ACTOR)
    with pytest.raises(ValidationFailed, match="năm sinh"):
        services.add_surgery(session, p, procedure="Mổ ruột thừa", year="1980", actor=ACTOR, clock=CLOCK)
    services.add_surgery(session, p, procedure="Mổ ruột thừa", year="2010", actor=ACTOR, clock=CLOCK)
    services.add_family_history(session, p, relation="mother", condition="Đái tháo đường", icd10_code="E11", actor=ACTOR)
    services.add_disability(session, p, kind="vision", level="mild", actor=ACTOR)
    services.save_risk_factors(session, p, {"tobacco": "never", "alcohol": "occasional", "drug_use": "never",
                                            "physical_activity": "regular"}, actor=ACTOR)
    services.save_reproductive(session, p, {"pregnancies": "2", "term_births": "2", "living_children": "2",
                                            "contraception": "iud"}, actor=ACTOR, clock=CLOCK)
    with pytest.raises(ValidationFailed, match="lớn hơn số lần có thai"):
        services.save_reproductive(session, p, {"pregnancies": "1", "term_births": "3"}, actor=ACTOR, clock=CLOCK)
    services.add_vaccination(session, p, vaccine_code="uv", vaccine_name="Uốn ván", dose_number="1",
                             given_on="10/10/2015", actor=ACTOR, clock=CLOCK)
    with pytest.raises(ValidationFailed, match="trước ngày sinh"):
        services.add_vaccination(session, p, vaccine_code="BCG", given_on="01/01/1985", actor=ACTOR, clock=CLOCK)
    man = make_patient(session, "Hoàng Văn Nam")
    with pytest.raises(ValidationFailed, match="chỉ ghi cho nữ"):
        services.save_reproductive(session, man, {}, actor=ACTOR)
    services.declare_none(session, man, "allergies", actor=ACTOR)
    assert man.none_declared == "allergies"
    services.add_allergy(session, man, category="food", substance="Tôm", actor=ACTOR)
    assert man.none_declared == ""


def test_register_from_qr_creates_once_then_finds_the_record(session):
    qr = "001090123456|012345678|NGUYỄN VĂN AN|01011990|Nam|Số 1 Hàng Bạc, Hoàn Kiếm, Hà Nội|15042021"
    card = parse_cccd_qr(qr, today=TODAY)
    first = services.register_patient_from_qr(session, card, actor=ACTOR, clock=CLOCK)
    again = services.register_patient_from_qr(session, card, actor=ACTOR, clock=CLOCK)
    assert first.created and not again.created and again.patient.id == first.patient.id
    p = first.patient
    assert p.full_name == "Nguyễn Văn An" and p.birth_date == date(1990, 1, 1) and p.card_address.startswith("Số 1")
    assert {(i.kind, i.value) for i in p.identifiers} == {("cccd", "001090123456"), ("cmnd", "012345678")}


def test_duplicates_by_identifier_and_by_name_birth_sex(session):
    a = make_patient(session, "Nguyễn Văn A", "05/03/1956", cccd="001056012345")
    b = make_patient(session, "Đỗ Thị Bình", "1950", "female")
    found = services.find_duplicates(session, identifiers=[("cccd", "001056012345")])
    assert [c.patient.id for c in found] == [a.id] and "CCCD" in found[0].reasons[0]
    found = services.find_duplicates(session, full_name="NGUYEN VAN A", birth=date(1956, 3, 5), sex="male")
    assert [c.patient.id for c in found] == [a.id]
    assert services.find_duplicates(session, full_name="Nguyễn Văn A", birth=date(1956, 3, 6), sex="male") == []
    found = services.find_duplicates(session, full_name="do thi binh", birth=date(1950, 8, 1), sex="female")
    assert [c.patient.id for c in found] == [b.id]
