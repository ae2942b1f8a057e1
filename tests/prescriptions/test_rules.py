"""Tests of the TT 26/2025 prescription rules."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from station.prescriptions import rules
from station.prescriptions.rules import (
    Alert,
    ChronicList,
    Companion,
    Drug,
    Override,
    PatientInfo,
    PrescriptionDraft,
    PrescriptionLine,
    PrescriptionRuleError,
    PrescriptionType,
    check_allergies,
    check_child_requirements,
    check_duplicate_ingredients,
    compute_quantity,
    display_name,
    ensure_editable,
    format_narcotic_quantity,
    format_quantity,
    load_chronic_list,
    max_days,
    new_prescription_code,
    number_in_words,
    order_lines,
    replacement_for,
    unresolved_alerts,
    validate_prescription,
)

TODAY = date(2026, 11, 25)
CODE_PATTERN = re.compile(r"^[A-Z0-9]{5}[0-9a-z]{7}-[NHCT]$")

PARACETAMOL = Drug("Panadol", ("Paracetamol",), "500mg")
AMLODIPIN = Drug("Amlor", ("Amlodipin",), "5mg")
COLDI = Drug("Decolgen", ("Paracetamol", "Phenylephrin", "Clorpheniramin"))
MORPHIN = Drug("Morphin", ("Morphin",), "10mg", "ống", prescription_type=PrescriptionType.NARCOTIC)
DIAZEPAM = Drug("Seduxen", ("Diazepam",), "5mg", prescription_type=PrescriptionType.PSYCHOTROPIC)


@pytest.fixture(scope="module")
def chronic() -> ChronicList:
    """Return the configured 90-day list."""
    return load_chronic_list()


def line(drug: Drug = PARACETAMOL, dose: str = "1", times: int = 3, days: int = 5) -> PrescriptionLine:
    """Return a prescription line."""
    return PrescriptionLine(drug, Decimal(dose), times, days)


def draft(**changes: object) -> PrescriptionDraft:
    """Return a valid adult prescription with *changes* applied."""
    base = PrescriptionDraft(
        facility_code="79001",
        prescription_type=PrescriptionType.OTHER,
        prescribed_on=TODAY,
        patient=PatientInfo(birth_date=date(1970, 3, 2), personal_id="079070001234"),
        diagnoses=("J02.9",),
        lines=(line(),),
        advice="Uống nhiều nước, tái khám nếu sốt cao.",
    )
    return replace(base, **changes)


def rules_of(found: list[rules.Violation]) -> list[str]:
    """Return the rule names of *found*."""
    return [v.rule for v in found]


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(PrescriptionType))
def test_code_format(kind: PrescriptionType) -> None:
    code = new_prescription_code("79001", kind, lambda _: False)
    assert CODE_PATTERN.match(code)
    assert len(code) == 14
    assert code.startswith("79001") and code.endswith(f"-{kind.value}")


def test_type_letters_mean_what_domain_says() -> None:
    assert [t.value for t in PrescriptionType] == ["N", "H", "C", "T"]
    assert PrescriptionType("N") is PrescriptionType.NARCOTIC
    assert PrescriptionType("H") is PrescriptionType.PSYCHOTROPIC
    assert PrescriptionType("C") is PrescriptionType.OTHER
    assert PrescriptionType("T") is PrescriptionType.HERBAL


def test_codes_are_random_not_sequential() -> None:
    codes = {new_prescription_code("79001", PrescriptionType.OTHER, lambda _: False) for _ in range(200)}
    assert len(codes) == 200


def test_collision_is_drawn_again() -> None:
    draws = iter(["aaaaaaa", "aaaaaaa", "b0c1d2e"])
    taken = {"79001aaaaaaa-C"}
    checked: list[str] = []

    def is_taken(code: str) -> bool:
        checked.append(code)
        return code in taken

    code = new_prescription_code("79001", PrescriptionType.OTHER, is_taken, draw=lambda: next(draws))
    assert code == "79001b0c1d2e-C"
    assert checked == ["79001aaaaaaa-C", "79001aaaaaaa-C", "79001b0c1d2e-C"]


def test_collision_gives_up_after_max_attempts() -> None:
    with pytest.raises(PrescriptionRuleError, match="sau 3 lần") as caught:
        new_prescription_code("79001", PrescriptionType.OTHER, lambda _: True, max_attempts=3)
    assert caught.value.rule == rules.RULE_CODE


@pytest.mark.parametrize("facility", ["7900", "790011", "79o0a", "AB-12", ""])
def test_bad_facility_code(facility: str) -> None:
    with pytest.raises(PrescriptionRuleError, match="5 ký tự"):
        new_prescription_code(facility, PrescriptionType.OTHER, lambda _: False)


def test_sent_prescription_is_replaced_not_edited() -> None:
    ensure_editable("79001abcdefg-C", sent=False)
    with pytest.raises(PrescriptionRuleError, match="kê đơn mới thay thế") as caught:
        ensure_editable("79001abcdefg-C", sent=True)
    assert caught.value.rule == rules.RULE_IMMUTABLE
    replacement = replacement_for("79001abcdefg-C", "790010123456-C")
    assert replacement.replaces_code == "79001abcdefg-C"
    assert replacement.new_code == "790010123456-C"
    with pytest.raises(PrescriptionRuleError, match="mã mới"):
        replacement_for("79001abcdefg-C", "79001abcdefg-C")
    with pytest.raises(PrescriptionRuleError, match="cùng cơ sở"):
        replacement_for("79001abcdefg-C", "790020123456-C")


# --- quantities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "times", "days", "whole", "expected"),
    [
        ("1", 3, 5, True, Decimal(15)),
        ("0.5", 3, 5, True, Decimal(8)),  # 7.5 tablets -> 8
        ("0.25", 1, 3, True, Decimal(1)),
        ("2.5", 2, 5, False, Decimal("25.0")),  # ml of syrup: not rounded
        (2, 2, 90, True, Decimal(360)),
        ("100", 4, 25, True, Decimal(10_000)),  # the limit itself is allowed
    ],
)
def test_compute_quantity(dose: str, times: int, days: int, whole: bool, expected: Decimal) -> None:
    assert compute_quantity(dose, times, days, whole_units=whole) == expected


@pytest.mark.parametrize(
    ("dose", "times", "days", "rule"),
    [
        ("0", 3, 5, rules.RULE_DOSE),
        ("-1", 3, 5, rules.RULE_DOSE),
        ("10000", 1, 1, rules.RULE_DOSE),
        ("100.5", 1, 1, rules.RULE_DOSE),
        ("abc", 1, 1, rules.RULE_DOSE),
        ("NaN", 1, 1, rules.RULE_DOSE),
        ("1", 0, 5, rules.RULE_TIMES),
        ("1", 25, 5, rules.RULE_TIMES),
        ("1", 3, 0, rules.RULE_DAYS),
        ("100", 4, 30, rules.RULE_QUANTITY),  # 12,000 units
    ],
)
def test_compute_quantity_rejects_absurd_input(dose: str, times: int, days: int, rule: str) -> None:
    with pytest.raises(PrescriptionRuleError) as caught:
        compute_quantity(dose, times, days)
    assert caught.value.rule == rule


def test_compute_quantity_refuses_float() -> None:
    with pytest.raises(TypeError, match="float"):
        compute_quantity(0.5, 3, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("quantity", "text"),
    [(0, "00"), (5, "05"), (Decimal(9), "09"), (10, "10"), (Decimal(120), "120"), (Decimal("2.5"), "02,5"),
     (Decimal("12.50"), "12,5")],
)
def test_format_quantity_leading_zero(quantity: Decimal | int, text: str) -> None:
    assert format_quantity(quantity) == text


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "không"), (5, "năm"), (10, "mười"), (15, "mười lăm"), (21, "hai mươi mốt"), (24, "hai mươi bốn"),
     (105, "một trăm linh năm"), (1005, "một nghìn không trăm linh năm"), (10_000, "mười nghìn")],
)
def test_number_in_words(n: int, words: str) -> None:
    assert number_in_words(n) == words


def test_narcotic_quantity_has_words() -> None:
    assert format_narcotic_quantity(5) == "05 (năm)"


# --- display ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "show_brand", "text"),
    [
        (PARACETAMOL, True, "Paracetamol (Panadol)"),
        (PARACETAMOL, False, "Paracetamol"),
        (Drug("paracetamol", ("Paracetamol",)), True, "Paracetamol"),
        (COLDI, True, "Decolgen"),
        (Drug("", ("Paracetamol", "Codein")), True, "Paracetamol + Codein"),
        (Drug("Vaxigrip", ("Vắc xin cúm",), biologic=True), True, "Vaxigrip"),
    ],
)
def test_display_name(drug: Drug, show_brand: bool, text: str) -> None:
    assert display_name(drug, show_brand=show_brand) == text


def test_poisons_are_ordered_first() -> None:
    poison = Drug("Atropin", ("Atropin sulfat",), poison=True)
    ordered = order_lines([line(PARACETAMOL), line(poison), line(AMLODIPIN)])
    assert [entry.drug.name for entry in ordered] == ["Atropin", "Panadol", "Amlor"]
    found = validate_prescription(draft(lines=(line(PARACETAMOL), line(poison))), None)
    assert rules_of(found) == [rules.RULE_POISON_FIRST]


# --- durations -------------------------------------------------------------------------------


def test_chronic_list_is_configuration(chronic: ChronicList) -> None:
    assert "Phụ lục VII" in chronic.source
    assert chronic.effective_from == date(2025, 7, 1)
    assert chronic.matches("I10") and chronic.matches("E11.9") and chronic.matches("e119")
    assert not chronic.matches("J02.9")


@pytest.mark.parametrize(
    ("drug", "conditions", "chronic_treatment", "expected"),
    [
        (PARACETAMOL, ["J02.9"], False, 30),
        (AMLODIPIN, ["I10"], False, 90),
        (AMLODIPIN, ["J02.9", "E11.9"], False, 90),
        (MORPHIN, ["C34.9"], False, 7),
        (MORPHIN, ["C34.9"], True, 30),
        (DIAZEPAM, ["F41.9"], False, 10),
        (DIAZEPAM, ["F20.0"], True, 30),
    ],
)
def test_max_days(drug: Drug, conditions: list[str], chronic_treatment: bool, expected: int,
                  chronic: ChronicList) -> None:
    assert max_days(drug, conditions, chronic, chronic_treatment=chronic_treatment) == expected


def test_chronic_list_not_yet_in_force(chronic: ChronicList) -> None:
    assert max_days(AMLODIPIN, ["I10"], chronic, on=date(2025, 6, 30)) == 30
    assert max_days(AMLODIPIN, ["I10"], None) == 30


@pytest.mark.parametrize(
    ("diagnoses", "days", "rule"),
    [
        (("J02.9",), 30, None),
        (("J02.9",), 31, rules.RULE_MAX_30),
        (("I10",), 90, None),
        (("I10",), 91, rules.RULE_MAX_90),
    ],
)
def test_duration_limits(diagnoses: tuple[str, ...], days: int, rule: str | None, chronic: ChronicList) -> None:
    found = validate_prescription(draft(diagnoses=diagnoses, lines=(line(AMLODIPIN, "1", 1, days),)), chronic)
    assert rules_of(found) == ([rule] if rule else [])
    if rule:
        assert "tối đa" in found[0].message and found[0].line == 1


# --- patient checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "weight", "companion", "messages"),
    [
        (date(2022, 1, 10), Decimal("14.5"), Companion("Nguyễn Thị Lan", "079190001111"), []),
        (date(2022, 1, 10), None, Companion("Nguyễn Thị Lan", "079190001111"), ["cân nặng"]),
        (date(2022, 1, 10), Decimal("14.5"), None, ["tên bố, mẹ"]),
        (date(2022, 1, 10), Decimal("14.5"), Companion("  "), ["tên bố, mẹ"]),
        (date(2020, 11, 25), None, None, []),  # exactly 72 months: adult rules
        (date(2020, 11, 26), None, None, ["cân nặng", "tên bố, mẹ"]),  # 71 months
        (None, None, None, ["ngày sinh"]),
    ],
)
def test_child_under_72_months(birth: date | None, weight: Decimal | None, companion: Companion | None,
                               messages: list[str]) -> None:
    found = [v for v in check_child_requirements(birth, TODAY, weight, companion) if v.blocking]
    assert len(found) == len(messages)
    for violation, text in zip(found, messages, strict=True):
        assert text in violation.message and violation.rule == rules.RULE_CHILD


def test_child_companion_id_is_a_warning() -> None:
    found = check_child_requirements(date(2024, 5, 1), TODAY, Decimal("11"), Companion("Trần Văn Bình"))
    assert [(v.blocking, "số định danh" in v.message) for v in found] == [(False, True)]


def test_child_prescription_without_weight_is_rejected() -> None:
    child = PatientInfo(birth_date=date(2023, 2, 1), personal_id="079223000123")
    found = validate_prescription(draft(patient=child, companion=Companion("Lê Thị Hoa", "079190002222")), None)
    assert [(v.rule, v.message) for v in found] == [(rules.RULE_CHILD, "Trẻ dưới 72 tháng tuổi: phải ghi cân nặng.")]


def test_patient_without_personal_id_needs_dob_sex_address() -> None:
    patient = PatientInfo(birth_date=date(1980, 1, 1))
    found = validate_prescription(draft(patient=patient), None)
    assert rules_of(found) == [rules.RULE_PATIENT]
    assert "giới tính, địa chỉ" in found[0].message
    complete = PatientInfo(birth_date=date(1980, 1, 1), sex="Nam", address="Thôn 2, xã Tân Phú")
    assert validate_prescription(draft(patient=complete), None) == []


# --- alerts ----------------------------------------------------------------------------------


def test_allergy_alert() -> None:
    lines = [line(PARACETAMOL), line(Drug("Augmentin", ("Amoxicilin", "Acid clavulanic")))]
    alerts = check_allergies(lines, ["amoxicilin", "Penicilin", ""])
    assert [(a.rule, a.key) for a in alerts] == [(rules.RULE_ALLERGY, "allergy:amoxicilin:2")]
    assert "Dòng 2" in alerts[0].message
    assert check_allergies(lines, ["Augmentin"])[0].key == "allergy:augmentin:2"  # brand names count too
    assert check_allergies([line(PARACETAMOL)], ["PARACETAMOL"])  # case and accents are folded


def test_duplicate_ingredient_alert() -> None:
    alerts = check_duplicate_ingredients([line(PARACETAMOL), line(AMLODIPIN), line(COLDI)])
    assert [(a.rule, a.key) for a in alerts] == [(rules.RULE_DUPLICATE, "duplicate:paracetamol")]
    assert "dòng 1, 3" in alerts[0].message
    assert check_duplicate_ingredients([line(PARACETAMOL), line(AMLODIPIN)]) == []


@pytest.mark.parametrize(
    ("overrides", "remaining"),
    [
        ((), 2),
        ((Override("duplicate:paracetamol", "Bác sĩ đã cân nhắc liều tổng"),), 1),
        ((Override("duplicate:paracetamol", " ok "),), 2),  # a reason is required
        ((Override("duplicate:paracetamol", "Đã cân nhắc"), Override("allergy:amoxicilin:1", "Test da âm tính")), 0),
    ],
)
def test_alerts_need_an_override_with_reason(overrides: tuple[Override, ...], remaining: int) -> None:
    alerts = [Alert("duplicate:paracetamol", rules.RULE_DUPLICATE, "x"), Alert("allergy:amoxicilin:1", rules.RULE_ALLERGY, "y")]
    assert len(unresolved_alerts(alerts, overrides)) == remaining


def test_validate_turns_unresolved_alerts_into_violations() -> None:
    patient = PatientInfo(birth_date=date(1970, 3, 2), personal_id="079070001234", allergies=("Paracetamol",))
    risky = draft(patient=patient, lines=(line(PARACETAMOL), line(COLDI)))
    assert rules_of(validate_prescription(risky, None)) == [rules.RULE_ALLERGY, rules.RULE_ALLERGY, rules.RULE_DUPLICATE]
    overrides = (
        Override("allergy:paracetamol:1", "Dị ứng nhẹ, đã hỏi kỹ"),
        Override("allergy:paracetamol:2", "Dị ứng nhẹ, đã hỏi kỹ"),
        Override("duplicate:paracetamol", "Tổng liều dưới 3 g/ngày"),
    )
    assert validate_prescription(replace(risky, overrides=overrides), None) == []


# --- whole prescription ----------------------------------------------------------------------


def test_valid_prescription_has_no_violations(chronic: ChronicList) -> None:
    assert validate_prescription(draft(code="79001k3x9q2a-C"), chronic) == []


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"code": "79001K3X9Q2A-C"}, rules.RULE_CODE),
        ({"code": "79001k3x9q2a-H"}, rules.RULE_CODE),
        ({"code": "79002k3x9q2a-C"}, rules.RULE_CODE),
        ({"replaces_code": "bad"}, rules.RULE_IMMUTABLE),
        ({"diagnoses": ()}, rules.RULE_CONTENT),
        ({"lines": ()}, rules.RULE_CONTENT),
        ({"advice": "  "}, rules.RULE_ADVICE),
        ({"lines": (line(Drug("Viên sủi C", ("Vitamin C",), supplement=True)),)}, rules.RULE_SUPPLEMENT),
        ({"lines": (line(DIAZEPAM, days=5),)}, rules.RULE_TYPE),
        ({"lines": (line(PARACETAMOL, dose="0"),)}, rules.RULE_DOSE),
    ],
)
def test_each_rule_is_named(changes: dict[str, object], rule: str) -> None:
    assert rules_of(validate_prescription(draft(**changes), None)) == [rule]


def test_narcotic_and_psychotropic_forms() -> None:
    narcotic = draft(prescription_type=PrescriptionType.NARCOTIC, lines=(line(MORPHIN, "1", 2, 7),))
    assert rules_of(validate_prescription(narcotic, None)) == [rules.RULE_FORM_N_BEDS, rules.RULE_RECEIVER]
    allowed = replace(narcotic, facility_has_inpatient_beds=True, receiver_name="Phạm Văn Dũng")
    assert validate_prescription(allowed, None) == []
    too_long = replace(allowed, lines=(line(MORPHIN, "1", 2, 8),))
    assert rules_of(validate_prescription(too_long, None)) == [rules.RULE_NARCOTIC_DAYS]
    psycho = draft(prescription_type=PrescriptionType.PSYCHOTROPIC, lines=(line(DIAZEPAM, "1", 1, 11),),
                   receiver_name="Phạm Văn Dũng")
    assert rules_of(validate_prescription(psycho, None)) == [rules.RULE_PSYCHOTROPIC_DAYS]
    assert validate_prescription(replace(psycho, chronic_treatment=True), None) == []
