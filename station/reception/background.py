"""Background services of reception, run by ``station serve``: serial scanners and eligibility retries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

from station.audit.services import Actor
from station.reception import eligibility
from station.reception.scanner import start_readers

log = logging.getLogger(__name__)


def retry_once(app: Flask) -> dict[str, int]:
    """One retry pass over visits still "to verify"; its own transaction."""
    from station.extensions import db

    with app.app_context():
        adapter = eligibility.adapter_from_config(app.config)
        try:
            counts = eligibility.retry_pending(db.session, adapter, actor=Actor.system("eligibility-retry"),
                                               staff_name=str(app.config.get("ELIGIBILITY_STAFF_NAME") or ""),
                                               staff_id_number=str(app.config.get("ELIGIBILITY_STAFF_CCCD") or ""))
            db.session.commit()
            return counts
        finally:
            db.session.remove()


def start(app: Flask) -> Callable[[], None]:
    """Start the scanner readers and the retry loop; return the function that stops them."""
    readers = start_readers(app)
    stopping = threading.Event()
    minutes = float(app.config.get("ELIGIBILITY_RETRY_MINUTES", 5))

    def loop() -> None:
        while not stopping.wait(minutes * 60):
            if not app.config.get("ELIGIBILITY_URL"):
                continue
            try:
                counts = retry_once(app)
                if counts:
                    log.info("eligibility retry: %s", counts)
            except Exception:  # noqa: BLE001 - keep retrying next time
                log.exception("eligibility retry failed")

    thread = threading.Thread(target=loop, name="eligibility-retry", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        for reader in readers:
            reader.stop()
        for reader in readers:
            reader.join(timeout=2)
        thread.join(timeout=2)

    return stop
