"""A visit (lượt khám, one MA_LK) and the observations recorded during it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from station.extensions import db
from station.patients.models import BhytCard, Patient
from station.sync.capture import Synced


class Visit(Synced, db.Model):
    """One episode of care at the station, from check-in to completion."""

    __tablename__ = "visits"
    __sync_entity__ = "Encounter"
    __table_args__ = (Index("ix_visits_patient_arrived", "patient_id", "arrived_at"),)

    #: The unique visit key (MA_LK) that links every XML table of the claim.
    visit_key: Mapped[str] = mapped_column(String(50), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    #: Visit type (MA_LOAI_KCB), a string code: "01" outpatient examination.
    visit_type: Mapped[str] = mapped_column(String(2), default="01")
    #: Insurance object type (MA_DOITUONG_KCB), e.g. "1.1"; "" for a patient without insurance.
    insurance_object_type: Mapped[str] = mapped_column(String(6), default="")
    bhyt_card_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("bhyt_cards.id"))
    #: "uninsured", "verified", "to_verify" (portal unreachable: retried later) or "rejected".
    eligibility: Mapped[str] = mapped_column(String(10), default="uninsured")
    eligibility_note: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(String(255), default="")
    #: Room code where the patient is seen, e.g. "PK1".
    room_code: Mapped[str] = mapped_column(String(10), default="")
    #: "open" (checked in), "in_consultation", "completed", "cancelled".
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    arrived_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    doctor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    #: "reception", "kiosk" or "manual".
    channel: Mapped[str] = mapped_column(String(10), default="reception")
    note: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[Patient] = relationship()
    bhyt_card: Mapped[BhytCard | None] = relationship()
    observations: Mapped[list["Observation"]] = relationship(back_populates="visit", order_by="Observation.recorded_at")


class Observation(Synced, db.Model):
    """One measured value (vital sign) of a visit, coded in LOINC for the FHIR feed."""

    __tablename__ = "observations"
    __sync_entity__ = "Observation"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    #: Station key: "pulse", "bp_systolic", "bp_diastolic", "temperature", "resp_rate", "spo2",
    #: "height", "weight", "bmi".
    kind: Mapped[str] = mapped_column(String(16))
    #: LOINC code of the kind (8867-4 heart rate, 8480-6 systolic ...).
    loinc: Mapped[str] = mapped_column(String(10))
    value: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    #: UCUM unit: "/min", "mm[Hg]", "Cel", "%", "cm", "kg", "kg/m2".
    unit: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(64), default="")
    #: Set when this value replaces an earlier one (corrections keep history).
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("observations.id"))

    visit: Mapped[Visit] = relationship(back_populates="observations")
