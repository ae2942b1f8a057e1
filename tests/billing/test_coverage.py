"""XML1 totals and per-line shares (station.billing.coverage)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from station.billing.coverage import (
    BaseSalaryPeriod,
    Benefit,
    ChargeKind,
    ChargeLine,
    CoverageError,
    CoverageResult,
    CoverageRule,
    CoverageSettings,
    OtherSources,
    base_salary_on,
    compute_coverage,
)

VISIT = date(2025, 3, 10)
BASE = 2_340_000  # default table on VISIT; 15 % = 351 000 đ
#: Small visits get 100 %; tests of the plain split switch that exception off.
NO_SMALL = CoverageSettings(small_visit_fraction=Decimal(0))


def benefit(muc_huong: int | str, level: int, *, valid_to: date = date(2025, 12, 31)) -> Benefit:
    return Benefit(Decimal(muc_huong), level, date(2025, 1, 1), valid_to)


def line(
    line_id: str,
    price: int | None,
    quantity: str = "1",
    *,
    kind: ChargeKind = ChargeKind.SERVICE,
    price_bh: int | None = None,
    covered: bool = True,
    ratio: str = "100",
    service_ratio: str = "100",
    method: str = "1",
    others: OtherSources | None = None,
) -> ChargeLine:
    return ChargeLine(
        line_id=line_id,
        kind=kind,
        code=f"C{line_id}",
        name=f"Dịch vụ {line_id}",
        quantity=Decimal(quantity),
        unit_price_bv=price,
        unit_price_bh=price if price_bh is None else price_bh,
        covered=covered,
        coverage_ratio=Decimal(ratio),
        service_ratio=Decimal(service_ratio),
        payment_method=method,
        other_sources=others or OtherSources(),
    )


def big_visit() -> list[ChargeLine]:
    """Total in scope 500 000 đ: above 15 % of the base salary."""
    return [line("exam", 200_000), line("drug", 30_000, "10", kind=ChargeKind.DRUG)]


def compute(lines: list[ChargeLine], ben: Benefit | None, *, commune: bool = False, **kw: object) -> CoverageResult:
    return compute_coverage(lines, visit_date=VISIT, benefit=ben, commune_level=commune, **kw)  # type: ignore[arg-type]


def assert_consistent(result: CoverageResult) -> None:
    t = result.totals
    assert t.t_bhtt == t.t_tongchi_bh - t.t_bncct
    assert t.t_tongchi_bv == t.t_bhtt + t.t_bncct + t.t_bntt + t.t_nguonkhac
    assert sum(s.t_bhtt for s in result.lines) == t.t_bhtt
    assert sum(s.t_bncct for s in result.lines) == t.t_bncct
    assert sum(s.t_bntt for s in result.lines) == t.t_bntt
    assert sum(s.thanh_tien_bh for s in result.lines) == t.t_tongchi_bh
    for share in result.lines:
        assert share.t_bhtt + share.t_bncct == share.thanh_tien_bh
        assert share.thanh_tien_bv == share.thanh_tien_bh + share.t_bntt + share.t_nguonkhac


@pytest.mark.parametrize(
    ("muc_huong", "level", "bhtt", "bncct", "rule"),
    [
        (100, 1, 500_000, 0, CoverageRule.PORTAL),
        (100, 2, 500_000, 0, CoverageRule.PORTAL),
        (95, 3, 475_000, 25_000, CoverageRule.PORTAL),
        (80, 4, 400_000, 100_000, CoverageRule.PORTAL),
        (100, 5, 500_000, 0, CoverageRule.PORTAL),
    ],
)
def test_levels_one_to_five_outside_commune_level(
    muc_huong: int, level: int, bhtt: int, bncct: int, rule: CoverageRule
) -> None:
    result = compute(big_visit(), benefit(muc_huong, level))
    t = result.totals
    assert (t.t_tongchi_bv, t.t_tongchi_bh, t.t_bhtt, t.t_bncct, t.t_bntt) == (500_000, 500_000, bhtt, bncct, 0)
    assert result.rule is rule
    assert t.t_thuoc == 300_000
    assert_consistent(result)


@pytest.mark.parametrize(("muc_huong", "level"), [(95, 3), (80, 4)])
def test_commune_level_pays_one_hundred_percent_for_levels_3_and_4(muc_huong: int, level: int) -> None:
    result = compute(big_visit(), benefit(muc_huong, level), commune=True)
    assert result.rule is CoverageRule.COMMUNE
    assert result.muc_huong == 100
    assert (result.totals.t_bhtt, result.totals.t_bncct) == (500_000, 0)
    assert all(share.muc_huong == 100 for share in result.lines)


def test_small_visit_under_15_percent_of_base_salary_is_fully_covered() -> None:
    lines = [line("exam", 350_999)]  # < 351 000 đ
    result = compute(lines, benefit(80, 4))
    assert result.rule is CoverageRule.SMALL_VISIT
    assert result.base_salary == BASE
    assert (result.totals.t_bhtt, result.totals.t_bncct) == (350_999, 0)


def test_small_visit_threshold_is_strict() -> None:
    result = compute([line("exam", 351_000)], benefit(80, 4))  # exactly 15 %
    assert result.rule is CoverageRule.PORTAL
    assert (result.totals.t_bhtt, result.totals.t_bncct) == (280_800, 70_200)


def test_small_visit_uses_the_base_salary_in_force_on_the_visit_date() -> None:
    lines = [line("exam", 300_000)]  # under 15 % of 2 340 000, over 15 % of 1 800 000 (270 000)
    card = Benefit(Decimal(80), 4, date(2024, 1, 1), date(2024, 12, 31))
    before = compute_coverage(lines, visit_date=date(2024, 6, 30), benefit=card, commune_level=False)
    after = compute_coverage(lines, visit_date=date(2024, 7, 1), benefit=card, commune_level=False)
    assert (before.base_salary, before.rule) == (1_800_000, CoverageRule.PORTAL)
    assert (after.base_salary, after.rule) == (2_340_000, CoverageRule.SMALL_VISIT)


def test_exceptions_do_not_apply_to_other_levels() -> None:
    settings = CoverageSettings(exception_levels=frozenset({3}))
    result = compute([line("exam", 100_000)], benefit(80, 4), commune=True, settings=settings)
    assert result.rule is CoverageRule.PORTAL
    assert result.totals.t_bhtt == 80_000


def test_base_salary_is_configuration() -> None:
    table = (BaseSalaryPeriod(date(2020, 1, 1), 1_000_000), BaseSalaryPeriod(date(2026, 7, 1), 3_000_000))
    assert base_salary_on(date(2026, 6, 30), table) == 1_000_000
    assert base_salary_on(date(2026, 7, 1), table) == 3_000_000
    with pytest.raises(CoverageError, match="lương cơ sở"):
        base_salary_on(date(2019, 1, 1), table)


def test_uninsured_patient_pays_everything_as_t_bntt() -> None:
    lines = [line("exam", 200_000, price_bh=None), line("drug", 30_000, "10", kind=ChargeKind.DRUG)]
    result = compute(lines, None)
    t = result.totals
    assert result.rule is CoverageRule.UNINSURED
    assert (t.t_tongchi_bv, t.t_tongchi_bh, t.t_bhtt, t.t_bncct, t.t_bntt) == (500_000, 0, 0, 0, 500_000)
    assert all(share.muc_huong == 0 and share.coverage_ratio == 0 for share in result.lines)
    assert_consistent(result)


def test_out_of_scope_line_goes_to_t_bntt() -> None:
    lines = [line("exam", 200_000), line("vitamin", 50_000, "2", kind=ChargeKind.DRUG, covered=False, price_bh=None)]
    result = compute(lines, benefit(80, 4), settings=NO_SMALL)
    t = result.totals
    totals = (t.t_tongchi_bv, t.t_tongchi_bh, t.t_bhtt, t.t_bncct, t.t_bntt)
    assert totals == (300_000, 200_000, 160_000, 40_000, 100_000)
    vitamin = result.line("vitamin")
    assert (vitamin.thanh_tien_bh, vitamin.t_bntt, vitamin.muc_huong) == (0, 100_000, 0)
    assert_consistent(result)


def test_facility_price_above_bhyt_price_and_coverage_ratio() -> None:
    lines = [
        line("xray", 120_000, price_bh=100_000),  # 20 000 đ over the BHYT price
        line("stent", 1_000_000, kind=ChargeKind.SUPPLY, ratio="50"),  # fund pays 50 % of the price
    ]
    result = compute(lines, benefit(80, 4))
    t = result.totals
    assert t.t_tongchi_bv == 1_120_000
    assert t.t_tongchi_bh == 100_000 + 500_000
    assert t.t_bntt == 20_000 + 500_000
    assert (t.t_bhtt, t.t_bncct) == (480_000, 120_000)
    assert t.t_vtyt == 1_000_000
    assert_consistent(result)


def test_level_1_ignores_the_coverage_ratio_cap() -> None:
    result = compute([line("stent", 1_000_000, kind=ChargeKind.SUPPLY, ratio="50")], benefit(100, 1))
    assert result.line("stent").coverage_ratio == 100
    assert (result.totals.t_bhtt, result.totals.t_bntt) == (1_000_000, 0)


def test_level_5_out_of_scope_goes_to_state_budget_not_patient() -> None:
    lines = [line("exam", 200_000), line("extra", 80_000, covered=False, price_bh=None)]
    result = compute(lines, benefit(100, 5))
    t = result.totals
    assert (t.t_bhtt, t.t_bncct, t.t_bntt, t.t_nguonkhac) == (200_000, 0, 0, 80_000)
    assert result.line("extra").other_sources.nsnn == 80_000
    assert_consistent(result)


def test_service_ratio_second_exam_thirty_percent() -> None:
    result = compute([line("exam2", 38_700, service_ratio="30")], benefit(80, 4))
    share = result.line("exam2")
    assert (share.thanh_tien_bv, share.thanh_tien_bh) == (11_610, 11_610)


def test_fractional_quantity_rounds_line_once_half_up() -> None:
    result = compute([line("tab", 1_235, "0.5", kind=ChargeKind.DRUG)], None)
    assert result.line("tab").thanh_tien_bv == 618  # 617.5 → 618


def test_other_sources_reduce_t_bntt_only() -> None:
    lines = [line("x", 150_000, price_bh=100_000, others=OtherSources(vttn=30_000))]
    result = compute(lines, benefit(80, 4), settings=NO_SMALL)
    t = result.totals
    assert (t.t_bhtt, t.t_bncct, t.t_bntt, t.t_nguonkhac) == (80_000, 20_000, 20_000, 30_000)
    assert_consistent(result)
    with pytest.raises(CoverageError, match="nguồn khác"):
        compute([line("x", 150_000, price_bh=100_000, others=OtherSources(cl=60_000))], benefit(80, 4))


def test_per_line_rounding_keeps_sums_exact() -> None:
    lines = [line(str(i), 1_001) for i in range(3)]  # each line 1 001 × 95 % = 950.95
    result = compute(lines, benefit(95, 3), settings=NO_SMALL)
    assert result.totals.t_bhtt == 2_853  # 3 003 × 0.95 = 2 852.85 → 2 853
    assert [s.t_bhtt for s in result.lines] == [951, 951, 951]  # 950 each + 3 đ by largest remainder
    assert_consistent(result)


def test_t_bhtt_gdv_counts_fee_for_service_lines_only() -> None:
    lines = [line("fee", 100_000, method="1"), line("cap", 50_000, method="2")]
    result = compute(lines, benefit(80, 4), settings=NO_SMALL)
    assert result.totals.t_bhtt_gdv == 80_000
    assert result.totals.t_bhtt == 120_000


def test_invariant_holds_on_randomized_visits() -> None:
    rng = random.Random(130)
    for _ in range(400):
        lines = []
        for i in range(rng.randint(0, 8)):
            price_bv = rng.randint(0, 2_000_000)
            covered = rng.random() < 0.8
            lines.append(
                line(
                    str(i),
                    price_bv,
                    str(Decimal(rng.randint(0, 400)) / 4),
                    kind=rng.choice(list(ChargeKind)),
                    price_bh=rng.randint(0, price_bv) if covered else None,
                    covered=covered,
                    ratio=str(rng.choice([100, 100, 50, 30, 0])),
                    service_ratio=str(rng.choice([100, 100, 30, 10, 50])),
                    method=rng.choice(["1", "2"]),
                )
            )
        level = rng.randint(1, 5)
        ben = None if rng.random() < 0.15 else benefit(rng.choice(["100", "95", "80", "32", "62.5"]), level)
        result = compute(lines, ben, commune=rng.random() < 0.3)
        assert_consistent(result)
        assert result.totals.t_bhtt >= 0 and result.totals.t_bncct >= 0


def test_expired_card_is_rejected() -> None:
    with pytest.raises(CoverageError, match="Thẻ BHYT đã hết hạn"):
        compute(big_visit(), benefit(80, 4, valid_to=date(2025, 3, 9)))


def test_card_not_yet_valid_is_rejected() -> None:
    ben = Benefit(Decimal(80), 4, date(2025, 4, 1), date(2025, 12, 31))
    with pytest.raises(CoverageError, match="chưa có giá trị sử dụng"):
        compute(big_visit(), ben)


def test_card_valid_on_its_last_day() -> None:
    assert compute(big_visit(), benefit(80, 4, valid_to=VISIT)).totals.t_bhtt == 400_000


def test_line_without_price_is_rejected() -> None:
    with pytest.raises(CoverageError, match="chưa có giá áp dụng"):
        compute([line("x", None)], benefit(80, 4))


def test_price_outside_its_validity_is_rejected() -> None:
    dated = ChargeLine(
        "x", ChargeKind.SERVICE, "01.01", "Khám", Decimal(1), 38_700, 38_700, price_valid_to=date(2025, 3, 9)
    )
    with pytest.raises(CoverageError, match="chưa có giá áp dụng vào ngày 10/03/2025"):
        compute([dated], None)


def test_covered_line_without_bhyt_price_is_rejected_only_when_insured() -> None:
    no_bh = ChargeLine("x", ChargeKind.SERVICE, "01.01", "Khám", Decimal(1), 38_700, None)
    assert compute([no_bh], None).totals.t_bntt == 38_700
    with pytest.raises(CoverageError, match="chưa có giá"):
        compute([no_bh], benefit(80, 4))


def test_negative_quantity_is_rejected() -> None:
    with pytest.raises(CoverageError, match="số lượng không được âm"):
        compute([line("x", 1_000, "-1")], None)


def test_fractional_dong_price_is_rejected() -> None:
    price = Decimal("1234.5")
    bad = ChargeLine("x", ChargeKind.DRUG, "T1", "Thuốc", Decimal(1), price, None)  # type: ignore[arg-type]
    with pytest.raises(CoverageError, match="Số tiền phải là số nguyên đồng"):
        compute([bad], None)


def test_float_quantity_is_rejected() -> None:
    bad = ChargeLine("x", ChargeKind.DRUG, "T1", "Thuốc", 1.5, 1_000, None)  # type: ignore[arg-type]
    with pytest.raises(CoverageError, match="Decimal"):
        compute([bad], None)


def test_bhyt_amount_above_facility_amount_is_rejected() -> None:
    with pytest.raises(CoverageError, match="lớn hơn"):
        compute([line("x", 100, price_bh=200)], benefit(80, 4))


def test_duplicate_line_ids_are_rejected() -> None:
    with pytest.raises(CoverageError, match="trùng"):
        compute([line("x", 100), line("x", 200)], None)


def test_empty_visit_has_zero_totals() -> None:
    result = compute([], benefit(80, 4))
    assert result.totals.t_tongchi_bv == 0
    assert result.lines == ()
