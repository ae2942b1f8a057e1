"""Database foundations: the declarative base, shared column types and engine settings.

This module is the one small, documented place that knows which database is
underneath. Everything SQLite-specific lives in :func:`configure_engine` and
:func:`lock_for_append`; the rest of the code base is portable SQL through
SQLAlchemy and runs unchanged on PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Engine, Enum, MetaData, String, TypeDecorator, Uuid, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry

from station.clock import UTC, now_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with named constraints (Alembic batch mode needs names)."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), uuid.UUID: Uuid()},
    )


class UUIDMixin:
    """A UUID primary key: every entity that may leave the station has one."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    """Creation and last-change times, in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc)


def str_enum(enum_cls: type, length: int = 16) -> Enum:
    """An enum column that stores the member *values* ("doctor"), portable across databases."""
    return Enum(enum_cls, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])


def code_column(length: int, **kwargs: object) -> Mapped[str]:
    """A string code column: codes that look numeric ("01", "000") stay strings."""
    return mapped_column(String(length), **kwargs)  # type: ignore[arg-type]


def configure_engine(engine: Engine) -> None:
    """Apply the station's SQLite settings to every new connection.

    WAL lets LAN readers work while one writer commits; ``synchronous=FULL``
    syncs the WAL on every commit so health records and receipts survive a
    power cut; ``BEGIN IMMEDIATE`` takes the write lock at the start of each
    transaction, so a read that turns into a write waits (busy_timeout) rather
    than failing with SQLITE_BUSY. PostgreSQL needs none of this.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_for_append(session: Session, name: str) -> None:
    """Serialise appends to a chained log (audit chain, sequence numbers).

    On SQLite the transaction already holds the write lock (BEGIN IMMEDIATE).
    On PostgreSQL a transaction-scoped advisory lock keyed by *name* makes
    concurrent appenders take turns.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        key = int.from_bytes(name.encode("utf-8")[:8].ljust(8, b"\0"), "big") & 0x7FFFFFFFFFFFFFFF
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
