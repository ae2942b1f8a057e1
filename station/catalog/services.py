"""Catalogue services: ICD-10 versions and the per-process search index, drugs, services, CSV import.

One :class:`IcdIndex` per catalogue version per process, built lazily on first use and kept;
a version's ``revision`` (bumped by every import) tells other processes to rebuild theirs.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from station.audit import services as audit
from station.audit.services import Actor
from station.catalog.icd10 import (
    ICD10_VERSIONS,
    SAMPLE_VI_TITLES,
    CatalogImportError,
    CatalogVersion,
    IcdEntry,
    IcdError,
    IcdIndex,
    VietnameseTitles,
    _decode,
    load_vietnamese_titles,
    load_who_icd10,
    merge_titles,
)
from station.catalog.models import Drug, IcdCatalogVersion, IcdTitle, ServiceItem
from station.clock import Clock, SystemClock, local_today
from station.errors import Conflict, NotFound, ValidationFailed
from station.text import clean, fold

# --- ICD-10 -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A catalogue version as the index cache sees it (database row or built-in default)."""

    name: str
    effective_from: date
    effective_to: date | None
    revision: int
    in_database: bool
    #: Time of the last import: with ``revision`` the cache key (tests reuse revision numbers).
    imported_at: datetime | None = None

    def covers(self, day: date) -> bool:
        """Return True when the version is in force on *day*."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def as_catalog_version(self) -> CatalogVersion:
        """Return the pure :class:`CatalogVersion`."""
        return CatalogVersion(self.name, self.effective_from, self.effective_to)


_lock = threading.Lock()
_who: list[IcdEntry] | None = None
_indexes: dict[str, tuple[tuple[int, datetime | None], IcdIndex]] = {}


def _who_entries() -> list[IcdEntry]:
    """Return the WHO list, loaded once per process."""
    global _who
    if _who is None:
        _who = load_who_icd10()
    return _who


def list_versions(session: Session) -> list[VersionInfo]:
    """Return the ICD-10 versions: database rows, else the built-in dated defaults (DOMAIN §13)."""
    rows = session.execute(select(IcdCatalogVersion.name, IcdCatalogVersion.effective_from,
                                  IcdCatalogVersion.effective_to, IcdCatalogVersion.revision,
                                  IcdCatalogVersion.imported_at)
                           .order_by(IcdCatalogVersion.effective_from)).all()
    if rows:
        return [VersionInfo(r.name, r.effective_from, r.effective_to, r.revision, True, r.imported_at) for r in rows]
    return [VersionInfo(v.name, v.effective_from, v.effective_to, 0, False) for v in ICD10_VERSIONS]


def version_on(session: Session, day: date | datetime) -> VersionInfo:
    """Return the version in force on *day*, or raise ValidationFailed naming the date."""
    if isinstance(day, datetime):
        day = day.date()
    found = [v for v in list_versions(session) if v.covers(day)]
    if len(found) != 1:
        problem = "không có" if not found else "có nhiều hơn một"
        raise ValidationFailed(f"Danh mục ICD-10: {problem} phiên bản áp dụng cho ngày {day:%d/%m/%Y} "
                               "(DOMAIN §13: chọn theo ngày kết thúc đợt khám).")
    return found[0]


def _build(session: Session, version: VersionInfo) -> IcdIndex:
    """Build the index of *version*: WHO codes plus its imported titles (else the shipped sample)."""
    titles: VietnameseTitles | None = None
    if version.in_database:
        rows = session.execute(select(IcdTitle.code, IcdTitle.title_vi, IcdTitle.banned, IcdTitle.cause_of_death_only)
                               .join(IcdCatalogVersion).where(IcdCatalogVersion.name == version.name)).all()
        if rows:
            titles = VietnameseTitles({r.code: r.title_vi for r in rows}, "database",
                                      frozenset(r.code for r in rows if r.banned),
                                      frozenset(r.code for r in rows if r.cause_of_death_only))
    if titles is None:
        titles = load_vietnamese_titles(SAMPLE_VI_TITLES)
    return IcdIndex(merge_titles(_who_entries(), titles))


def index_for(session: Session, day: date | datetime) -> tuple[VersionInfo, IcdIndex]:
    """Return the version in force on *day* and its search index (cached per process)."""
    version = version_on(session, day)
    stamp = (version.revision, version.imported_at)
    cached = _indexes.get(version.name)
    if cached is not None and cached[0] == stamp:
        return version, cached[1]
    with _lock:
        cached = _indexes.get(version.name)
        if cached is None or cached[0] != stamp:
            _indexes[version.name] = (stamp, _build(session, version))
        return version, _indexes[version.name][1]


def clear_index_cache() -> None:
    """Forget every cached index (tests, after an import in this process)."""
    with _lock:
        _indexes.clear()


def search_icd(session: Session, query: str, *, on: date | None = None, limit: int = 20,
               clock: Clock | None = None) -> tuple[VersionInfo, list[IcdEntry]]:
    """Search codes and titles (diacritic-insensitive) in the version in force on *on* (default today)."""
    version, index = index_for(session, on or local_today(clock))
    return version, index.search(query, limit=max(1, min(limit, 50)))


def validate_icd(session: Session, code: str, *, on: date, field: str = "diagnosis") -> tuple[VersionInfo, IcdEntry]:
    """Return the entry of *code* in the version in force on *on*, or raise ValidationFailed."""
    version, index = index_for(session, on)
    try:
        return version, index.validate_code(code)
    except IcdError as error:
        raise ValidationFailed(f"{error} (danh mục {version.name}).", field=field) from None


def ensure_versions(session: Session) -> list[IcdCatalogVersion]:
    """Create the built-in versions as rows when the table is empty; return every row."""
    rows = session.scalars(select(IcdCatalogVersion).order_by(IcdCatalogVersion.effective_from)).all()
    if rows:
        return list(rows)
    for builtin in ICD10_VERSIONS:
        session.add(IcdCatalogVersion(name=builtin.name, effective_from=builtin.effective_from,
                                      effective_to=builtin.effective_to))
    session.flush()
    return list(session.scalars(select(IcdCatalogVersion).order_by(IcdCatalogVersion.effective_from)))


def import_icd10_titles(session: Session, path: str | Path, *, actor: Actor, version_name: str | None = None,
                        effective_from: date | None = None, effective_to: date | None = None,
                        clock: Clock | None = None) -> IcdCatalogVersion:
    """Import the Ministry's Vietnamese titles into a version (all-or-nothing); flush only.

    Without *version_name* the titles go to the version in force today. A new version needs
    *effective_from*; an open-ended earlier version is closed the day before it starts.
    """
    clock = clock or SystemClock()
    try:
        parsed = load_vietnamese_titles(path)
    except CatalogImportError as error:
        raise ValidationFailed(str(error)) from None
    rows = ensure_versions(session)
    if version_name is None:
        if effective_from is not None:
            raise ValidationFailed("Cần ghi tên phiên bản (--version) khi khai báo ngày áp dụng.")
        version_name = version_on(session, local_today(clock)).name
    name = clean(version_name)
    row = next((r for r in rows if r.name == name), None)
    if row is None:
        if effective_from is None:
            raise ValidationFailed(f"Phiên bản {name} chưa có: cần ngày bắt đầu áp dụng (--effective-from).")
        if effective_to is not None and effective_to < effective_from:
            raise ValidationFailed("Ngày hết hiệu lực phải sau ngày bắt đầu áp dụng.")
        for other in rows:
            if other.effective_to is None and other.effective_from < effective_from:
                other.effective_to = date.fromordinal(effective_from.toordinal() - 1)
        row = IcdCatalogVersion(name=name, effective_from=effective_from, effective_to=effective_to)
        session.add(row)
        session.flush()
        for other in rows:
            if other is not row and _overlaps(other, row):
                raise ValidationFailed(f"Phiên bản {name} chồng lấn thời gian áp dụng với {other.name}.")
    elif effective_from is not None:
        row.effective_from = effective_from
        row.effective_to = effective_to
    session.execute(delete(IcdTitle).where(IcdTitle.version_id == row.id))
    session.execute(IcdTitle.__table__.insert(), [
        {"version_id": row.id, "code": code, "title_vi": title[:300], "banned": code in parsed.banned,
         "cause_of_death_only": code in parsed.cause_of_death_only}
        for code, title in parsed.titles.items()])
    row.title_count = len(parsed.titles)
    row.source = f"{Path(path).name} ({parsed.encoding})"[:200]
    row.imported_at = clock.now()
    row.imported_by = actor.label[:64]
    row.revision = (row.revision or 1) + 1
    session.flush()
    audit.record(session, actor, "catalog.icd10.import", entity_type="icd_catalog_version", entity_id=row.id,
                 detail={"version": row.name, "titles": row.title_count, "encoding": parsed.encoding},
                 clock=clock)
    return row


def _overlaps(a: IcdCatalogVersion, b: IcdCatalogVersion) -> bool:
    a_end = a.effective_to or date.max
    b_end = b.effective_to or date.max
    return a.effective_from <= b_end and b.effective_from <= a_end


# --- drugs and services: fields, parsing ------------------------------------------------------

PRESCRIPTION_TYPES = {"N": "N - Thuốc gây nghiện", "H": "H - Thuốc hướng thần, tiền chất",
                      "C": "C - Thuốc thông thường", "T": "T - Thuốc thang"}
SERVICE_KINDS = {"exam": "Khám bệnh", "test": "Xét nghiệm", "imaging": "Chẩn đoán hình ảnh",
                 "procedure": "Thủ thuật"}
_TRUE = {"x", "1", "co", "true", "yes", "c"}
_FALSE = {"", "0", "khong", "false", "no", "k"}
_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")

DRUG_HEADERS: dict[str, str] = {
    "code": "code", "ma": "code", "ma thuoc": "code", "ma noi bo": "code",
    "inn": "inn", "hoat chat": "inn", "ten hoat chat": "inn",
    "brand": "brand_name", "brand_name": "brand_name", "ten thuoc": "brand_name", "biet duoc": "brand_name",
    "ten biet duoc": "brand_name", "ten thuong mai": "brand_name",
    "strength": "strength", "ham luong": "strength", "nong do": "strength", "ham luong/nong do": "strength",
    "dosage_form": "dosage_form", "dang bao che": "dosage_form",
    "unit": "unit", "don vi": "unit", "don vi tinh": "unit", "dvt": "unit",
    "route": "route", "duong dung": "route",
    "registration_number": "registration_number", "so dang ky": "registration_number", "sdk": "registration_number",
    "bhyt_code": "bhyt_code", "ma bhyt": "bhyt_code", "ma thuoc bhyt": "bhyt_code",
    "price": "price", "gia": "price", "don gia": "price",
    "prescription_type": "prescription_type", "loai don": "prescription_type",
    "biologic": "biologic", "sinh pham": "biologic", "poison": "poison", "thuoc doc": "poison",
    "supplement": "supplement", "thuc pham chuc nang": "supplement",
    "whole_units": "whole_units", "dem nguyen don vi": "whole_units", "active": "active", "dang dung": "active",
}
SERVICE_HEADERS: dict[str, str] = {
    "code": "code", "ma": "code", "ma dich vu": "code", "name": "name", "ten": "name", "ten dich vu": "name",
    "kind": "kind", "loai": "kind", "bhyt_code": "bhyt_code", "ma bhyt": "bhyt_code", "ma dvkt bhyt": "bhyt_code",
    "unit": "unit", "don vi tinh": "unit", "dvt": "unit", "price": "price", "gia": "price", "don gia": "price",
    "active": "active", "dang dung": "active", "note": "note", "ghi chu": "note",
}
_KIND_ALIASES = {"kham": "exam", "kham benh": "exam", "xet nghiem": "test", "chan doan hinh anh": "imaging",
                 "cdha": "imaging", "thu thuat": "procedure"}


def parse_price(text: str) -> Decimal:
    """Parse a price in đồng: "1500", "1.500" (Vietnamese thousands), "1.500,5", "1500.50"."""
    value = clean(str(text)).replace(" ", "").replace("đ", "").replace("₫", "")
    if not value:
        return Decimal(0)
    if _THOUSANDS.match(value):
        value = value.replace(".", "").replace(",", ".")
    elif "," in value and "." not in value:
        value = value.replace(",", ".")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"giá không phải là số: {text!r}") from None
    if not result.is_finite() or result < 0:
        raise ValueError(f"giá phải là số không âm: {text!r}")
    if result > Decimal("1000000000"):
        raise ValueError(f"giá quá lớn (trên 1 tỷ đồng): {text!r}")
    return result.quantize(Decimal("0.01"))


def _flag(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    folded = fold(str(value or ""))
    if folded == "" and default is not None:
        return default
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError(f"giá trị có/không không hợp lệ: {value!r} (dùng x, 1, có hoặc để trống)")


def _drug_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Return clean drug fields from *data*; raise ValueError (Vietnamese) naming the rule."""
    code = clean(str(data.get("code") or "")).upper()
    inn = " + ".join(clean(p) for p in str(data.get("inn") or "").split("+") if clean(p))
    if not code:
        raise ValueError("thiếu mã thuốc")
    if len(code) > 30:
        raise ValueError("mã thuốc dài quá 30 ký tự")
    if not inn:
        raise ValueError("thiếu hoạt chất (INN)")
    kind = clean(str(data.get("prescription_type") or "C")).upper()
    if kind not in PRESCRIPTION_TYPES:
        raise ValueError(f"loại đơn phải là N, H, C hoặc T (đang là {kind!r})")
    fields = {
        "code": code, "inn": inn[:255],
        "brand_name": clean(str(data.get("brand_name") or ""))[:200],
        "strength": clean(str(data.get("strength") or ""))[:100],
        "dosage_form": clean(str(data.get("dosage_form") or ""))[:60],
        "unit": clean(str(data.get("unit") or "")) or "Viên",
        "route": clean(str(data.get("route") or "")) or "Uống",
        "registration_number": clean(str(data.get("registration_number") or ""))[:40],
        "bhyt_code": clean(str(data.get("bhyt_code") or ""))[:40],
        "price": data["price"] if isinstance(data.get("price"), Decimal) else parse_price(str(data.get("price") or "")),
        "prescription_type": kind,
        "biologic": _flag(data.get("biologic"), False),
        "poison": _flag(data.get("poison"), False),
        "supplement": _flag(data.get("supplement"), False),
        "whole_units": _flag(data.get("whole_units"), True),
        "active": _flag(data.get("active"), True),
    }
    if len(fields["unit"]) > 20:
        raise ValueError("đơn vị tính dài quá 20 ký tự")
    fields["multi_ingredient"] = len([p for p in inn.split("+") if p.strip()]) > 1
    fields["search_key"] = fold(f"{code} {inn} {fields['brand_name']} {fields['bhyt_code']}")[:500]
    return fields


def _service_fields(data: dict[str, Any]) -> dict[str, Any]:
    code = clean(str(data.get("code") or "")).upper()
    name = clean(str(data.get("name") or ""))
    if not code:
        raise ValueError("thiếu mã dịch vụ")
    if len(code) > 30:
        raise ValueError("mã dịch vụ dài quá 30 ký tự")
    if not name:
        raise ValueError("thiếu tên dịch vụ")
    kind_text = fold(str(data.get("kind") or "procedure"))
    kind = _KIND_ALIASES.get(kind_text, kind_text)
    if kind not in SERVICE_KINDS:
        raise ValueError(f"loại dịch vụ không hợp lệ: {data.get('kind')!r} (khám, xét nghiệm, CĐHA, thủ thuật)")
    fields = {
        "code": code, "name": name[:255], "kind": kind,
        "bhyt_code": clean(str(data.get("bhyt_code") or ""))[:40],
        "unit": clean(str(data.get("unit") or "")) or "Lần",
        "price": data["price"] if isinstance(data.get("price"), Decimal) else parse_price(str(data.get("price") or "")),
        "active": _flag(data.get("active"), True),
        "note": clean(str(data.get("note") or "")),
    }
    fields["search_key"] = fold(f"{code} {name} {fields['bhyt_code']}")[:400]
    return fields


# --- drugs ------------------------------------------------------------------------------------


def save_drug(session: Session, data: dict[str, Any], *, actor: Actor, drug: Drug | None = None) -> Drug:
    """Create or update a drug from form data; flush only. Raises ValidationFailed naming the rule."""
    try:
        fields = _drug_fields(data)
    except ValueError as error:
        raise ValidationFailed(f"Thuốc: {error}.") from None
    clash = session.scalar(select(Drug).where(Drug.code == fields["code"]))
    if clash is not None and clash is not drug:
        raise Conflict(f"Mã thuốc {fields['code']} đã có trong danh mục ({clash.inn}).", field="code")
    created = drug is None
    drug = drug or Drug()
    for key, value in fields.items():
        setattr(drug, key, value)
    session.add(drug)
    session.flush()
    audit.record(session, actor, "catalog.drug.create" if created else "catalog.drug.update",
                 entity_type="drug", entity_id=drug.id, detail={"code": drug.code})
    return drug


def get_drug(session: Session, drug_id: Any) -> Drug:
    """Return the drug or raise NotFound."""
    drug = session.get(Drug, drug_id)
    if drug is None:
        raise NotFound("Không tìm thấy thuốc trong danh mục.")
    return drug


def list_drugs(session: Session, query: str = "", *, active_only: bool = False) -> list[Drug]:
    """Return drugs whose code, INN, brand or BHYT code contains every folded word of *query*."""
    stmt = select(Drug).order_by(Drug.inn, Drug.strength)
    for word in fold(query).split():
        stmt = stmt.where(Drug.search_key.contains(word, autoescape=True))
    if active_only:
        stmt = stmt.where(Drug.active.is_(True))
    return list(session.scalars(stmt))


# --- services ---------------------------------------------------------------------------------


def save_service(session: Session, data: dict[str, Any], *, actor: Actor, item: ServiceItem | None = None) -> ServiceItem:
    """Create or update a service item; flush only."""
    try:
        fields = _service_fields(data)
    except ValueError as error:
        raise ValidationFailed(f"Dịch vụ: {error}.") from None
    clash = session.scalar(select(ServiceItem).where(ServiceItem.code == fields["code"]))
    if clash is not None and clash is not item:
        raise Conflict(f"Mã dịch vụ {fields['code']} đã có trong danh mục ({clash.name}).", field="code")
    created = item is None
    item = item or ServiceItem()
    for key, value in fields.items():
        setattr(item, key, value)
    session.add(item)
    session.flush()
    audit.record(session, actor, "catalog.service.create" if created else "catalog.service.update",
                 entity_type="service_item", entity_id=item.id, detail={"code": item.code})
    return item


def get_service(session: Session, item_id: Any) -> ServiceItem:
    """Return the service item or raise NotFound."""
    item = session.get(ServiceItem, item_id)
    if item is None:
        raise NotFound("Không tìm thấy dịch vụ trong danh mục.")
    return item


def list_services(session: Session, query: str = "", *, active_only: bool = False) -> list[ServiceItem]:
    """Return service items matching every folded word of *query*."""
    stmt = select(ServiceItem).order_by(ServiceItem.kind, ServiceItem.name)
    for word in fold(query).split():
        stmt = stmt.where(ServiceItem.search_key.contains(word, autoescape=True))
    if active_only:
        stmt = stmt.where(ServiceItem.active.is_(True))
    return list(session.scalars(stmt))


# --- CSV import -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    created: int
    updated: int
    encoding: str


def _read_csv(raw: bytes, headers: dict[str, str], required: Sequence[str]) -> tuple[list[tuple[int, dict[str, str]]], str]:
    """Return (line number, row by field) pairs of a CSV with a header row, and the encoding."""
    try:
        text, encoding = _decode(raw)
    except CatalogImportError as error:
        raise ValidationFailed(str(error)) from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValidationFailed("Tệp CSV không có dòng dữ liệu nào.")
    header_line = lines[0][1]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    header = [fold(h).strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
    fields = [headers.get(h) for h in header]
    missing = [r for r in required if r not in fields]
    if missing:
        raise ValidationFailed(f"Dòng tiêu đề (dòng {lines[0][0]}) thiếu cột: {', '.join(missing)}. "
                               f"Các cột nhận được: {', '.join(sorted(set(headers)))}.")
    rows = []
    for n, line in lines[1:]:
        cells = next(csv.reader([line], delimiter=delimiter), [])
        rows.append((n, {f: clean(c) for f, c in zip(fields, cells, strict=False) if f}))
    return rows, encoding


def _import(session: Session, raw: bytes, model: type, headers: dict[str, str], required: Sequence[str],
            parse: Any, what: str, actor: Actor) -> ImportResult:
    rows, encoding = _read_csv(raw, headers, required)
    errors: list[str] = []
    parsed: dict[str, dict[str, Any]] = {}
    for n, row in rows:
        try:
            fields = parse(row)
        except ValueError as error:
            errors.append(f"Dòng {n}: {error}.")
            continue
        if fields["code"] in parsed:
            errors.append(f"Dòng {n}: mã {fields['code']} bị lặp trong tệp.")
            continue
        parsed[fields["code"]] = fields
    if errors:
        raise ValidationFailed(f"Tệp {what} ({encoding}) có {len(errors)} dòng lỗi; chưa nhập dòng nào.\n"
                               + "\n".join(errors[:50]))
    existing = {row.code: row for row in session.scalars(select(model).where(model.code.in_(list(parsed))))}
    created = updated = 0
    for code, fields in parsed.items():
        row = existing.get(code)
        if row is None:
            row = model()
            session.add(row)
            created += 1
        else:
            updated += 1
        for key, value in fields.items():
            setattr(row, key, value)
    session.flush()
    audit.record(session, actor, f"catalog.{model.__tablename__}.import", entity_type=model.__tablename__,
                 detail={"created": created, "updated": updated, "encoding": encoding})
    return ImportResult(created, updated, encoding)


def import_drugs(session: Session, raw: bytes, *, actor: Actor) -> ImportResult:
    """Import or update drugs from CSV bytes (header row; all-or-nothing); flush only."""
    return _import(session, raw, Drug, DRUG_HEADERS, ("code", "inn"), _drug_fields, "danh mục thuốc", actor)


def import_services(session: Session, raw: bytes, *, actor: Actor) -> ImportResult:
    """Import or update service items from CSV bytes (header row; all-or-nothing); flush only."""
    return _import(session, raw, ServiceItem, SERVICE_HEADERS, ("code", "name"), _service_fields,
                   "danh mục dịch vụ", actor)


def drugs_by_id(session: Session, ids: Iterable[Any]) -> dict[Any, Drug]:
    """Return {id: drug} for *ids* in one query."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Drug).where(Drug.id.in_(wanted)))}


def search_drugs_or(session: Session, query: str, limit: int = 20) -> list[Drug]:
    """Return active drugs matching any word prefix of *query* (autocomplete)."""
    words = fold(query).split()
    if not words:
        return []
    stmt = select(Drug).where(Drug.active.is_(True), or_(*[Drug.search_key.contains(w, autoescape=True) for w in words]))
    return list(session.scalars(stmt.order_by(Drug.inn).limit(limit)))

