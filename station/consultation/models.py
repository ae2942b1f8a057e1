"""The consultation of a visit: clinical note, ICD-10 diagnoses, signed versions, drafts,
services ordered, referral and follow-up appointment.

A consultation is signed once (the doctor completes it, the visit becomes "completed");
every later change is an *amendment* with a reason, and every signed state is kept as a
:class:`ConsultationRevision` snapshot, so earlier versions stay visible.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from station.db import UUIDMixin
from station.extensions import db
from station.sync.capture import Synced


class Consultation(Synced, db.Model):
    """The doctor's note of one visit (phiếu khám bệnh), one per visit."""

    __tablename__ = "consultations"
    __sync_entity__ = "ClinicalImpression"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    doctor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    #: "draft" (being written) or "signed" (completed; later changes are amendments).
    status: Mapped[str] = mapped_column(String(10), default="draft")
    #: Reason for the visit (LY_DO_VV).
    reason: Mapped[str] = mapped_column(String(500), default="")
    #: History of the present illness (bệnh sử).
    history: Mapped[str] = mapped_column(Text, default="")
    #: Examination findings (khám lâm sàng).
    examination: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Treatment outcome KET_QUA_DTRI, a string code ("1" cured ... "8").
    outcome_code: Mapped[str] = mapped_column(String(2), default="")
    #: Discharge type MA_LOAI_RV, a string code ("1" discharged, "2"/"5" referred ...).
    discharge_code: Mapped[str] = mapped_column(String(2), default="")
    #: Doctor's advice (lời dặn, XML1 GHI_CHU).
    advice: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    #: Name of the ICD-10 catalogue version the codes were validated against.
    icd_version: Mapped[str] = mapped_column(String(60), default="")
    signed_at: Mapped[datetime | None]
    signed_by: Mapped[str] = mapped_column(String(64), default="")
    #: Number of the current signed revision (0 while a draft).
    revision: Mapped[int] = mapped_column(Integer, default=0)

    diagnoses: Mapped[list["ConsultationDiagnosis"]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan", order_by="ConsultationDiagnosis.position")
    revisions: Mapped[list["ConsultationRevision"]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan", order_by="ConsultationRevision.number")

    @property
    def main_diagnosis(self) -> "ConsultationDiagnosis | None":
        """Return the main diagnosis (position 0), if any."""
        return next((d for d in self.diagnoses if d.position == 0), None)

    @property
    def secondary_diagnoses(self) -> list["ConsultationDiagnosis"]:
        """Return the secondary diagnoses in order."""
        return [d for d in self.diagnoses if d.position > 0]


class ConsultationDiagnosis(UUIDMixin, db.Model):
    """One ICD-10 diagnosis: position 0 is the main one (MA_BENH_CHINH), 1..12 secondary (MA_BENH_KT)."""

    __tablename__ = "consultation_diagnoses"
    __sync_parent__ = "consultation"
    __table_args__ = (UniqueConstraint("consultation_id", "position", name="uq_consultation_diagnoses_position"),)

    consultation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("consultations.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    #: Dotted display code ("J06.9").
    icd10_code: Mapped[str] = mapped_column(String(8), index=True)
    title: Mapped[str] = mapped_column(String(300))

    consultation: Mapped[Consultation] = relationship(back_populates="diagnoses")


class ConsultationRevision(UUIDMixin, db.Model):
    """A signed state of a consultation: number 1 at completion, then one per amendment."""

    __tablename__ = "consultation_revisions"
    __sync_parent__ = "consultation"
    __table_args__ = (UniqueConstraint("consultation_id", "number", name="uq_consultation_revisions_number"),)

    consultation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("consultations.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    #: "signed" (completion) or "amendment".
    kind: Mapped[str] = mapped_column(String(10))
    #: JSON of every clinical field and the diagnoses as they were at that revision.
    snapshot: Mapped[str] = mapped_column(Text)
    #: Why the amendment was made ("" for the first signature).
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(120), default="")

    consultation: Mapped[Consultation] = relationship(back_populates="revisions")


class ConsultationDraft(UUIDMixin, db.Model):
    """Text typed but not yet saved, autosaved per visit and user, restored after re-login."""

    __tablename__ = "consultation_drafts"
    __table_args__ = (UniqueConstraint("visit_id", "user_id", name="uq_consultation_drafts_visit_user"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    #: JSON object of form field -> text.
    payload: Mapped[str] = mapped_column(Text)
    #: The consultation version the draft was typed on (for the conflict check on restore).
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    saved_at: Mapped[datetime]


class ServiceOrder(Synced, db.Model):
    """A procedure or test ordered for a visit from the station's service list (billing reads these)."""

    __tablename__ = "service_orders"
    __sync_entity__ = "ServiceRequest"
    __table_args__ = (Index("ix_service_orders_visit_status", "visit_id", "status"),)

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"))
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    service_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("service_items.id"))
    #: Snapshot of the catalogue row at ordering time.
    service_code: Mapped[str] = mapped_column(String(30))
    service_name: Mapped[str] = mapped_column(String(255))
    bhyt_code: Mapped[str] = mapped_column(String(40), default="")
    unit: Mapped[str] = mapped_column(String(20), default="Lần")
    #: Current catalogue price when ordered (billing recomputes from its dated price lists).
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    #: "ordered", "done" or "cancelled".
    status: Mapped[str] = mapped_column(String(10), default="ordered")
    #: ICD-10 code the service is ordered for (XML3 MA_BENH), usually the main diagnosis.
    icd10_code: Mapped[str] = mapped_column(String(8), default="")
    note: Mapped[str] = mapped_column(String(255), default="")
    ordered_at: Mapped[datetime]
    ordered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    cancelled_reason: Mapped[str] = mapped_column(String(255), default="")


class Referral(Synced, db.Model):
    """Phiếu chuyển cơ sở khám bệnh, chữa bệnh (TT 01/2025/TT-BYT Đ12, Phụ lục VI), kept as data."""

    __tablename__ = "referrals"
    __sync_entity__ = "Referral"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    #: Referral number (số phiếu, XML1 GIAY_CHUYEN_TUYEN), gap-free per year.
    number: Mapped[str] = mapped_column(String(30), unique=True)
    #: Destination facility code (MA_NOI_DEN, 5 characters) and name.
    destination_code: Mapped[str] = mapped_column(String(5), default="")
    destination_name: Mapped[str] = mapped_column(String(200))
    #: "professional" (MA_LOAI_RV 2) or "patient_request" (MA_LOAI_RV 5).
    reason_kind: Mapped[str] = mapped_column(String(16), default="professional")
    reason: Mapped[str] = mapped_column(Text)
    #: Clinical signs and test findings (dấu hiệu lâm sàng, kết quả cận lâm sàng).
    findings: Mapped[str] = mapped_column(Text, default="")
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    #: Drugs and treatment given (thuốc đã dùng, phương pháp điều trị).
    treatment_given: Mapped[str] = mapped_column(Text, default="")
    condition_at_transfer: Mapped[str] = mapped_column(Text, default="")
    transport: Mapped[str] = mapped_column(String(120), default="")
    accompanying_staff: Mapped[str] = mapped_column(String(200), default="")
    issued_on: Mapped[date] = mapped_column(Date)
    #: Last day of validity: 10 working days after signing (or 1 year for PL III conditions).
    valid_until: Mapped[date] = mapped_column(Date)
    signed_by: Mapped[str] = mapped_column(String(64), default="")
    signer_name: Mapped[str] = mapped_column(String(120), default="")


class FollowUpAppointment(Synced, db.Model):
    """Giấy hẹn khám lại (TT 01/2025/TT-BYT Đ11, Phụ lục V): one per treatment episode."""

    __tablename__ = "follow_up_appointments"
    __sync_entity__ = "Appointment"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    #: Slip number (số giấy hẹn, XML14 SO_GIAYHEN_KL), gap-free per year.
    number: Mapped[str] = mapped_column(String(30), unique=True)
    appointment_on: Mapped[date] = mapped_column(Date, index=True)
    #: Free time text ("07:30", "buổi sáng").
    appointment_time: Mapped[str] = mapped_column(String(20), default="")
    room_code: Mapped[str] = mapped_column(String(10), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    #: "booked", "attended", "cancelled".
    status: Mapped[str] = mapped_column(String(10), default="booked")
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(64), default="")
