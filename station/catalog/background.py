"""Background work of the catalogue area under ``station serve``: build the ICD-10 index once at start.

Building the in-memory index takes about half a second; doing it in a thread at start-up keeps
that cost off the first doctor's first search or save.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)


def warm(app: Flask) -> None:
    """Build the index of the ICD-10 version in force today (own session, read only)."""
    from station.catalog import services
    from station.extensions import db

    with app.app_context():
        try:
            services.index_for(db.session, services.local_today())
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the first search builds it instead
            log.exception("ICD-10 index warm-up failed; it will be built on first use")
        finally:
            db.session.remove()


def start(app: Flask) -> Callable[[], None]:
    """Warm the index in a daemon thread; nothing to stop."""
    thread = threading.Thread(target=warm, args=(app,), name="icd10-warmup", daemon=True)
    thread.start()
    return lambda: None
