"""Search (identifiers, diacritics, ranking, index use), merge and completeness."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import Column, ForeignKey, String, Table, Uuid, func, insert, select, text

from station.audit.models import AuditEvent
from station.clock import UTC
from station.patients import completeness, merge, search, services
from station.patients.models import Patient, PatientMerge
from tests.patients.conftest import ACTOR, CLOCK, TODAY, make_patient


@pytest.fixture
def people(session):  # type: ignore[no-untyped-def]
    a = make_patient(session, "Nguyễn Văn A", "05/03/1956", cccd="001056012345", phone="0912345678",
                     province_code="01", commune_code="00070")
    make_patient(session, "Nguyễn Văn Anh", "01/01/1990")
    make_patient(session, "Nguyễn Văn Á", "01/01/1961")
    make_patient(session, "Trần Thị Hoa", "02/02/1985", "female")
    make_patient(session, "Lê Hòa", "03/03/1975", "female")
    services.add_bhyt_card(session, a, "HT3010120878811", actor=ACTOR)
    session.commit()
    return a


@pytest.mark.parametrize("query", ["nguyen van a", "NGUYEN VAN A", "Nguyễn Văn A", "nguyễn văn á", "  nguyen   van a "])
def test_names_without_regard_to_diacritics_or_case(session, people, query):
    hits = search.search(session, query, today=TODAY).hits
    assert hits[0].patient.name_folded == "nguyen van a"
    assert {h.patient.full_name for h in hits} >= {"Nguyễn Văn A", "Nguyễn Văn Anh", "Nguyễn Văn Á"}


def test_accents_typed_rank_the_exact_spelling_first(session, people):
    hits = search.search(session, "Nguyễn Văn Á", today=TODAY).hits
    assert hits[0].patient.full_name == "Nguyễn Văn Á"


def test_birth_year_narrows_and_words_anywhere_match(session, people):
    hits = search.search(session, "nguyen van a 1961", today=TODAY).hits
    assert [h.patient.full_name for h in hits] == ["Nguyễn Văn Á"]
    assert [h.patient.full_name for h in search.search(session, "hoa", today=TODAY).hits] == ["Lê Hòa", "Trần Thị Hoa"]
    assert [h.patient.full_name for h in search.search(session, "thi ho", today=TODAY).hits] == ["Trần Thị Hoa"]
    assert search.search(session, "xyz", today=TODAY).hits == []


@pytest.mark.parametrize("query, reason", [
    ("001056012345", "Số CCCD"), ("0912345678", "Số điện thoại"), ("HT3010120878811", "Mã thẻ BHYT"),
    ("0120878811", "Mã số BHXH"), ("00000-0000001", "Mã bệnh nhân"),
    ("001056012345|012345678|NGUYỄN VĂN A|05031956|Nam|Hà Nội|15042021", "Số CCCD"),
])
def test_exact_identifiers_first(session, people, query, reason):
    result = search.search(session, query, today=TODAY)
    assert result.mode == "identifier" and result.exact is not None
    assert result.exact.patient.id == people.id and result.exact.reason.startswith(reason)


def test_old_cancelled_number_still_finds_the_person(session, people):
    services.add_identifier(session, people, "cccd", "001056099999", actor=ACTOR, clock=CLOCK)
    hit = search.search(session, "001056012345", today=TODAY).exact
    assert hit is not None and hit.old_identifier and "số cũ" in hit.reason


def test_unknown_qr_is_offered_for_registration_and_bad_qr_is_explained(session, people):
    result = search.search(session, "001090123456||TRẦN VĂN B|01011990|Nam|Hà Nội|15042021", today=TODAY)
    assert result.hits == [] and result.parsed["number"] == "001090123456"
    bad = search.search(session, "00109012|X|01011990", today=TODAY)
    assert bad.mode == "invalid" and "Mã QR CCCD không hợp lệ" in bad.message


def test_results_carry_last_visit_and_commune(session, people):
    from station.visits.models import Visit

    session.add(Visit(visit_key="VK1", patient_id=people.id, arrived_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC)))
    session.commit()
    hit = search.search(session, "nguyen van a 1956", today=TODAY).hits[0]
    assert hit.last_visit == datetime(2026, 3, 1, 2, 0, tzinfo=UTC) and hit.commune == "Phường Hoàn Kiếm"
    assert hit.as_dict()["birth"] == "05/03/1956"


def test_name_search_uses_index_range_scans_not_full_scans(session, people):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    for year in (None, 1985):
        query = search._token_query(session, ["nguyen", "hoa"], year)
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " | ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan  # every table reached by an index search
        if year is None:
            assert "ix_patient_name_tokens_token_patient (token>? AND token<?)" in plan, plan
    prefix = select(Patient.id).where(Patient.name_folded >= "nguyen van", Patient.name_folded < "nguyen vao",
                                      Patient.birth_year == 1956)
    compiled = prefix.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = " | ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_patients_birth_year_name (birth_year=? AND name_folded>? AND name_folded<?)" in plan, plan


def test_merge_moves_everything_including_a_table_found_in_metadata(app, session, people):
    from station.extensions import db
    from station.visits.models import Visit

    extra = Table("zz_test_referrals", db.metadata, Column("id", Uuid, primary_key=True),
                  Column("patient_id", Uuid, ForeignKey("patients.id")), Column("note", String(20)))
    try:
        extra.create(session.connection())
        dup = make_patient(session, "Nguyen Van A", "1956", cccd="001056077777")
        services.add_allergy(session, dup, category="drug", substance="Aspirin", actor=ACTOR)
        services.add_vaccination(session, dup, vaccine_code="UV", given_on="01/01/2000", actor=ACTOR, clock=CLOCK)
        services.save_risk_factors(session, dup, {"tobacco": "current"}, actor=ACTOR)
        services.save_risk_factors(session, people, {"tobacco": "never"}, actor=ACTOR)
        session.add(Visit(visit_key="VK2", patient_id=dup.id, arrived_at=datetime(2026, 1, 1, tzinfo=UTC)))
        session.execute(insert(extra).values(id=uuid.uuid4(), patient_id=dup.id, note="x"))
        session.flush()
        assert (extra, extra.c.patient_id) in merge.patient_references()
        row = merge.merge_patients(session, people, dup, actor=ACTOR, reason="Trùng người, đã hỏi lại")
        session.commit()
        assert dup.status == "merged" and dup.merged_into_id == people.id
        assert session.scalar(select(Visit.patient_id).where(Visit.visit_key == "VK2")) == people.id
        assert session.scalar(select(extra.c.patient_id)) == people.id
        assert {a.substance for a in people.allergies} == {"Aspirin"} and len(people.vaccinations) == 1
        assert people.risk_factors.tobacco == "never" and dup.risk_factors.tobacco == "current"
        assert {(i.value, i.status) for i in people.identifiers if i.kind == "cccd"} == {
            ("001056012345", "active"), ("001056077777", "replaced")}
        moved = __import__("json").loads(row.moved)
        assert moved["moved"]["visits"] == 1 and moved["moved"]["zz_test_referrals"] == 1
        assert moved["kept_on_merged"] == {"risk_factors": 1}
        assert session.scalar(select(func.count()).select_from(PatientMerge)) == 1
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "patient.merge"))
        # The merged record leaves the name index but its numbers find the survivor.
        assert all(h.patient.id != dup.id for h in search.search(session, "nguyen van a", today=TODAY).hits)
        assert search.search(session, "001056077777", today=TODAY).exact.patient.id == people.id
        with pytest.raises(services.ValidationFailed):
            merge.merge_patients(session, people, dup, actor=ACTOR, reason="lần nữa nhé")
    finally:
        session.rollback()
        extra.drop(session.connection())
        session.commit()
        db.metadata.remove(extra)


def test_completeness_record_and_commune_agree(session, people):
    child = make_patient(session, "Vũ Minh Khôi", "01/06/2023", guardian_name="Vũ Văn Bố", guardian_relation="Bố",
                         guardian_phone="0911111111")
    services.add_vaccination(session, child, vaccine_code="BCG", given_on="01/06/2023", actor=ACTOR, clock=CLOCK)
    session.commit()
    patients = session.scalars(select(Patient).where(Patient.status != "merged")).all()
    scores = [completeness.evaluate(session, p, TODAY) for p in patients]
    stats = completeness.commune_completeness(session, TODAY)
    assert stats.records == len(patients)
    for field, missing in stats.per_field:
        assert missing == sum(1 for s in scores if field in s.missing), field.key
    by_filled = {}
    for s in scores:
        by_filled[s.filled] = by_filled.get(s.filled, 0) + 1
    assert dict(stats.distribution) == by_filled
    a = completeness.evaluate(session, people, TODAY)
    assert a.total == 46 and {f.key for f in a.missing} >= {"ethnicity", "allergies", "visit"}
    assert "guardian_name" not in {f.key for f in a.missing}  # adult: not applicable
    c = completeness.evaluate(session, child, TODAY)
    assert "vaccinations" not in {f.key for f in c.missing} and "tobacco" not in {f.key for f in c.missing}
    assert "birth_weight" in {f.key for f in c.missing}
