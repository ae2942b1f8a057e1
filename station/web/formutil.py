"""Small helpers for Flask-WTF forms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from flask import abort, request
from wtforms.fields.choices import SelectChoice

from station.clock import local_today


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into SelectField choices (WTForms ≥ 3.3 deprecates plain tuples)."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


def day_arg(name: str = "day") -> date:
    """Return the ?day=YYYY-MM-DD argument of the request, the station's today by default (400 if malformed)."""
    text = request.args.get(name, "").strip()
    if not text:
        return local_today()
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        abort(400, description="Ngày phải có dạng YYYY-MM-DD.")
        raise
