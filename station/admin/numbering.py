"""Gap-free numbering inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from station.admin.models import Counter
from station.db import lock_for_append


def next_number(session: Session, name: str) -> int:
    """Return the next value of counter *name* (starting at 1), in the caller's transaction.

    Two concurrent callers never get the same number: SQLite's write lock
    (BEGIN IMMEDIATE) or a PostgreSQL advisory lock keyed by *name* makes
    them take turns until commit.
    """
    lock_for_append(session, f"counter:{name}")
    updated = session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        session.add(Counter(name=name, value=1))
        session.flush()
        return 1
    return int(session.scalar(select(Counter.value).where(Counter.name == name)))
