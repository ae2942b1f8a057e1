"""The station's own identity."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from station.db import TimestampMixin, UUIDMixin
from station.extensions import db


class Facility(UUIDMixin, TimestampMixin, db.Model):
    """This health station: exactly one row, created by ``station init``."""

    __tablename__ = "facility"

    #: Display name, e.g. "Trạm Y tế phường Hoàn Kiếm".
    name: Mapped[str] = mapped_column(String(200))
    #: Facility code used in claims (MA_CSKCB), 5 characters.
    facility_code: Mapped[str] = mapped_column(String(5))
    #: Province code from the post-2025 administrative units (vietnam-provinces).
    province_code: Mapped[str] = mapped_column(String(3))
    #: Commune/ward code from the post-2025 administrative units.
    commune_code: Mapped[str] = mapped_column(String(5))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    #: Random identity of this database, created once; a restored copy is detected by it.
    db_identity: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4)


class Counter(db.Model):
    """A named gap-free counter (patient codes, receipt series, daily queue numbers).

    Incremented inside the business transaction, so a rolled-back transaction
    gives its number back and committed numbers never have gaps.
    """

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
