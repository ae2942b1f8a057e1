"""Database foundations: the declarative base, shared column types and engine settings.

This module is the one small, documented place that knows which database is
underneath. Everything SQLite-specific lives in :func:`configure_engine` and
:func:`lock_for_append`; the rest of the code base is portable SQL through
SQLAlchemy and runs unchanged on PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from contextvars import ContextVar, Token
from datetime import datetime

from sqlalchemy import DateTime, Engine, Enum, MetaData, String, TypeDecorator, Uuid, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry, scoped_session

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
    power cut. Transactions begin in one of two modes (see
    :func:`write_intent`): a *write* transaction takes an in-process writer
    lock (writers queue in order instead of polling SQLite's busy handler,
    which sleeps up to 100 ms at a time) and then ``BEGIN IMMEDIATE``, so a
    read that turns into a write never fails with SQLITE_BUSY; a *read*
    transaction is a plain deferred ``BEGIN`` and runs beside the writer.
    PostgreSQL needs none of this.
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
        # A 100,000-resident station fits in memory: a larger page cache and memory-mapped reads.
        cursor.execute("PRAGMA cache_size=-32000")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    writer = threading.RLock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        if not _write_intent.get():
            connection.info["station_mode"] = "read"
            connection.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=WRITER_WAIT_SECONDS):
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("the database writer is busy"))
        connection.info["station_mode"] = "write"
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            # A failed BEGIN may already have been rolled back (which releases the lock).
            if connection.info.pop("station_mode", None) == "write":
                writer.release()
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection):  # type: ignore[no-untyped-def]
        if connection.info.pop("station_mode", None) == "write":
            writer.release()


#: Seconds a writer waits for the in-process writer lock before giving up.
WRITER_WAIT_SECONDS = 10
#: Whether transactions begun in this context will write (SQLite only; see configure_engine).
_write_intent: ContextVar[bool] = ContextVar("station_write_intent", default=True)


def set_write_intent(writes: bool) -> Token[bool]:
    """Declare whether transactions begun from now on in this context will write; returns a reset token."""
    return _write_intent.set(writes)


def reset_write_intent(token: Token[bool]) -> None:
    _write_intent.reset(token)


class WriteInReadTransaction(RuntimeError):
    """A view declared read-only tried to change data (a programming error)."""


@event.listens_for(Session, "before_flush")
def _refuse_writes_in_read_mode(session: Session, flush_context: object, instances: object) -> None:
    # Upgrading a deferred SQLite read to a write fails under concurrency (SQLITE_BUSY_SNAPSHOT):
    # a read-only view must not write through its own session (audit.record handles its own writes).
    if (session.new or session.dirty or session.deleted) and in_read_transaction(session):
        raise WriteInReadTransaction("a read-only view tried to write; remove @read_only from it "
                                     "or move the write to a POST")


def in_read_transaction(session: Session) -> bool:
    """True when *session*'s current SQLite transaction began in read (deferred) mode."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        return not _write_intent.get() and session.get_bind().dialect.name == "sqlite"
    return session.connection().info.get("station_mode") == "read"


def lock_for_append(session: Session, name: str) -> None:
    """Serialise appends to a chained log (audit chain, counters, change log) until commit.

    On SQLite the transaction already holds the write lock (BEGIN IMMEDIATE).
    On PostgreSQL every appender takes the same transaction-scoped advisory
    lock, whatever *name* it appends to: with one lock there is no order in
    which two transactions could take two of them and deadlock (a transaction
    may take it again; PostgreSQL counts it). *name* documents the caller.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK_KEY})


#: The PostgreSQL advisory-lock key of all appends ("station-append" as a 63-bit number).
APPEND_LOCK_KEY = int.from_bytes(b"stationA", "big") & 0x7FFFFFFFFFFFFFFF
