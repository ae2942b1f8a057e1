"""The print spooler as a background service of ``station serve``."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from station.printing.spooler import Spooler


def start(app: Flask) -> Callable[[], None]:
    """Start the print spooler (unless ``PRINT_SPOOLER`` is false); return its stop function.

    ``station serve`` calls this once, after taking the owner lock, so exactly one
    process drives the printer ports and each port has one worker thread.
    """
    if not app.config.get("PRINT_SPOOLER", True):
        return lambda: None
    spooler = Spooler(app)
    spooler.start()
    app.extensions["print_spooler"] = spooler
    return spooler.stop
