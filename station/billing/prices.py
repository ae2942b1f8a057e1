"""Dated price lists and the base-salary table: lookups, manual entry and CSV import.

A visit is priced by the list in force on its (local) date: for each
(kind, code) the row with the latest ``effective_from`` on or before the day,
unless its ``effective_to`` has passed.  Prices are whole đồng; a price with
decimals is refused with a message naming the row, and an import with any bad
row imports nothing (all errors are listed at once).

CSV columns (header row required; ``,`` or ``;`` separated; UTF-8, BOM allowed)::

    loai        dich_vu | thuoc | vat_tu   (or service | drug | supply)
    ma          item code of the station's catalogue ("02.1896", "40.17")
    ten         name
    don_vi      unit (optional)
    gia_bv      facility price, whole đồng ("38.700" or "38700")
    gia_bh      BHYT price, whole đồng; empty = outside the BHYT scope
    ngay_ap_dung  effective date, dd/mm/yyyy or yyyy-mm-dd
    ngay_het_han  optional end date
    ma_nhom     optional MA_NHOM; tyle_tt_bh optional percent (default 100)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from station.audit import services as audit
from station.audit.services import Actor
from station.billing import coverage as cov
from station.billing.models import PRICE_KINDS, BaseSalary, PriceItem
from station.billing.money import MoneyError, parse_vnd
from station.errors import NotFound, ValidationFailed
from station.text import clean

KIND_ALIASES: dict[str, str] = {
    "service": "service", "dich_vu": "service", "dịch vụ": "service", "dv": "service", "dvkt": "service",
    "drug": "drug", "thuoc": "drug", "thuốc": "drug",
    "supply": "supply", "vat_tu": "supply", "vật tư": "supply", "vtyt": "supply",
}
REQUIRED_COLUMNS = ("loai", "ma", "ten", "gia_bv", "ngay_ap_dung")


@dataclass(frozen=True)
class PriceInput:
    """A validated price row, ready to store."""

    kind: str
    code: str
    name: str
    unit: str
    hospital_price: int
    bhyt_price: int | None
    effective_from: date
    effective_to: date | None = None
    group_code: str = ""
    coverage_ratio: Decimal = Decimal(100)


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    created: int
    updated: int


def parse_day(text: str) -> date:
    """Parse dd/mm/yyyy or yyyy-mm-dd; raise ValueError with a Vietnamese message."""
    text = text.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"Ngày không hợp lệ: {text!r} (dùng dd/mm/yyyy)")


def parse_price(text: str, label: str) -> int:
    """Parse a whole-đồng price; raise ValueError naming *label*."""
    try:
        value = parse_vnd(text)
    except MoneyError:
        raise ValueError(f"{label} phải là số nguyên đồng, không có phần lẻ (nhận được {text.strip()!r})") from None
    if value < 0:
        raise ValueError(f"{label} không được âm")
    return value


def validate_price(kind: str, code: str, name: str, hospital_price: str, bhyt_price: str, effective_from: str,
                   *, unit: str = "", effective_to: str = "", group_code: str = "",
                   coverage_ratio: str = "") -> PriceInput:
    """Check one price row given as text; raise ValueError listing every problem."""
    problems: list[str] = []
    resolved_kind = KIND_ALIASES.get(clean(kind).lower())
    if resolved_kind is None:
        problems.append(f"Loại {kind!r} không hợp lệ (dich_vu, thuoc hoặc vat_tu)")
    code = clean(code)
    name = clean(name)
    if not code:
        problems.append("Thiếu mã")
    if not name:
        problems.append("Thiếu tên")
    bv = bh = None
    start = end = None
    ratio = Decimal(100)
    try:
        bv = parse_price(hospital_price, "Giá cơ sở (gia_bv)")
    except ValueError as exc:
        problems.append(str(exc))
    if bhyt_price.strip():
        try:
            bh = parse_price(bhyt_price, "Giá BHYT (gia_bh)")
        except ValueError as exc:
            problems.append(str(exc))
    try:
        start = parse_day(effective_from)
    except ValueError as exc:
        problems.append(f"Ngày áp dụng: {exc}")
    if effective_to.strip():
        try:
            end = parse_day(effective_to)
        except ValueError as exc:
            problems.append(f"Ngày hết hạn: {exc}")
    if start and end and end < start:
        problems.append("Ngày hết hạn trước ngày áp dụng")
    if bv is not None and bh is not None and bh > bv:
        problems.append("Giá BHYT lớn hơn giá cơ sở")
    if coverage_ratio.strip():
        try:
            ratio = Decimal(coverage_ratio.strip().replace(",", "."))
            if not 0 <= ratio <= 100:
                raise InvalidOperation
        except InvalidOperation:
            problems.append(f"Tỷ lệ thanh toán BHYT phải từ 0 đến 100 (nhận được {coverage_ratio!r})")
    if problems:
        raise ValueError("; ".join(problems))
    assert resolved_kind is not None and bv is not None and start is not None
    return PriceInput(kind=resolved_kind, code=code, name=name, unit=clean(unit), hospital_price=bv,
                      bhyt_price=bh, effective_from=start, effective_to=end, group_code=clean(group_code),
                      coverage_ratio=ratio)


def save_price(session: Session, data: PriceInput, *, actor: Actor) -> tuple[PriceItem, bool]:
    """Create or update the row of (kind, code, effective_from); return (row, created). Audited."""
    row = session.scalar(select(PriceItem).where(
        PriceItem.kind == data.kind, PriceItem.code == data.code, PriceItem.effective_from == data.effective_from))
    created = row is None
    if row is None:
        row = PriceItem(kind=data.kind, code=data.code, effective_from=data.effective_from,
                        created_by=actor.label[:64])
        session.add(row)
    before = None if created else (row.hospital_price, row.bhyt_price)
    row.name = data.name
    row.unit = data.unit
    row.hospital_price = data.hospital_price
    row.bhyt_price = data.bhyt_price
    row.covered = data.bhyt_price is not None
    row.coverage_ratio = data.coverage_ratio
    row.group_code = data.group_code
    row.effective_to = data.effective_to
    session.flush()
    audit.record(session, actor, "billing.price.create" if created else "billing.price.update",
                 entity_type="price_item", entity_id=row.id,
                 detail={"kind": data.kind, "code": data.code, "from": data.effective_from.isoformat(),
                         "hospital_price": data.hospital_price, "bhyt_price": data.bhyt_price,
                         "before": before})
    return row, created


def import_csv(session: Session, raw: bytes | str, *, actor: Actor) -> ImportReport:
    """Import a price-list CSV atomically; raise ValidationFailed listing every bad row."""
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    if not text.strip():
        raise ValidationFailed("Tệp bảng giá trống.")
    sample = text.splitlines()[0]
    dialect = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=dialect)
    headers = [clean(h or "").lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in headers]
    if missing:
        raise ValidationFailed(f"Tệp bảng giá thiếu cột: {', '.join(missing)} "
                               f"(cần {', '.join(REQUIRED_COLUMNS)}; gia_bh, don_vi, ngay_het_han, ma_nhom tùy chọn)")
    rows: list[PriceInput] = []
    errors: list[str] = []
    seen: dict[tuple[str, str, date], int] = {}
    for number, raw_row in enumerate(reader, start=2):
        row = {clean(k or "").lower(): (v or "") for k, v in raw_row.items() if k is not None}
        if not any(value.strip() for value in row.values()):
            continue
        try:
            item = validate_price(row.get("loai", ""), row.get("ma", ""), row.get("ten", ""), row.get("gia_bv", ""),
                                  row.get("gia_bh", ""), row.get("ngay_ap_dung", ""), unit=row.get("don_vi", ""),
                                  effective_to=row.get("ngay_het_han", ""), group_code=row.get("ma_nhom", ""),
                                  coverage_ratio=row.get("tyle_tt_bh", ""))
        except ValueError as exc:
            errors.append(f"Dòng {number}: {exc}")
            continue
        key = (item.kind, item.code, item.effective_from)
        if key in seen:
            errors.append(f"Dòng {number}: trùng mã {item.code} cùng ngày áp dụng với dòng {seen[key]}")
            continue
        seen[key] = number
        rows.append(item)
    if errors:
        raise ValidationFailed("Không nhập bảng giá (chưa lưu dòng nào): " + " | ".join(errors))
    created = updated = 0
    for item in rows:
        _, was_created = save_price(session, item, actor=actor)
        created += was_created
        updated += not was_created
    audit.record(session, actor, "billing.price.import", entity_type="price_list",
                 detail={"created": created, "updated": updated})
    return ImportReport(created=created, updated=updated)


def price_in_force(session: Session, kind: str, code: str, day: date) -> PriceItem | None:
    """Return the price row of (kind, code) in force on *day*, or None."""
    return session.scalar(
        select(PriceItem)
        .where(PriceItem.kind == kind, PriceItem.code == code, PriceItem.effective_from <= day,
               or_(PriceItem.effective_to.is_(None), PriceItem.effective_to >= day))
        .order_by(PriceItem.effective_from.desc()).limit(1))


def prices_in_force(session: Session, keys: Iterable[tuple[str, str]], day: date) -> dict[tuple[str, str], PriceItem]:
    """Return the rows in force on *day* for many (kind, code) keys with one query."""
    wanted = set(keys)
    if not wanted:
        return {}
    codes = {code for _, code in wanted}
    rows = session.scalars(
        select(PriceItem)
        .where(PriceItem.code.in_(codes), PriceItem.effective_from <= day,
               or_(PriceItem.effective_to.is_(None), PriceItem.effective_to >= day))
        .order_by(PriceItem.effective_from)).all()
    found: dict[tuple[str, str], PriceItem] = {}
    for row in rows:  # ascending: the latest in force wins
        if (row.kind, row.code) in wanted:
            found[(row.kind, row.code)] = row
    return found


def list_prices(session: Session, *, query: str = "", kind: str = "", on: date | None = None) -> list[PriceItem]:
    """Return price rows for the admin page, filtered by text, kind and optionally in force on *on*."""
    stmt = select(PriceItem)
    if kind:
        stmt = stmt.where(PriceItem.kind == kind)
    if query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(PriceItem.code.ilike(like), PriceItem.name.ilike(like)))
    if on is not None:
        stmt = stmt.where(PriceItem.effective_from <= on,
                          or_(PriceItem.effective_to.is_(None), PriceItem.effective_to >= on))
    rows = session.scalars(stmt.order_by(PriceItem.kind, PriceItem.code, PriceItem.effective_from.desc())).all()
    if on is None:
        return list(rows)
    latest: dict[tuple[str, str], PriceItem] = {}
    for row in rows:
        latest.setdefault((row.kind, row.code), row)
    return list(latest.values())


def kind_label(kind: str) -> str:
    """Return the Vietnamese label of a price kind."""
    return PRICE_KINDS.get(kind, kind)


# --------------------------------------------------------------------------- base salary


def base_salary_table(session: Session) -> tuple[cov.BaseSalaryPeriod, ...]:
    """Return the configured base-salary periods, or the built-in defaults when none are stored."""
    rows = session.scalars(select(BaseSalary).order_by(BaseSalary.effective_from)).all()
    if not rows:
        return cov.DEFAULT_BASE_SALARY
    return tuple(cov.BaseSalaryPeriod(row.effective_from, int(row.amount)) for row in rows)


def save_base_salary(session: Session, effective_from: str, amount: str, source: str, *, actor: Actor) -> BaseSalary:
    """Add or change the base salary in force from a date (audited)."""
    try:
        start = parse_day(effective_from)
        value = parse_price(amount, "Mức lương cơ sở")
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    if value <= 0:
        raise ValidationFailed("Mức lương cơ sở phải lớn hơn 0 đồng.")
    if not session.scalar(select(BaseSalary.id).limit(1)):
        # First edit: keep the built-in history so older visits stay priced as before.
        for period in cov.DEFAULT_BASE_SALARY:
            if period.effective_from != start:
                session.add(BaseSalary(effective_from=period.effective_from, amount=period.amount,
                                       source="Mặc định của phần mềm"))
    row = session.scalar(select(BaseSalary).where(BaseSalary.effective_from == start))
    before = None if row is None else int(row.amount)
    if row is None:
        row = BaseSalary(effective_from=start)
        session.add(row)
    row.amount = value
    row.source = clean(source)[:100]
    session.flush()
    audit.record(session, actor, "billing.base_salary.save", entity_type="base_salary", entity_id=row.id,
                 detail={"from": start.isoformat(), "amount": value, "before": before})
    return row


def delete_price(session: Session, price_id: object, *, actor: Actor) -> None:
    """Delete a price row that no invoice has used yet (audited)."""
    from station.billing.models import InvoiceLine

    row = session.get(PriceItem, price_id)
    if row is None:
        raise NotFound("Không tìm thấy dòng giá.")
    used = session.scalar(select(InvoiceLine.id).where(and_(
        InvoiceLine.code == row.code, InvoiceLine.kind == row.kind,
        InvoiceLine.price_from == row.effective_from)).limit(1))
    if used is not None:
        raise ValidationFailed("Giá này đã được dùng trong hóa đơn; hãy thêm giá mới với ngày áp dụng sau.")
    audit.record(session, actor, "billing.price.delete", entity_type="price_item", entity_id=row.id,
                 detail={"kind": row.kind, "code": row.code, "from": row.effective_from.isoformat()})
    session.delete(row)
    session.flush()
