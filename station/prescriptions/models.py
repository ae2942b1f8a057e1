"""Outpatient prescriptions (TT 26/2025/TT-BYT): a draft is edited, an issued one never changes.

The immutability of an issued prescription is enforced twice: by the services (clear message)
and by a ``before_flush`` guard below, so no code path can UPDATE or DELETE an issued
prescription or its lines. A correction is a new prescription whose ``replaces_id`` links the
old one (the old row is left exactly as issued).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint, Uuid, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from station.db import UUIDMixin
from station.errors import Conflict
from station.extensions import db
from station.prescriptions.rules import RULE_IMMUTABLE
from station.sync.capture import Synced


class Prescription(Synced, db.Model):
    """One prescription (đơn thuốc) of a visit."""

    __tablename__ = "prescriptions"
    __sync_entity__ = "MedicationRequest"

    #: ``xxxxxyyyyyyy-z`` (TT 26 PL I), drawn with the CSPRNG at issue; NULL while a draft.
    code: Mapped[str | None] = mapped_column(String(14), unique=True)
    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    prescriber_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    prescriber_name: Mapped[str] = mapped_column(String(120), default="")
    facility_code: Mapped[str] = mapped_column(String(5), default="")
    #: "N", "H", "C" or "T".
    prescription_type: Mapped[str] = mapped_column(String(1), default="C")
    #: "draft" or "issued".
    status: Mapped[str] = mapped_column(String(8), default="draft", index=True)
    prescribed_on: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime | None]
    #: Diagnoses as printed ("J06.9 - Viêm đường hô hấp trên cấp; I10 - ...") and their codes (";").
    diagnosis_text: Mapped[str] = mapped_column(Text, default="")
    diagnosis_codes: Mapped[str] = mapped_column(String(120), default="")
    advice: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    #: Child under 72 months: age in months, weight, accompanying person (TT 26 Đ6).
    age_months: Mapped[int | None] = mapped_column(Integer)
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    companion_name: Mapped[str] = mapped_column(String(120), default="")
    companion_id_number: Mapped[str] = mapped_column(String(20), default="")
    #: Forms N and H: the person who receives the drugs.
    receiver_name: Mapped[str] = mapped_column(String(120), default="")
    chronic_treatment: Mapped[bool] = mapped_column(Boolean, default=False)
    #: JSON list of {key, rule, message, reason}: safety alerts the prescriber overrode.
    overrides: Mapped[str] = mapped_column(Text, default="[]")
    #: The issued prescription this one corrects, and why.
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("prescriptions.id"))
    replacement_reason: Mapped[str] = mapped_column(Text, default="")

    lines: Mapped[list["PrescriptionItem"]] = relationship(
        back_populates="prescription", cascade="all, delete-orphan", order_by="PrescriptionItem.position")
    replaces: Mapped["Prescription | None"] = relationship(remote_side="Prescription.id")


class PrescriptionItem(UUIDMixin, db.Model):
    """One drug line, with the catalogue data copied at prescribing time."""

    __tablename__ = "prescription_items"
    __sync_parent__ = "prescription"
    __table_args__ = (UniqueConstraint("prescription_id", "position", name="uq_prescription_items_position"),)

    prescription_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("prescriptions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    drug_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("drugs.id"), index=True)
    #: Name as printed: INN for a single ingredient, brand for combinations/biologics.
    display_name: Mapped[str] = mapped_column(String(255))
    inn: Mapped[str] = mapped_column(String(255))
    brand_name: Mapped[str] = mapped_column(String(200), default="")
    strength: Mapped[str] = mapped_column(String(100), default="")
    dosage_form: Mapped[str] = mapped_column(String(60), default="")
    unit: Mapped[str] = mapped_column(String(20))
    route: Mapped[str] = mapped_column(String(40))
    dose_per_time: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    times_per_day: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    #: dose × times × days, rounded up for countable units (rules.compute_quantity).
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    #: When to take it: "Sau ăn", "Trước ăn 30 phút", "Sáng - Chiều".
    timing: Mapped[str] = mapped_column(String(120), default="")
    instructions: Mapped[str] = mapped_column(String(255), default="")
    bhyt_code: Mapped[str] = mapped_column(String(40), default="")
    registration_number: Mapped[str] = mapped_column(String(40), default="")
    #: Catalogue price when prescribed (billing prices from its dated lists).
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))

    prescription: Mapped[Prescription] = relationship(back_populates="lines")


class ImmutablePrescription(Conflict):
    """An issued prescription (or one of its lines) was about to be changed."""


def _committed_status(prescription: Prescription) -> str | None:
    """Return the status as loaded from the database (None for a new object)."""
    state = inspect(prescription)
    if state.transient or state.pending:
        return None
    history = state.attrs.status.history
    if history.deleted:
        return history.deleted[0]
    return prescription.status


def _changed(obj: object) -> bool:
    """Return True when a column or relationship of *obj* has a net change."""
    return any(attr.history.has_changes() for attr in inspect(obj).attrs)


def _refuse(prescription: Prescription | None) -> None:
    code = prescription.code if prescription is not None else ""
    raise ImmutablePrescription(f"Đơn thuốc {code} đã phát hành, không được sửa hay xóa ({RULE_IMMUTABLE}). "
                                "Hãy kê đơn mới thay thế đơn này.")


@event.listens_for(Session, "before_flush")
def _guard_issued(session: Session, flush_context: Any, instances: Any) -> None:
    """Refuse any UPDATE/DELETE of an issued prescription and any change to its lines."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Prescription):
            if _committed_status(obj) == "issued" and (obj in session.deleted or _changed(obj)):
                _refuse(obj)
        elif isinstance(obj, PrescriptionItem):
            parent = obj.prescription
            if parent is not None and _committed_status(parent) == "issued" and (
                    obj in session.deleted or _changed(obj)):
                _refuse(parent)
    for obj in session.new:
        if isinstance(obj, PrescriptionItem) and obj.prescription is not None \
                and _committed_status(obj.prescription) == "issued":
            _refuse(obj.prescription)
