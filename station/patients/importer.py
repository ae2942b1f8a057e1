"""Import the records a commune already has (CSV or XLSX) — ``station patients import FILE``.

* Columns are mapped by their (folded) Vietnamese headers ("Họ và tên", "Ngày sinh", "Giới tính",
  "Số CCCD", "Mã thẻ BHYT", "Số điện thoại", "Địa chỉ"...); ``--mapping "Cột=field,..."`` overrides.
* Encoding: UTF-8, UTF-8 with BOM or Windows-1258 (the whole file is checked as UTF-8 first,
  streaming; text is normalised to NFC because Windows-1258 writes tones as combining marks).
* Rows are streamed (a 50 MB file never sits in memory) and written in chunks of
  :data:`CHUNK` rows with bulk inserts. **Transactions**: each chunk commits together with the
  file's progress row (``patient_import_runs``: SHA-256 of the file, rows done), so a crash
  loses at most the chunk in flight — never half a chunk — and a re-run of the same file
  resumes after the last committed row. A re-run of a finished file upserts again and changes
  nothing: rows are matched by CCCD, else mã số BHXH (or the BHYT card's), else patient code,
  else the same folded name + birth date + sex.
* A row that breaks a rule is not imported; it goes to the reject file (CSV, UTF-8 with BOM)
  with its line number and the Vietnamese reason.
* The change log (sync) and the audit trail get one row per patient and one event per chunk.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from station.admin.models import Counter
from station.audit import services as audit
from station.audit.services import Actor
from station.clock import local_today, now_utc
from station.db import lock_for_append
from station.errors import StationError, ValidationFailed
from station.patients import bhyt, cccd
from station.patients import services as svc
from station.patients.models import (
    BhytCard, Patient, PatientIdentifier, PatientImportRun, PatientNameToken, token_rows,
)
from station.sync.models import ChangeLog
from station.text import clean, fold, nfc

CHUNK = 5000

#: Import fields and the folded headers recognised for each by default.
HEADERS: dict[str, tuple[str, ...]] = {
    "full_name": ("ho va ten", "ho ten", "ten benh nhan", "ho va ten benh nhan", "full_name", "name"),
    "birth": ("ngay sinh", "ngay thang nam sinh", "nam sinh", "ngay/thang/nam sinh", "birth", "birth_date", "dob"),
    "sex": ("gioi tinh", "gioi", "sex"),
    "cccd": ("so cccd", "cccd", "so can cuoc", "so dinh danh", "so dinh danh ca nhan", "can cuoc cong dan"),
    "cmnd": ("so cmnd", "cmnd"),
    "bhyt_code": ("ma the bhyt", "so the bhyt", "the bhyt", "ma the", "bhyt"),
    "bhxh": ("ma so bhxh", "so bhxh", "ma bhxh"),
    "phone": ("so dien thoai", "dien thoai", "sdt", "so dt", "phone"),
    "street": ("dia chi", "dia chi thuong tru", "dia chi cu tru", "so nha", "address"),
    "hamlet": ("thon", "to dan pho", "thon/to", "thon, to dan pho", "thon/to dan pho"),
    "commune_code": ("ma xa", "ma xa/phuong", "ma phuong"),
    "ethnicity_code": ("dan toc", "ma dan toc"),
    "occupation": ("nghe nghiep",),
    "code": ("ma benh nhan", "ma bn", "ma ho so"),
    "bhyt_valid_to": ("han the", "han the bhyt", "gia tri den", "the co gia tri den"),
    "registered_facility": ("noi dkkcb", "ma dkbd", "noi dang ky kcb ban dau", "ma noi dkkcb"),
}
FIELDS = tuple(HEADERS)


class ImportFileError(StationError):
    """The file as a whole cannot be imported (encoding, no header, unknown column)."""


@dataclass
class ImportReport:
    """What an import did (or, with --dry-run, would do)."""

    file: str
    encoding: str
    mapping: dict[str, str]
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped_resumed: int = 0
    dry_run: bool = False
    rejects: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "encoding": self.encoding, "mapping": self.mapping, "rows": self.rows,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "resumed_after": self.skipped_resumed, "dry_run": self.dry_run}


# --- Reading -------------------------------------------------------------------------------------

def detect_encoding(path: Path) -> tuple[str, str]:
    """Return (codec, Vietnamese label): UTF-8 with BOM, UTF-8, or Windows-1258 — checked streaming."""
    with open(path, "rb") as handle:
        head = handle.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig", "UTF-8 (có BOM)"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8", "UTF-8"
        except UnicodeDecodeError:
            pass
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("cp1258")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
        except UnicodeDecodeError:
            raise ImportFileError("Không đọc được tệp: không phải UTF-8 cũng không phải Windows-1258. "
                                  "Hãy lưu lại tệp dạng CSV UTF-8.") from None
        return "cp1258", "Windows-1258"


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``"Họ tên=full_name,Năm sinh=birth"`` into {folded header: field}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        if "=" not in part:
            raise ImportFileError(f"Ánh xạ cột “{part}” phải có dạng Tên cột=trường.")
        column, field_name = (x.strip() for x in part.rsplit("=", 1))
        if field_name not in FIELDS:
            raise ImportFileError(f"Trường “{field_name}” không có; các trường: {', '.join(FIELDS)}.")
        mapping[fold(column)] = field_name
    return mapping


def resolve_columns(header: list[str], overrides: dict[str, str]) -> dict[int, str]:
    """Map column index -> field from the header; the name and birth date columns are required."""
    known = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
    known.update(overrides)
    columns: dict[int, str] = {}
    for index, title in enumerate(header):
        key = fold(nfc(str(title or ""))).strip(" :*")
        if key in known and known[key] not in columns.values():
            columns[index] = known[key]
    missing = [label for name, label in (("full_name", "Họ và tên"), ("birth", "Ngày sinh")) if name not in columns.values()]
    if missing:
        raise ImportFileError(f"Không tìm thấy cột {', '.join(missing)} trong dòng tiêu đề "
                              f"({', '.join(str(h) for h in header)}). Dùng --mapping \"Tên cột=full_name,...\".")
    return columns


class _Counting(io.RawIOBase):
    """A raw reader that counts bytes read (progress bar position)."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.position = handle, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.handle.read(len(buffer))
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def read_rows(path: Path, encoding: str) -> tuple[list[str], Iterator[tuple[int, list[Any]]], Callable[[], int], int,
                                                  Callable[[], None]]:
    """Return (header, iterator of (line number, cells), progress(), total, close()) streaming the file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        # openpyxl's read-only reader can leave the zip file open; own the handle and close it ourselves.
        handle = open(path, "rb")  # noqa: SIM115 - closed by close_xlsx
        book = load_workbook(handle, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(c or "") for c in next(rows, ())]
        state = {"n": 1}

        def xlsx_iter() -> Iterator[tuple[int, list[Any]]]:
            for row in rows:
                state["n"] += 1
                yield state["n"], list(row)
        def close_xlsx() -> None:
            book.close()
            handle.close()
        return header, xlsx_iter(), lambda: state["n"], max(sheet.max_row or 1, 1), close_xlsx
    raw = open(path, "rb")  # noqa: SIM115 - closed by the iterator
    counting = _Counting(raw)
    text = io.TextIOWrapper(io.BufferedReader(counting, 1 << 16), encoding=encoding, newline="")
    sample = text.readline()
    dialect = ";" if sample.count(";") > sample.count(",") and sample.count(";") > sample.count("\t") else \
        "\t" if sample.count("\t") > sample.count(",") else ","
    header = next(csv.reader([sample], delimiter=dialect), [])
    reader = csv.reader(text, delimiter=dialect)

    def csv_iter() -> Iterator[tuple[int, list[Any]]]:
        for cells in reader:
            yield reader.line_num + 1, cells
    return header, csv_iter(), lambda: counting.position, path.stat().st_size, raw.close


# --- Row validation -----------------------------------------------------------------------------

@dataclass
class Row:
    line: int
    cells: list[Any]
    values: dict[str, Any]
    key: tuple[str, str] | None = None


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean(nfc(str(value)))


def validate_row(values: dict[str, Any], today: date) -> dict[str, Any]:
    """Return clean column values (and identifiers) for one row, or raise ValidationFailed."""
    out = svc._clean_fields({k: values.get(k, "") for k in ("full_name", "birth", "sex")}, today=today, creating=True)
    if values.get("birth") and isinstance(values["birth"], str) and values["birth"].isdigit() and len(values["birth"]) == 8:
        raw = values["birth"]  # ddMMyyyy as in the QR
        out.update(svc._clean_fields({"birth": f"{raw[:2]}/{raw[2:4]}/{raw[4:]}"}, today=today, creating=False))
    optional = {k: values[k] for k in ("phone", "street", "hamlet", "ethnicity_code", "occupation") if values.get(k)}
    out.update(svc._clean_fields(optional, today=today, creating=False))
    if values.get("commune_code"):
        out["commune_code"] = f"{int(values['commune_code']):05d}" if str(values["commune_code"]).isdigit() else ""
        from vietnam_provinces import Ward
        try:
            ward = Ward.from_code(int(out["commune_code"]))
        except (ValueError, KeyError):
            raise ValidationFailed(f"Mã xã/phường {values['commune_code']} không có trong danh mục sau sắp xếp 2025.",
                                   field="commune_code") from None
        out["province_code"] = f"{ward.province_code.value:02d}"
    idents: dict[str, str] = {}
    for kind in ("cccd", "cmnd", "bhxh"):
        if values.get(kind):
            idents[kind] = svc.normalize_identifier(kind, str(values[kind]))[0]
    if values.get("bhyt_code"):
        try:
            card = bhyt.parse_bhyt_code(str(values["bhyt_code"]))
        except bhyt.BhytCodeError as error:
            raise ValidationFailed(str(error), field="bhyt_code") from None
        out["_card"] = card.code
        idents.setdefault("bhxh", card.bhxh_number)
        out["_card_valid_to"] = svc.parse_date(values.get("bhyt_valid_to") or None, label="Hạn thẻ BHYT",
                                               field_name="bhyt_valid_to", allow_future=True)
        facility = clean(str(values.get("registered_facility") or "")).upper()
        out["_card_facility"] = facility if len(facility) == 5 else ""
    if "cccd" in idents and "birth_date" in out:
        out["_warnings"] = cccd.number_warnings(idents["cccd"], birth_date=out["birth_date"], sex=out["sex"])
    code = clean(str(values.get("code") or "")).upper()
    out["_code"] = code
    out["_idents"] = idents
    return out


# --- Writing --------------------------------------------------------------------------------------

PATIENT_COLUMNS = ("full_name", "birth_date", "birth_precision", "birth_year", "sex", "phone", "street", "hamlet",
                   "ethnicity_code", "occupation", "province_code", "commune_code")


def _reserve_codes(session: Session, prefix: str, count: int) -> list[str]:
    """Reserve *count* consecutive patient codes in one step (gap-free, same counter as next_number)."""
    lock_for_append(session, "counter:patient_code")
    current = session.scalar(select(Counter.value).where(Counter.name == "patient_code"))
    if current is None:
        session.add(Counter(name="patient_code", value=count))
        session.flush()
        current = 0
    else:
        session.execute(update(Counter).where(Counter.name == "patient_code").values(value=current + count))
    return [f"{prefix}-{n:07d}" for n in range(current + 1, current + count + 1)]


class Importer:
    """Streams one file into the patients tables; see the module docstring."""

    def __init__(self, session: Session, path: Path, *, actor: Actor, mapping: str = "", dry_run: bool = False,
                 reject_path: Path | None = None, today: date | None = None, chunk: int = CHUNK) -> None:
        self.session, self.path, self.actor, self.dry_run = session, Path(path), actor, dry_run
        self.reject_path = reject_path
        self.today = today or local_today()
        self.chunk = chunk
        if not self.path.exists():
            raise ImportFileError(f"Không có tệp {self.path}.")
        if self.path.suffix.lower() in (".xlsx", ".xlsm"):
            self.codec, label = "binary", "XLSX"
        elif self.path.suffix.lower() == ".xls":
            raise ImportFileError("Tệp .xls (Excel 97–2003) chưa được hỗ trợ: hãy lưu thành .xlsx hoặc CSV UTF-8.")
        else:
            self.codec, label = detect_encoding(self.path)
        self.header, self.rows, self.progress, self.total, self.close = read_rows(self.path, self.codec)
        try:
            self.columns = resolve_columns(self.header, parse_mapping(mapping))
        except StationError:
            self.close()
            raise
        self.report = ImportReport(str(self.path), label, {self.header[i]: f for i, f in self.columns.items()},
                                   dry_run=dry_run)
        self.prefix = svc.facility_code(session)
        self._reject_writer: Any = None
        self._reject_handle: Any = None
        self._seen: dict[tuple[str, str], uuid.UUID | None] = {}

    # -- public --
    def run(self, on_progress: Callable[[int], None] | None = None) -> ImportReport:
        sha = self._sha256()
        run = None if self.dry_run else self.session.scalar(select(PatientImportRun).where(
            PatientImportRun.file_sha256 == sha))
        if run is not None and run.status == "running":
            self.report.skipped_resumed = run.rows_done
        if not self.dry_run and run is None:
            run = PatientImportRun(file_sha256=sha, file_name=self.path.name[:255], status="running")
            self.session.add(run)
            self.session.flush()
        resume = self.report.skipped_resumed
        batch: list[Row] = []
        seen_rows = 0
        last = 0
        try:
            for line, cells in self.rows:
                if not any(str(c).strip() for c in cells if c is not None):
                    continue
                seen_rows += 1
                if seen_rows <= resume:
                    continue
                values = {name: _cell(cells[i]) if i < len(cells) else "" for i, name in self.columns.items()}
                batch.append(Row(line, cells, values))
                if len(batch) >= self.chunk:
                    self._flush_chunk(batch, run, seen_rows)
                    batch = []
                if on_progress is not None:
                    position = self.progress()
                    on_progress(position - last)
                    last = position
            self._flush_chunk(batch, run, seen_rows, final=True)
        finally:
            self.close()  # the file is closed even when a chunk failed
            if self._reject_handle is not None:
                self._reject_handle.close()
        if on_progress is not None:
            on_progress(max(0, self.total - last))
        return self.report

    # -- internals --
    def _sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def _reject(self, row: Row, reason: str) -> None:
        self.report.rejected += 1
        if len(self.report.rejects) < 1000:
            self.report.rejects.append((row.line, reason))
        if self.reject_path is None:
            return
        if self._reject_writer is None:
            self._reject_handle = open(self.reject_path, "w", encoding="utf-8-sig", newline="")
            self._reject_writer = csv.writer(self._reject_handle)
            self._reject_writer.writerow(["Dòng", "Lý do", *self.header])
        self._reject_writer.writerow([row.line, reason, *("" if c is None else c for c in row.cells)])

    def _flush_chunk(self, batch: list[Row], run: PatientImportRun | None, rows_done: int, final: bool = False) -> None:
        session = self.session
        valid: list[tuple[Row, dict[str, Any]]] = []
        for row in batch:
            self.report.rows += 1
            try:
                clean_values = validate_row(row.values, self.today)
            except StationError as error:
                self._reject(row, error.message)
                continue
            valid.append((row, clean_values))
        existing = self._lookup(valid)
        if self.dry_run:
            for row, values in valid:
                key = self._key(values)
                if existing.get(id(row)) is not None or (key is not None and key in self._seen):
                    self.report.updated += 1
                else:
                    self.report.created += 1
                if key is not None:
                    self._seen[key] = None
            session.rollback()
            return
        self._write(valid, existing)
        assert run is not None
        run.rows_done = rows_done
        run.created_count, run.updated_count = self.report.created, self.report.updated
        run.rejected_count = self.report.rejected
        if final:
            run.status, run.finished_at = "done", now_utc()
        session.commit()

    @staticmethod
    def _key(values: dict[str, Any]) -> tuple[str, str] | None:
        idents = values["_idents"]
        for kind in ("cccd", "bhxh"):
            if kind in idents:
                return kind, idents[kind]
        if values["_code"]:
            return "code", values["_code"]
        return "name", f"{fold(values['full_name'])}|{values['birth_date'].isoformat()}|{values['sex']}"

    def _lookup(self, valid: list[tuple[Row, dict[str, Any]]]) -> dict[int, uuid.UUID | None]:
        """Find the existing patient of each row in a few IN queries (CCCD, BHXH, code, name)."""
        session = self.session
        by_kind: dict[str, set[str]] = {"cccd": set(), "bhxh": set()}
        codes, names = set(), set()
        for _, values in valid:
            for kind in by_kind:
                if kind in values["_idents"]:
                    by_kind[kind].add(values["_idents"][kind])
            if values["_code"]:
                codes.add(values["_code"])
            names.add(fold(values["full_name"]))
        found: dict[tuple[str, str], uuid.UUID] = {}
        for kind, wanted in by_kind.items():
            for part in _chunks(sorted(wanted), 900):
                for pid, value, status in session.execute(select(
                        PatientIdentifier.patient_id, PatientIdentifier.value, PatientIdentifier.status).where(
                        PatientIdentifier.kind == kind, PatientIdentifier.value.in_(part))):
                    if status == "active" or (kind, value) not in found:
                        found[(kind, value)] = pid
        for part in _chunks(sorted(codes), 900):
            for pid, code in session.execute(select(Patient.id, Patient.code).where(Patient.code.in_(part))):
                found[("code", code)] = pid
        for part in _chunks(sorted(names), 900):
            for pid, name, birth, sex in session.execute(select(Patient.id, Patient.name_folded, Patient.birth_date,
                                                                Patient.sex).where(Patient.name_folded.in_(part),
                                                                                   Patient.status != "merged")):
                found.setdefault(("name", f"{name}|{birth.isoformat()}|{sex}"), pid)
        result: dict[int, uuid.UUID | None] = {}
        for row, values in valid:
            idents = values["_idents"]
            pid = None
            for kind in ("cccd", "bhxh"):
                if pid is None and kind in idents:
                    pid = found.get((kind, idents[kind]))
            if pid is None and values["_code"]:
                pid = found.get(("code", values["_code"]))
            if pid is None and "cccd" not in idents:
                # A name match only when the row brings no CCCD that could tell them apart.
                pid = found.get(("name", f"{fold(values['full_name'])}|{values['birth_date'].isoformat()}|{values['sex']}"))
            result[id(row)] = pid
        return result

    def _write(self, valid: list[tuple[Row, dict[str, Any]]], existing: dict[int, uuid.UUID | None]) -> None:
        session = self.session
        now = now_utc()
        new_rows: list[dict[str, Any]] = []
        new_idents: list[dict[str, Any]] = []
        new_cards: list[dict[str, Any]] = []
        tokens: list[dict[str, Any]] = []
        updates: list[tuple[uuid.UUID, dict[str, Any], dict[str, Any]]] = []
        created_ids: list[uuid.UUID] = []
        in_chunk: dict[tuple[str, str], uuid.UUID] = {}
        pending_new = [(row, values) for row, values in valid if existing.get(id(row)) is None]
        codes = iter(_reserve_codes(session, self.prefix, len(pending_new))) if pending_new else iter(())
        for row, values in valid:
            key = self._key(values)
            pid = existing.get(id(row)) or (in_chunk.get(key) if key else None)
            if pid is None:
                pid = uuid.uuid4()
                record = {c: values.get(c, "") for c in PATIENT_COLUMNS}
                record.update(id=pid, code=next(codes), name_folded=fold(values["full_name"]), version=1,
                              created_at=now, updated_at=now, managing_facility=self.prefix)
                new_rows.append(record)
                tokens.extend(token_rows(pid, values["full_name"]))
                for kind, value in values["_idents"].items():
                    new_idents.append({"id": uuid.uuid4(), "patient_id": pid, "kind": kind, "value": value,
                                       "status": "active", "source": "import", "created_at": now, "updated_at": now})
                if values.get("_card"):
                    new_cards.append(self._card_row(pid, values, now))
                created_ids.append(pid)
                self.report.created += 1
                if key:
                    in_chunk[key] = pid
            else:
                updates.append((pid, values, {}))
                if key:
                    in_chunk[key] = pid
        session.flush()
        if new_rows:
            session.execute(insert(Patient.__table__), new_rows)
            session.execute(insert(PatientNameToken.__table__), tokens)
        if new_idents:
            session.execute(insert(PatientIdentifier.__table__), new_idents)
        if new_cards:
            session.execute(insert(BhytCard.__table__), new_cards)
        changed_ids = self._apply_updates(updates, now)
        log_rows = [{"entity": "Patient", "entity_id": str(pid), "op": "upsert", "version": version,
                     "txn_id": str(uuid.uuid4()), "changed_at": now}
                    for pid, version in [(p, 1) for p in created_ids] + changed_ids]
        if log_rows:
            txn = str(uuid.uuid4())
            for row in log_rows:
                row["txn_id"] = txn
            lock_for_append(session, "change_log")
            session.execute(insert(ChangeLog), log_rows)
        if created_ids or changed_ids:
            audit.record(session, self.actor, "patient.import", entity_type="patient_import",
                         entity_id=self.path.name[:60],
                         detail={"created": [str(p) for p in created_ids], "updated": [str(p) for p, _ in changed_ids]})

    def _card_row(self, pid: uuid.UUID, values: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"id": uuid.uuid4(), "patient_id": pid, "card_code": values["_card"], "valid_from": None,
                "valid_to": values.get("_card_valid_to"), "registered_facility": values.get("_card_facility", ""),
                "five_years_on": None, "area_code": "", "benefit_percent": None, "verified_at": None,
                "created_at": now, "updated_at": now}

    def _apply_updates(self, updates: list[tuple[uuid.UUID, dict[str, Any], dict[str, Any]]],
                       now: datetime) -> list[tuple[uuid.UUID, int]]:
        """Set the file's non-empty values on existing records; only real changes are written and logged."""
        if not updates:
            return []
        session = self.session
        ids = list({pid for pid, _, _ in updates})
        current: dict[uuid.UUID, dict[str, Any]] = {}
        for part in _chunks(ids, 900):
            for row in session.execute(select(Patient.__table__).where(Patient.id.in_(part))).mappings():
                current[row["id"]] = dict(row)
        idents: dict[uuid.UUID, set[tuple[str, str]]] = {}
        cards: dict[uuid.UUID, set[str]] = {}
        for part in _chunks(ids, 900):
            for pid, kind, value in session.execute(select(PatientIdentifier.patient_id, PatientIdentifier.kind,
                                                           PatientIdentifier.value).where(
                    PatientIdentifier.patient_id.in_(part))):
                idents.setdefault(pid, set()).add((kind, value))
            for pid, code in session.execute(select(BhytCard.patient_id, BhytCard.card_code).where(
                    BhytCard.patient_id.in_(part))):
                cards.setdefault(pid, set()).add(code)
        changed: dict[uuid.UUID, int] = {}
        for pid, values, _ in updates:
            row = current.get(pid)
            if row is None:
                continue
            diff = {c: values[c] for c in PATIENT_COLUMNS if values.get(c) not in (None, "") and row[c] != values[c]}
            if diff.get("full_name"):
                diff["name_folded"] = fold(diff["full_name"])
            if diff:
                version = row["version"] + 1
                session.execute(update(Patient.__table__).where(Patient.id == pid).values(
                    **diff, version=version, updated_at=now))
                row.update(diff, version=version)
                if "full_name" in diff:
                    session.execute(PatientNameToken.__table__.delete().where(PatientNameToken.patient_id == pid))
                    session.execute(insert(PatientNameToken.__table__), token_rows(pid, diff["full_name"]))
                changed[pid] = version
            have = idents.setdefault(pid, set())
            for kind, value in values["_idents"].items():
                if (kind, value) not in have:
                    has_active_kind = any(k == kind for k, _ in have)
                    session.execute(insert(PatientIdentifier.__table__), [{
                        "id": uuid.uuid4(), "patient_id": pid, "kind": kind, "value": value,
                        "status": "active" if not has_active_kind else "active", "source": "import",
                        "created_at": now, "updated_at": now}])
                    if has_active_kind:
                        session.execute(update(PatientIdentifier.__table__).where(
                            PatientIdentifier.patient_id == pid, PatientIdentifier.kind == kind,
                            PatientIdentifier.value != value, PatientIdentifier.status == "active").values(
                            status="cancelled" if kind == "cccd" else "replaced", valid_to=self.today))
                    have.add((kind, value))
                    changed.setdefault(pid, row["version"])
            if values.get("_card") and values["_card"] not in cards.setdefault(pid, set()):
                session.execute(insert(BhytCard.__table__), [self._card_row(pid, values, now)])
                cards[pid].add(values["_card"])
                changed.setdefault(pid, row["version"])
            if pid in changed:
                self.report.updated += 1
            else:
                self.report.unchanged += 1
        return list(changed.items())


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_file(session: Session, path: Path | str, *, actor: Actor, mapping: str = "", dry_run: bool = False,
                reject_path: Path | str | None = None, today: date | None = None,
                on_progress: Callable[[int], None] | None = None, chunk: int = CHUNK) -> ImportReport:
    """Import *path*; commits per chunk (see the module docstring). Returns the report."""
    importer = Importer(session, Path(path), actor=actor, mapping=mapping, dry_run=dry_run,
                        reject_path=Path(reject_path) if reject_path else None, today=today, chunk=chunk)
    return importer.run(on_progress)


def report_json(report: ImportReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
