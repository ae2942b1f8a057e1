"""BHYT cost sharing for one visit: the single place that computes the XML1 totals.

Pure functions, no Flask, no database.  Amounts are whole đồng (``int``, see
:mod:`station.billing.money`); quantities and percentages are ``Decimal`` and
all intermediate arithmetic is exact (``Fraction``).

Definitions (DOMAIN §3.4 fields 44–52; per-line rules as in the QĐ 130/4750
table texts for XML2/XML3 that DOMAIN cites as [DH]):

Per line ``i``
    ``THANH_TIEN_BV = SO_LUONG × DON_GIA_BV × TYLE_TT_DV/100``
    ``THANH_TIEN_BH = SO_LUONG × DON_GIA_BH × TYLE_TT_DV/100 × TYLE_TT_BH/100``
    (0 for a line outside the BHYT scope or a patient without insurance).
    The spec rounds these to 2 decimals; this project keeps whole đồng, so
    each is rounded half-up to the đồng once, and everything after is exact.
    ``T_NGUONKHAC = NSNN + VTNN + VTTN + CL`` (other sources, given per line).
    ``T_BNTT = THANH_TIEN_BV − THANH_TIEN_BH − T_NGUONKHAC`` (patient pays the
    part outside the fund's scope, less what other sources cover).
    ``T_BHTT`` = the line's share of the visit's ``T_BHTT`` (below), allocated
    by largest remainder of the exact shares ``THANH_TIEN_BH × MUC_HUONG/100``
    so that the lines add up to the visit total exactly.
    ``T_BNCCT = THANH_TIEN_BH − T_BHTT`` (co-payment inside the scope).

Visit (XML1)
    ``T_THUOC`` = Σ THANH_TIEN_BV of drug lines (XML2);
    ``T_VTYT`` = Σ THANH_TIEN_BV of supply lines (XML3);
    ``T_TONGCHI_BV`` = Σ THANH_TIEN_BV;  ``T_TONGCHI_BH`` = Σ THANH_TIEN_BH;
    ``T_BHTT = round_half_up(T_TONGCHI_BH × MUC_HUONG/100)``;
    ``T_BNCCT = T_TONGCHI_BH − T_BHTT``, hence the DOMAIN rule
    ``T_BHTT = T_TONGCHI_BH − T_BNCCT`` holds by construction;
    ``T_BNTT`` = Σ T_BNTT;  ``T_NGUONKHAC`` = Σ T_NGUONKHAC;
    ``T_BHTT_GDV`` = Σ T_BHTT of lines paid per service (``MA_PTTT = "1"``).
    Conservation: ``T_TONGCHI_BV = T_BHTT + T_BNCCT + T_BNTT + T_NGUONKHAC``.

Benefit (DOMAIN §2.2 and decision 7)
    ``MUC_HUONG`` comes from the BHXH portal lookup and is an input, never
    derived from the card.  The benefit level (1–5, from the card code the
    portal returns) only selects the exceptions: for levels 3 and 4 the rate
    becomes 100 % at a commune-level facility, or when ``T_TONGCHI_BH`` is
    under 15 % of the base salary in force on the visit date.  Which levels
    get which exception, the 15 %, the base-salary table, the level-1 "no
    ratio cap" and the level-5 "costs outside the scope" payer are all
    :class:`CoverageSettings`, because DOMAIN marks §2.2 ⚠️/❓.

Other sources: QĐ 4750 deducts them from T_BNTT, then T_BNCCT, then T_BHTT,
which would break ``T_BHTT = T_TONGCHI_BH − T_BNCCT``.  Only the first step
(other sources up to the line's out-of-scope part) is supported; more raises
:class:`CoverageError`.

Exceptions::

    ValueError
     └── CoverageError
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from station.billing.money import Dong, MoneyError, allocate, format_dong, round_half_up, to_dong

HUNDRED = Decimal(100)


class CoverageError(ValueError):
    """The visit's charges cannot be priced or shared as given."""


class ChargeKind(StrEnum):
    """What a charge line is; decides its XML table and XML1 sub-total."""

    DRUG = "drug"  #: XML2, counted in T_THUOC
    SERVICE = "service"  #: XML3 technical service (DVKT)
    SUPPLY = "supply"  #: XML3 medical supply (VTYT), counted in T_VTYT


class CoverageRule(StrEnum):
    """Why the visit got the benefit percentage it got."""

    UNINSURED = "uninsured"
    PORTAL = "portal"  #: MUC_HUONG as returned by the portal
    COMMUNE = "commune"  #: levels 3/4 at a commune-level facility → 100 %
    SMALL_VISIT = "small_visit"  #: levels 3/4, T_TONGCHI_BH < 15 % base salary → 100 %


@dataclass(frozen=True)
class OtherSources:
    """Amounts paid by other sources for one line (XML2/XML3 T_NGUONKHAC_*)."""

    nsnn: Dong = 0  #: state budget
    vtnn: Dong = 0  #: foreign aid
    vttn: Dong = 0  #: domestic aid
    cl: Dong = 0  #: any other source

    @property
    def total(self) -> Dong:
        """Return T_NGUONKHAC = NSNN + VTNN + VTTN + CL."""
        return self.nsnn + self.vtnn + self.vttn + self.cl


@dataclass(frozen=True)
class ChargeLine:
    """One drug, service or supply line of a visit, with its prices."""

    line_id: str  #: unique within the visit; links the share back to the XML line
    kind: ChargeKind
    code: str  #: MA_THUOC / MA_DICH_VU / MA_VAT_TU
    name: str
    quantity: Decimal
    unit_price_bv: Dong | None  #: facility price (DON_GIA_BV / DON_GIA)
    unit_price_bh: Dong | None  #: BHYT price (DON_GIA_BH); may be None when not covered
    covered: bool = True  #: inside the BHYT scope (PHAM_VI 1)
    coverage_ratio: Decimal = HUNDRED  #: TYLE_TT_BH, percent
    service_ratio: Decimal = HUNDRED  #: TYLE_TT_DV, percent (second exam 30, shared bed 50 …)
    payment_method: str = "1"  #: MA_PTTT: "1" fee for service, "2" capitation, "3" DRG
    price_valid_from: date | None = None
    price_valid_to: date | None = None
    other_sources: OtherSources = field(default_factory=OtherSources)


@dataclass(frozen=True)
class Benefit:
    """The visit's BHYT benefit as returned by the portal lookup."""

    muc_huong: Decimal  #: percent, from the portal response (MUC_HUONG)
    benefit_level: int  #: 1–5, third character of the card code the portal returned
    card_valid_from: date  #: gtTheTu
    card_valid_to: date  #: gtTheDen


@dataclass(frozen=True)
class BaseSalaryPeriod:
    """Base salary (mức lương cơ sở) in force from a date."""

    effective_from: date
    amount: Dong


#: ❓ Not in DOMAIN.md: NĐ 24/2023 (1 800 000 đ from 01/07/2023) and NĐ 73/2024
#: (2 340 000 đ from 01/07/2024).  Verify and append later decrees in configuration.
DEFAULT_BASE_SALARY: tuple[BaseSalaryPeriod, ...] = (
    BaseSalaryPeriod(date(2023, 7, 1), 1_800_000),
    BaseSalaryPeriod(date(2024, 7, 1), 2_340_000),
)


@dataclass(frozen=True)
class CoverageSettings:
    """Benefit rules that DOMAIN §2.2 marks unverified, as configuration."""

    base_salary: tuple[BaseSalaryPeriod, ...] = DEFAULT_BASE_SALARY
    #: ⚠️ §2.2: "under 15 % of the base salary" → 100 %.
    small_visit_fraction: Decimal = Decimal("0.15")
    #: ⚠️ §2.2: levels with the commune-level and small-visit exceptions.
    exception_levels: frozenset[int] = frozenset({3, 4})
    #: ⚠️ §2.2 level 1: "no cap on the percentage paid" → TYLE_TT_BH treated as 100.
    uncapped_ratio_levels: frozenset[int] = frozenset({1})
    #: ❓ §2.2 level 5 "including costs outside normal scope": DOMAIN does not say
    #: which XML column carries them; they cannot go to T_BHTT (bounded by
    #: T_TONGCHI_BH), so they go to T_NGUONKHAC_NSNN instead of T_BNTT.
    out_of_scope_to_state_levels: frozenset[int] = frozenset({5})


@dataclass(frozen=True)
class LineShare:
    """The money columns of one XML2/XML3 line."""

    line_id: str
    kind: ChargeKind
    payment_method: str
    thanh_tien_bv: Dong
    thanh_tien_bh: Dong
    coverage_ratio: Decimal  #: TYLE_TT_BH actually applied (0 out of scope)
    muc_huong: Decimal  #: MUC_HUONG actually applied (0 out of scope or uninsured)
    t_bhtt: Dong
    t_bncct: Dong
    t_bntt: Dong
    other_sources: OtherSources

    @property
    def t_nguonkhac(self) -> Dong:
        """Return the line's T_NGUONKHAC."""
        return self.other_sources.total


@dataclass(frozen=True)
class ClaimTotals:
    """The money fields of XML1 (DOMAIN §3.4 fields 44–52)."""

    t_thuoc: Dong
    t_vtyt: Dong
    t_tongchi_bv: Dong
    t_tongchi_bh: Dong
    t_bntt: Dong
    t_bncct: Dong
    t_bhtt: Dong
    t_nguonkhac: Dong
    t_bhtt_gdv: Dong


@dataclass(frozen=True)
class CoverageResult:
    """Totals, per-line shares and the rule that set the benefit percentage."""

    totals: ClaimTotals
    lines: tuple[LineShare, ...]
    muc_huong: Decimal  #: visit rate applied to covered lines
    rule: CoverageRule
    base_salary: Dong | None

    def line(self, line_id: str) -> LineShare:
        """Return the share of the line with *line_id*."""
        for share in self.lines:
            if share.line_id == line_id:
                return share
        raise KeyError(line_id)


def base_salary_on(day: date, table: Sequence[BaseSalaryPeriod]) -> Dong:
    """Return the base salary in force on *day*."""
    in_force = [period for period in table if period.effective_from <= day]
    if not in_force:
        raise CoverageError(f"Chưa có mức lương cơ sở áp dụng cho ngày {day:%d/%m/%Y}")
    return max(in_force, key=lambda period: period.effective_from).amount


def compute_coverage(
    lines: Sequence[ChargeLine],
    *,
    visit_date: date,
    benefit: Benefit | None,
    commune_level: bool,
    settings: CoverageSettings = CoverageSettings(),
) -> CoverageResult:
    """Compute every XML1 total and each line's share for one visit.

    Raises:
        CoverageError: negative or fractional-đồng amounts, a negative quantity,
            a line without a price in force on *visit_date*, a card not valid on
            *visit_date*, a BHYT amount above the facility amount, or other
            sources larger than the line's out-of-scope part.
    """
    _check_lines(lines)
    if benefit is not None:
        _check_benefit(benefit, visit_date)
    insured = benefit is not None
    level = benefit.benefit_level if benefit is not None else 0

    amounts: list[tuple[Dong, Dong, Decimal]] = []
    for line in lines:
        uncapped = level in settings.uncapped_ratio_levels
        amounts.append(_line_amounts(line, visit_date, insured=insured, uncapped=uncapped))
    t_tongchi_bh = sum(bh for _, bh, _ in amounts)

    base_salary: Dong | None = None
    rule = CoverageRule.UNINSURED
    rate = Decimal(0)
    if benefit is not None:
        base_salary = base_salary_on(visit_date, settings.base_salary)
        rate, rule = _benefit_rate(benefit, t_tongchi_bh, base_salary, commune_level, settings)

    rate_fraction = Fraction(rate) / 100
    t_bhtt = round_half_up(t_tongchi_bh * rate_fraction)
    exact = [Fraction(bh) * rate_fraction for _, bh, _ in amounts]
    line_bhtt = allocate(t_bhtt, exact) if lines else []

    shares: list[LineShare] = []
    for line, (bv, bh, ratio), bhtt in zip(lines, amounts, line_bhtt, strict=True):
        out_of_scope = bv - bh
        others = line.other_sources
        if others.total > out_of_scope:
            raise CoverageError(
                f"Dòng {line.name}: nguồn khác chi trả ({format_dong(others.total)}) vượt phần ngoài "
                f"phạm vi BHYT ({format_dong(out_of_scope)}); trường hợp này chưa được hỗ trợ"
            )
        if level in settings.out_of_scope_to_state_levels:
            others = replace(others, nsnn=others.nsnn + out_of_scope - others.total)
        in_scope = line.covered and insured
        shares.append(
            LineShare(
                line_id=line.line_id,
                kind=line.kind,
                payment_method=line.payment_method,
                thanh_tien_bv=bv,
                thanh_tien_bh=bh,
                coverage_ratio=ratio,
                muc_huong=rate if in_scope else Decimal(0),
                t_bhtt=bhtt,
                t_bncct=bh - bhtt,
                t_bntt=out_of_scope - others.total,
                other_sources=others,
            )
        )

    totals = ClaimTotals(
        t_thuoc=sum(s.thanh_tien_bv for s in shares if s.kind is ChargeKind.DRUG),
        t_vtyt=sum(s.thanh_tien_bv for s in shares if s.kind is ChargeKind.SUPPLY),
        t_tongchi_bv=sum(s.thanh_tien_bv for s in shares),
        t_tongchi_bh=t_tongchi_bh,
        t_bntt=sum(s.t_bntt for s in shares),
        t_bncct=t_tongchi_bh - t_bhtt,
        t_bhtt=t_bhtt,
        t_nguonkhac=sum(s.t_nguonkhac for s in shares),
        t_bhtt_gdv=sum(s.t_bhtt for s in shares if s.payment_method == "1"),
    )
    _check_invariants(totals, shares)
    return CoverageResult(totals=totals, lines=tuple(shares), muc_huong=rate, rule=rule, base_salary=base_salary)


def _check_lines(lines: Sequence[ChargeLine]) -> None:
    """Reject malformed lines before any arithmetic."""
    seen: set[str] = set()
    for line in lines:
        if line.line_id in seen:
            raise CoverageError(f"Mã dòng chi phí bị trùng: {line.line_id}")
        seen.add(line.line_id)
        if not isinstance(line.quantity, Decimal | int) or isinstance(line.quantity, bool):
            raise CoverageError(f"Dòng {line.name}: số lượng phải là số thập phân chính xác (Decimal)")
        if line.quantity < 0:
            raise CoverageError(f"Dòng {line.name}: số lượng không được âm ({line.quantity})")
        for label, ratio in (("TYLE_TT_BH", line.coverage_ratio), ("TYLE_TT_DV", line.service_ratio)):
            if not 0 <= ratio <= HUNDRED:
                raise CoverageError(
                    f"Dòng {line.name}: tỷ lệ {label} phải từ 0 đến 100 (nhận được {ratio})"
                )
        for price in (line.unit_price_bv, line.unit_price_bh):
            if price is None:
                continue
            try:
                to_dong(price)
            except MoneyError as exc:
                raise CoverageError(f"Dòng {line.name}: {exc}") from None
            if price < 0:
                raise CoverageError(f"Dòng {line.name}: đơn giá không được âm")
        others = line.other_sources
        for source in (others.nsnn, others.vtnn, others.vttn, others.cl):
            try:
                to_dong(source)
            except MoneyError as exc:
                raise CoverageError(f"Dòng {line.name}: {exc}") from None
            if source < 0:
                raise CoverageError(f"Dòng {line.name}: số tiền nguồn khác không được âm")


def _check_benefit(benefit: Benefit, visit_date: date) -> None:
    """Reject a card not valid on the visit date or an impossible percentage."""
    if visit_date < benefit.card_valid_from:
        raise CoverageError(
            f"Thẻ BHYT chưa có giá trị sử dụng vào ngày khám {visit_date:%d/%m/%Y} "
            f"(giá trị từ {benefit.card_valid_from:%d/%m/%Y})"
        )
    if visit_date > benefit.card_valid_to:
        raise CoverageError(
            f"Thẻ BHYT đã hết hạn vào ngày khám {visit_date:%d/%m/%Y} "
            f"(hết giá trị ngày {benefit.card_valid_to:%d/%m/%Y})"
        )
    if not 0 <= benefit.muc_huong <= HUNDRED:
        raise CoverageError(f"Mức hưởng BHYT phải từ 0 đến 100 (nhận được {benefit.muc_huong})")
    if benefit.benefit_level not in range(1, 6):
        raise CoverageError(
            f"Mức hưởng trên thẻ phải từ 1 đến 5 (nhận được {benefit.benefit_level})"
        )


def _price_in_force(line: ChargeLine, price: Dong | None, visit_date: date) -> Dong:
    """Return *price* if it is set and in force on *visit_date*."""
    valid = (line.price_valid_from is None or line.price_valid_from <= visit_date) and (
        line.price_valid_to is None or visit_date <= line.price_valid_to
    )
    if price is None or not valid:
        raise CoverageError(
            f"Dòng {line.name} ({line.code}) chưa có giá áp dụng vào ngày {visit_date:%d/%m/%Y}"
        )
    return price


def _line_amounts(line: ChargeLine, visit_date: date, *, insured: bool, uncapped: bool) -> tuple[Dong, Dong, Decimal]:
    """Return (THANH_TIEN_BV, THANH_TIEN_BH, TYLE_TT_BH applied) for one line."""
    quantity = Fraction(line.quantity)
    service_ratio = Fraction(line.service_ratio) / 100
    price_bv = _price_in_force(line, line.unit_price_bv, visit_date)
    thanh_tien_bv = round_half_up(quantity * price_bv * service_ratio)
    if not (insured and line.covered):
        return thanh_tien_bv, 0, Decimal(0)
    price_bh = _price_in_force(line, line.unit_price_bh, visit_date)
    ratio = HUNDRED if uncapped else line.coverage_ratio
    thanh_tien_bh = round_half_up(quantity * price_bh * service_ratio * Fraction(ratio) / 100)
    if thanh_tien_bh > thanh_tien_bv:
        raise CoverageError(
            f"Dòng {line.name}: thành tiền BHYT ({format_dong(thanh_tien_bh)}) lớn hơn thành tiền "
            f"theo giá cơ sở ({format_dong(thanh_tien_bv)})"
        )
    return thanh_tien_bv, thanh_tien_bh, ratio


def _benefit_rate(
    benefit: Benefit, t_tongchi_bh: Dong, base_salary: Dong, commune_level: bool, settings: CoverageSettings
) -> tuple[Decimal, CoverageRule]:
    """Return the percentage the fund pays inside the scope, and why."""
    if benefit.muc_huong < HUNDRED and benefit.benefit_level in settings.exception_levels:
        if commune_level:
            return HUNDRED, CoverageRule.COMMUNE
        if Fraction(t_tongchi_bh) < Fraction(base_salary) * Fraction(settings.small_visit_fraction):
            return HUNDRED, CoverageRule.SMALL_VISIT
    return benefit.muc_huong, CoverageRule.PORTAL


def _check_invariants(totals: ClaimTotals, shares: Sequence[LineShare]) -> None:
    """Fail loudly if the arithmetic ever stops adding up."""
    problems = []
    if totals.t_bhtt != totals.t_tongchi_bh - totals.t_bncct:
        problems.append("T_BHTT ≠ T_TONGCHI_BH − T_BNCCT")
    if totals.t_tongchi_bv != totals.t_bhtt + totals.t_bncct + totals.t_bntt + totals.t_nguonkhac:
        problems.append("T_TONGCHI_BV ≠ T_BHTT + T_BNCCT + T_BNTT + T_NGUONKHAC")
    if sum(s.t_bhtt for s in shares) != totals.t_bhtt or sum(s.t_bncct for s in shares) != totals.t_bncct:
        problems.append("tổng các dòng ≠ tổng hồ sơ")
    if any(s.t_bhtt < 0 or s.t_bncct < 0 or s.t_bntt < 0 for s in shares):
        problems.append("có dòng mang số tiền âm")
    if problems:
        raise CoverageError("Lỗi tính chi phí BHYT: " + "; ".join(problems))
