"""Merging a duplicate record into the one that is kept (admin only).

Everything attached to the merged record moves to the survivor: every column of
every table that references ``patients.id`` is found in ``db.metadata``, so
tables added later by other areas (visits, prescriptions, invoices...) move
without editing this module. Mapped rows are moved through the ORM so synced
entities get a new version and a change-log row; unmapped tables by one UPDATE.

Exceptions: one-per-patient rows (a unique ``patient_id``, e.g. risk factors) move
only when the survivor has none; otherwise the survivor's row is kept and the
merged record keeps its own (nothing is deleted), which the summary reports.
The merged record gets status "merged" and ``merged_into_id``; its page
redirects to the survivor. A PatientMerge row and an audit event record it all.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import Column, Table, func, select, update
from sqlalchemy.orm import Session

from station.audit import services as audit
from station.audit.services import Actor
from station.clock import Clock
from station.errors import ValidationFailed
from station.extensions import db
from station.patients.models import Patient, PatientMerge, PatientNameToken
from station.patients.services import TEXT_FIELDS
from station.text import clean

#: Columns that point at patients.id but are about the merge itself, not data to move.
SKIP = {("patients", "merged_into_id"), ("patient_merges", "survivor_id"), ("patient_merges", "merged_id"),
        ("patient_name_tokens", "patient_id")}
#: Administrative fields copied from the merged record when the survivor's is empty.
FILL_BLANKS = ("ethnicity_code", "occupation_code", "blood_group", "blood_rh", "province_code", "commune_code",
               "phone", "emergency_phone", "guardian_phone", "guardian_id_number", *TEXT_FIELDS)


def patient_references() -> list[tuple[Table, Column]]:
    """Every (table, column) with a foreign key to ``patients.id``, from the metadata."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if (table.name, column.name) in SKIP:
                continue
            if any(fk.column.table.name == "patients" and fk.column.name == "id" for fk in column.foreign_keys):
                found.append((table, column))
    return found


def _is_unique(table: Table, column: Column) -> bool:
    if column.unique or column.primary_key:
        return True
    for constraint in table.constraints:
        cols = getattr(constraint, "columns", None)
        if cols is not None and constraint.__class__.__name__ == "UniqueConstraint" and list(cols) == [column]:
            return True
    return any(ix.unique and list(ix.columns) == [column] for ix in table.indexes)


def _mapper_for(table: Table) -> Any:
    for mapper in db.Model.registry.mappers:
        if table in mapper.tables and len(mapper.tables) == 1:
            return mapper
    return None


def merge_patients(session: Session, survivor: Patient, merged: Patient, *, actor: Actor, reason: str,
                   clock: Clock | None = None) -> PatientMerge:
    """Move everything of *merged* to *survivor* and mark *merged*; flush, audit, return the review row."""
    reason = clean(reason)
    if survivor.id == merged.id:
        raise ValidationFailed("Không thể gộp một hồ sơ vào chính nó.")
    if merged.status == "merged" or survivor.status == "merged":
        raise ValidationFailed("Một trong hai hồ sơ đã được gộp trước đó; hãy chọn hồ sơ còn lại.")
    if len(reason) < 5:
        raise ValidationFailed("Cần ghi lý do gộp hồ sơ (ít nhất 5 ký tự).", field="reason")
    session.flush()
    moved: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    for table, column in patient_references():
        if _is_unique(table, column):
            taken = session.scalar(select(func.count()).select_from(table).where(column == survivor.id))
            if taken:
                if session.scalar(select(func.count()).select_from(table).where(column == merged.id)):
                    kept[table.name] += 1
                continue
        mapper = _mapper_for(table)
        if mapper is not None:
            attr = mapper.get_property_by_column(column).key
            rows = session.scalars(select(mapper.class_).where(column == merged.id)).all()
            for row in rows:
                setattr(row, attr, survivor.id)
            count = len(rows)
        else:
            count = session.execute(update(table).where(column == merged.id).values({column.name: survivor.id})).rowcount
        if count:
            moved[table.name] += count
    session.flush()
    # Relationship collections loaded before the move are stale now.
    session.expire(survivor)
    session.expire(merged)
    _dedupe_identifiers(session, survivor)
    for name in FILL_BLANKS:
        if not getattr(survivor, name) and getattr(merged, name):
            setattr(survivor, name, getattr(merged, name))
    if survivor.birth_precision != "day" and merged.birth_precision == "day" and \
            merged.birth_year == survivor.birth_year:
        survivor.birth_date, survivor.birth_precision = merged.birth_date, "day"
    declared = set(filter(None, survivor.none_declared.split(","))) | set(filter(None, merged.none_declared.split(",")))
    survivor.none_declared = ",".join(sorted(declared))
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    session.execute(PatientNameToken.__table__.delete().where(PatientNameToken.patient_id == merged.id))
    summary = {"moved": dict(moved), "kept_on_merged": dict(kept)}
    record = PatientMerge(survivor_id=survivor.id, merged_id=merged.id, merged_by=actor.label, reason=reason,
                          moved=json.dumps(summary, ensure_ascii=False, sort_keys=True))
    session.add(record)
    session.flush()
    audit.record(session, actor, "patient.merge", entity_type="patient", entity_id=survivor.id,
                 detail={"merged": str(merged.id), **summary}, clock=clock)
    return record


def _dedupe_identifiers(session: Session, survivor: Patient) -> None:
    """After a move, two active rows with the same kind/value (or kind) keep the survivor's first."""
    seen_values: set[tuple[str, str]] = set()
    active_kinds: set[str] = set()
    for ident in sorted(survivor.identifiers, key=lambda i: (i.status != "active", i.created_at)):
        key = (ident.kind, ident.value)
        if key in seen_values or (ident.status == "active" and ident.kind in active_kinds and ident.kind != "passport"):
            if ident.status == "active":
                ident.status = "replaced"
        seen_values.add(key)
        if ident.status == "active":
            active_kinds.add(ident.kind)


def merges(session: Session, limit: int = 200) -> list[PatientMerge]:
    """The latest merges, for the review page."""
    return list(session.scalars(select(PatientMerge).order_by(PatientMerge.created_at.desc()).limit(limit)))
