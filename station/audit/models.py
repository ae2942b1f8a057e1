"""The audit trail: an append-only, hash-chained log of who did what to which record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from station.extensions import db


class AuditEvent(db.Model):
    """One attributable action: a view, a change, a login, an export, a print.

    Rows are never updated or deleted; each row's ``hash`` covers its own
    fields and the previous row's hash, so an edited or removed row breaks the
    chain (see :func:`station.audit.services.verify_chain`).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime]
    #: User id, API client id, or "system" / "cli".
    actor_id: Mapped[str] = mapped_column(String(64))
    #: Username or client name at the time (kept even if the account is renamed).
    actor_label: Mapped[str] = mapped_column(String(120))
    #: Dotted verb, e.g. "patient.view", "patient.update", "auth.login_failed".
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(40), default="")
    entity_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    #: Network address of the request, or "cli" / "scheduler".
    address: Mapped[str] = mapped_column(String(64), default="")
    #: JSON object with non-identifying detail (changed field names, reasons).
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditTamperError(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):  # type: ignore[no-untyped-def]
    raise AuditTamperError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):  # type: ignore[no-untyped-def]
    raise AuditTamperError("audit events are append-only")
