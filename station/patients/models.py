"""The resident's electronic health record (hồ sơ sức khỏe điện tử).

Sections follow the personal health record template (QĐ 831/QĐ-BYT) and the
field groups of the electronic health book (QĐ 1332, QĐ 31/2026), see
DOMAIN.md §4: administrative data, identifiers with history, BHYT cards,
history (allergies, chronic conditions, surgeries, family, risk factors,
disabilities, reproductive history, conditions at birth) and vaccinations.
Every clinical fact is a typed column, never free text alone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, Uuid, delete, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from station.db import TimestampMixin, UUIDMixin
from station.extensions import db
from station.sync.capture import Synced
from station.text import fold


class Household(Synced, db.Model):
    """A household (hộ gia đình) as registered in the commune."""

    __tablename__ = "households"
    __sync_entity__ = "Group"

    #: Household code in the commune's register, if any.
    code: Mapped[str] = mapped_column(String(40), default="", index=True)
    head_name: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(300), default="")

    members: Mapped[list["Patient"]] = relationship(back_populates="household")


class Patient(Synced, db.Model):
    """One resident: the administrative part of the health record."""

    __tablename__ = "patients"
    __sync_entity__ = "Patient"
    __table_args__ = (Index("ix_patients_birth_year_name", "birth_year", "name_folded"),)

    #: The station's own patient code (mã bệnh nhân), e.g. "01001-0000123".
    code: Mapped[str] = mapped_column(String(20), unique=True)
    #: Full name in NFC with diacritics, as on the ID card.
    full_name: Mapped[str] = mapped_column(String(120))
    #: Name without diacritics, lower case: the search key (station.text.fold).
    name_folded: Mapped[str] = mapped_column(String(120), index=True)
    #: Date of birth; for year-only or month/year births the first day of the period.
    birth_date: Mapped[date] = mapped_column(Date)
    #: How much of birth_date is known: "day", "month" or "year".
    birth_precision: Mapped[str] = mapped_column(String(5), default="day")
    birth_year: Mapped[int] = mapped_column(Integer)
    #: "male", "female" or "undetermined".
    sex: Mapped[str] = mapped_column(String(12))
    #: Ethnic group code of the official list of 54 groups ("01" Kinh ...), a string.
    ethnicity_code: Mapped[str] = mapped_column(String(4), default="")
    #: Nationality code as in XML (MA_QUOCTICH, "000" = Vietnam), a string.
    nationality_code: Mapped[str] = mapped_column(String(3), default="000")
    occupation: Mapped[str] = mapped_column(String(120), default="")
    #: Occupation code of the national list (MA_NGHE_NGHIEP), a string.
    occupation_code: Mapped[str] = mapped_column(String(5), default="")
    religion: Mapped[str] = mapped_column(String(60), default="")
    #: "A", "B", "AB", "O" or "" when unknown.
    blood_group: Mapped[str] = mapped_column(String(2), default="")
    #: "+", "-" or "" when unknown.
    blood_rh: Mapped[str] = mapped_column(String(1), default="")
    #: Place of birth registration (nơi đăng ký khai sinh), free text.
    birth_registration_place: Mapped[str] = mapped_column(String(200), default="")
    # Address: post-2025 two-tier units plus street and hamlet.
    province_code: Mapped[str] = mapped_column(String(3), default="")
    commune_code: Mapped[str] = mapped_column(String(5), default="", index=True)
    hamlet: Mapped[str] = mapped_column(String(120), default="")  #: thôn / tổ dân phố
    street: Mapped[str] = mapped_column(String(200), default="")  #: house number and street
    #: Address as printed on the ID card (kept verbatim from the QR).
    card_address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    email: Mapped[str] = mapped_column(String(120), default="")
    emergency_name: Mapped[str] = mapped_column(String(120), default="")
    emergency_relation: Mapped[str] = mapped_column(String(60), default="")
    emergency_phone: Mapped[str] = mapped_column(String(20), default="")
    #: Guardian or legal representative (children, people without capacity).
    guardian_name: Mapped[str] = mapped_column(String(120), default="")
    guardian_relation: Mapped[str] = mapped_column(String(60), default="")
    guardian_phone: Mapped[str] = mapped_column(String(20), default="")
    guardian_id_number: Mapped[str] = mapped_column(String(12), default="")
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("households.id"))
    #: Relation to the household head ("chủ hộ", "vợ", "con", ...).
    household_relation: Mapped[str] = mapped_column(String(40), default="")
    #: Facility that manages this record (QĐ 1332 field 9): a facility code.
    managing_facility: Mapped[str] = mapped_column(String(5), default="")
    #: "active", "merged" (see merged_into_id) or "deceased".
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("patients.id"))
    deceased_on: Mapped[date | None] = mapped_column(Date)
    #: Free notes on the record ("other problems" of the template).
    notes: Mapped[str] = mapped_column(Text, default="")
    #: History sections the staff confirmed as "none" (comma-separated keys of
    #: station.patients.completeness.DECLARABLE, e.g. "allergies,surgeries"),
    #: so that "no known allergy" counts as filled while an unasked one does not.
    none_declared: Mapped[str] = mapped_column(String(120), default="", server_default="")

    household: Mapped[Household | None] = relationship(back_populates="members")
    identifiers: Mapped[list["PatientIdentifier"]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="PatientIdentifier.created_at")
    bhyt_cards: Mapped[list["BhytCard"]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="BhytCard.valid_to.desc().nulls_last()")
    allergies: Mapped[list["Allergy"]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    conditions: Mapped[list["ChronicCondition"]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    surgeries: Mapped[list["Surgery"]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    family_history: Mapped[list["FamilyHistory"]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    disabilities: Mapped[list["Disability"]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    risk_factors: Mapped["RiskFactors | None"] = relationship(back_populates="patient", cascade="all, delete-orphan")
    reproductive: Mapped["ReproductiveHistory | None"] = relationship(back_populates="patient", cascade="all, delete-orphan")
    birth_conditions: Mapped["BirthConditions | None"] = relationship(back_populates="patient", cascade="all, delete-orphan")
    vaccinations: Mapped[list["Vaccination"]] = relationship(back_populates="patient", cascade="all, delete-orphan",
                                                             order_by="Vaccination.given_on")

    def active_identifier(self, kind: str) -> str | None:
        """Return the value of the active identifier of *kind* ("cccd", "cmnd", ...)."""
        for ident in self.identifiers:
            if ident.kind == kind and ident.status == "active":
                return ident.value
        return None

    def __repr__(self) -> str:
        return f"<Patient {self.code}>"


class PatientNameToken(db.Model):
    """One folded word of a patient's name: the name-search index (see station.patients.search).

    Rows are rewritten by a flush listener whenever ``Patient.full_name`` changes,
    so every code path that names a patient keeps the index right. A prefix of a
    word is found with a range scan on ``(token, patient_id)`` on SQLite and
    PostgreSQL alike; no ``LIKE '%x%'`` scan is ever needed.
    """

    __tablename__ = "patient_name_tokens"
    __table_args__ = (Index("ix_patient_name_tokens_token_patient", "token", "patient_id"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True)
    #: Position of the word in the name, 0 = family name.
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The folded word ("nguyen"), ASCII lower case.
    token: Mapped[str] = mapped_column(String(40))
    #: Number of words in the name (the last one is the given name).
    words: Mapped[int] = mapped_column(Integer, default=1)


class PatientImportRun(UUIDMixin, TimestampMixin, db.Model):
    """Progress of one import file, committed with each chunk so a re-run resumes."""

    __tablename__ = "patient_import_runs"

    #: SHA-256 of the file's bytes: the same file resumes, a changed file starts again.
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    #: Data rows committed so far (rows before this position are skipped on resume).
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    #: "running" (a chunk committed, more to come) or "done".
    status: Mapped[str] = mapped_column(String(10), default="running")
    finished_at: Mapped[datetime | None]


class PatientIdentifier(UUIDMixin, TimestampMixin, db.Model):
    """An identifier with its history: a CCCD can be cancelled and re-issued (NĐ 70/2024)."""

    __tablename__ = "patient_identifiers"
    __sync_parent__ = "patient"
    __table_args__ = (Index("ix_patient_identifiers_kind_value", "kind", "value"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    #: "cccd" (12-digit personal ID), "cmnd" (old 9-digit), "passport", "bhxh" (10-digit social insurance number).
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(20))
    #: "active", "cancelled" (e.g. re-issued number) or "replaced".
    status: Mapped[str] = mapped_column(String(10), default="active")
    issued_on: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    #: Where the value came from: "qr", "manual", "import", "bhxh".
    source: Mapped[str] = mapped_column(String(10), default="manual")

    patient: Mapped[Patient] = relationship(back_populates="identifiers")


class BhytCard(UUIDMixin, TimestampMixin, db.Model):
    """A health-insurance (BHYT) card of the patient, as looked up on the BHXH portal."""

    __tablename__ = "bhyt_cards"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    #: The 15-character card code (2 letters, benefit digit, province, 10-digit BHXH number).
    card_code: Mapped[str] = mapped_column(String(15), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    #: Registered primary-care facility (MA_DKBD).
    registered_facility: Mapped[str] = mapped_column(String(5), default="")
    #: Date of 5 years' continuous coverage (ngày đủ 5 năm liên tục).
    five_years_on: Mapped[date | None] = mapped_column(Date)
    #: Living-area code K1/K2/K3 (maKV) from the portal.
    area_code: Mapped[str] = mapped_column(String(2), default="")
    #: Benefit (MUC_HUONG) as returned by the portal; never derived from the card code.
    benefit_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    #: When the BHXH portal last confirmed this card; None = not yet verified.
    verified_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship(back_populates="bhyt_cards")

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class Allergy(UUIDMixin, TimestampMixin, db.Model):
    """An allergy or intolerance, shown as an alert on every page of the record."""

    __tablename__ = "allergies"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    #: "drug", "chemical" (chemicals/cosmetics), "food" or "other".
    category: Mapped[str] = mapped_column(String(10))
    #: The substance; for drugs the active ingredient (INN) so prescriptions can be checked.
    substance: Mapped[str] = mapped_column(String(120))
    reaction: Mapped[str] = mapped_column(String(200), default="")
    #: "mild", "moderate", "severe" or "".
    severity: Mapped[str] = mapped_column(String(10), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    patient: Mapped[Patient] = relationship(back_populates="allergies")


class ChronicCondition(UUIDMixin, TimestampMixin, db.Model):
    """A personal disease history entry, coded in ICD-10 (hypertension, diabetes, asthma, TB...)."""

    __tablename__ = "chronic_conditions"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    icd10_code: Mapped[str] = mapped_column(String(7))
    title: Mapped[str] = mapped_column(String(255))
    onset_year: Mapped[int | None] = mapped_column(Integer)
    #: "active", "resolved".
    status: Mapped[str] = mapped_column(String(10), default="active")
    note: Mapped[str] = mapped_column(String(255), default="")

    patient: Mapped[Patient] = relationship(back_populates="conditions")


class Surgery(UUIDMixin, TimestampMixin, db.Model):
    """A past operation (tiền sử phẫu thuật)."""

    __tablename__ = "surgeries"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    procedure: Mapped[str] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(255), default="")

    patient: Mapped[Patient] = relationship(back_populates="surgeries")


class FamilyHistory(UUIDMixin, TimestampMixin, db.Model):
    """A condition in the family (tiền sử gia đình), coded where possible."""

    __tablename__ = "family_history"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    #: "father", "mother", "sibling", "grandparent", "child", "other".
    relation: Mapped[str] = mapped_column(String(20))
    icd10_code: Mapped[str] = mapped_column(String(7), default="")
    condition: Mapped[str] = mapped_column(String(200))

    patient: Mapped[Patient] = relationship(back_populates="family_history")


class Disability(UUIDMixin, TimestampMixin, db.Model):
    """A disability (khuyết tật) with its type and level."""

    __tablename__ = "disabilities"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    #: "mobility", "hearing_speech", "vision", "mental", "intellectual", "other".
    kind: Mapped[str] = mapped_column(String(20))
    #: "mild", "severe", "very_severe" (nhẹ, nặng, đặc biệt nặng).
    level: Mapped[str] = mapped_column(String(12), default="")
    note: Mapped[str] = mapped_column(String(255), default="")

    patient: Mapped[Patient] = relationship(back_populates="disabilities")


class RiskFactors(UUIDMixin, TimestampMixin, db.Model):
    """Risk factors of the QĐ 831 template: tobacco, alcohol, drugs, activity, exposure."""

    __tablename__ = "risk_factors"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    #: "never", "current", "quit".
    tobacco: Mapped[str] = mapped_column(String(8), default="")
    #: Cigarettes per day for current smokers.
    tobacco_per_day: Mapped[int | None] = mapped_column(Integer)
    #: "never", "occasional", "regular", "quit".
    alcohol: Mapped[str] = mapped_column(String(10), default="")
    drug_use: Mapped[str] = mapped_column(String(8), default="")
    #: "none", "low", "regular" (≥150 min/week).
    physical_activity: Mapped[str] = mapped_column(String(8), default="")
    occupational_exposure: Mapped[str] = mapped_column(String(200), default="")

    patient: Mapped[Patient] = relationship(back_populates="risk_factors")


class ReproductiveHistory(UUIDMixin, TimestampMixin, db.Model):
    """Reproductive history and family planning (women)."""

    __tablename__ = "reproductive_history"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    pregnancies: Mapped[int | None] = mapped_column(Integer)
    #: PARA: term births, preterm births, abortions/miscarriages, living children.
    term_births: Mapped[int | None] = mapped_column(Integer)
    preterm_births: Mapped[int | None] = mapped_column(Integer)
    abortions: Mapped[int | None] = mapped_column(Integer)
    living_children: Mapped[int | None] = mapped_column(Integer)
    #: Current contraception: "none", "iud", "pill", "injection", "implant", "condom", "sterilisation", "other".
    contraception: Mapped[str] = mapped_column(String(14), default="")
    last_menstrual_period: Mapped[date | None] = mapped_column(Date)

    patient: Mapped[Patient] = relationship(back_populates="reproductive")


class BirthConditions(UUIDMixin, TimestampMixin, db.Model):
    """Conditions at birth (children), QĐ 831 section II.1."""

    __tablename__ = "birth_conditions"
    __sync_parent__ = "patient"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    #: "normal", "caesarean", "unknown".
    delivery: Mapped[str] = mapped_column(String(10), default="")
    premature: Mapped[bool | None] = mapped_column(Boolean)
    asphyxia: Mapped[bool | None] = mapped_column(Boolean)
    birth_weight_g: Mapped[int | None] = mapped_column(Integer)
    birth_length_cm: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    congenital_defects: Mapped[str] = mapped_column(String(200), default="")
    other_problems: Mapped[str] = mapped_column(String(200), default="")

    patient: Mapped[Patient] = relationship(back_populates="birth_conditions")


class Vaccination(Synced, db.Model):
    """A vaccination received (EPI or outside EPI), here or reported from elsewhere."""

    __tablename__ = "vaccinations"
    __sync_entity__ = "Immunization"

    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    #: Vaccine code of the station's list (e.g. "BCG", "VGB", "DPT-VGB-Hib", "MR").
    vaccine_code: Mapped[str] = mapped_column(String(20))
    vaccine_name: Mapped[str] = mapped_column(String(120))
    dose_number: Mapped[int | None] = mapped_column(Integer)
    given_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200), default="")
    #: True for the Expanded Programme on Immunization (tiêm chủng mở rộng).
    epi: Mapped[bool] = mapped_column(Boolean, default=True)
    lot_number: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(String(255), default="")

    patient: Mapped[Patient] = relationship(back_populates="vaccinations")


class PatientMerge(UUIDMixin, TimestampMixin, db.Model):
    """An audited merge of a duplicate record into a survivor, kept for review."""

    __tablename__ = "patient_merges"

    survivor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), unique=True)
    merged_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: JSON summary of what moved (counts per kind) for the review page.
    moved: Mapped[str] = mapped_column(Text, default="{}")


# --- Name index maintenance -------------------------------------------------

def name_tokens(full_name: str) -> list[str]:
    """Return the folded words of *full_name* as stored in the name index."""
    words = []
    for word in fold(full_name).split(" "):
        token = "".join(ch for ch in word if ch.isalnum())[:40]
        if token:
            words.append(token)
    return words


def token_rows(patient_id: uuid.UUID, full_name: str) -> list[dict[str, object]]:
    """Rows of ``patient_name_tokens`` for one patient (used by the bulk paths too)."""
    tokens = name_tokens(full_name)
    return [{"patient_id": patient_id, "position": i, "token": t, "words": len(tokens)}
            for i, t in enumerate(tokens)]


@event.listens_for(Session, "before_flush")
def _fold_names(session: Session, flush_context: object, instances: object) -> None:
    """Keep ``name_folded`` in step with ``full_name`` and note whose index to rewrite."""
    pending = session.info.setdefault("patient_names_to_index", set())
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Patient) or obj.full_name is None:
            continue
        if obj in session.new or inspect(obj).attrs.full_name.history.has_changes():
            obj.name_folded = fold(obj.full_name)
            if obj.id is None:
                obj.id = uuid.uuid4()
            pending.add((obj.id, obj.full_name))


@event.listens_for(Session, "after_flush")
def _write_name_tokens(session: Session, flush_context: object) -> None:
    pending = session.info.pop("patient_names_to_index", None)
    if not pending:
        return
    table = PatientNameToken.__table__
    conn = session.connection()
    ids = [patient_id for patient_id, _ in pending]
    conn.execute(delete(table).where(table.c.patient_id.in_(ids)))
    rows = [row for patient_id, name in pending for row in token_rows(patient_id, name)]
    if rows:
        conn.execute(insert(table), rows)
