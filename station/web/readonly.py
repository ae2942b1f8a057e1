"""Declare GET views that only read, so that on SQLite they never wait for the writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def read_only(view: F) -> F:
    """Mark a GET view as read-only: it runs in a deferred SQLite read transaction.

    Its audit events are committed in their own short write transaction
    (station.audit.services.record); any other write raises
    station.db.WriteInReadTransaction, so the mark cannot hide a write.
    """
    view._read_only = True  # type: ignore[attr-defined]
    return view
