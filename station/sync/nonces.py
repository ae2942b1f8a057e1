"""A database-backed nonce store for the station's signed pull endpoints.

``protocol.Verifier`` records each request's ``(keyid, nonce)`` after the signature
verifies. Keeping the nonces in the station database (table ``sync_nonces``) means replay
protection survives a restart of ``station serve`` and holds across the server's threads
(and across processes on PostgreSQL). Expired nonces are deleted on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import String, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from station.extensions import db


class SyncNonce(db.Model):
    """One nonce seen on a signed request, remembered until the signature window has passed."""

    __tablename__ = "sync_nonces"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SqlNonceStore:
    """``protocol.NonceStore`` over the ``sync_nonces`` table (one short transaction per check).

    The primary key ``(key_id, nonce)`` makes the check atomic: two threads presenting the
    same nonce race on the INSERT and exactly one wins.
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory

    def check_and_store(self, key_id: str, nonce: str, expires_at: datetime, now: datetime) -> bool:
        """Record the nonce and return True, or return False if it was already seen (a replay)."""
        if len(key_id) > 64 or len(nonce) > 128:
            return False
        with self._session_factory() as session:
            try:
                with session.begin():
                    session.execute(delete(SyncNonce).where(SyncNonce.expires_at <= now))
                    session.execute(insert(SyncNonce).values(key_id=key_id, nonce=nonce,
                                                             expires_at=expires_at))
            except IntegrityError:
                return False
        return True

    def count(self) -> int:
        """Return how many unexpired-or-not-yet-purged nonces are stored (tests, status)."""
        from sqlalchemy import func, select

        with self._session_factory() as session:
            return int(session.scalar(select(func.count()).select_from(SyncNonce)) or 0)
