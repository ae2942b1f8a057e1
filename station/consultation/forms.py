"""Consultation forms. Field checks live in the services (one set of rules for web, CLI and tests);
these forms carry the CSRF token and the choices shown in the page."""

from __future__ import annotations

from flask_wtf import FlaskForm

from station.consultation.codes import KET_QUA_DTRI, MA_LOAI_RV


class ActionForm(FlaskForm):
    """A POST with its CSRF token (every consultation action)."""


def outcome_choices() -> list[tuple[str, str]]:
    """KET_QUA_DTRI choices with an empty first option."""
    return [("", "— Chọn —"), *KET_QUA_DTRI.choices()]


def discharge_choices() -> list[tuple[str, str]]:
    """MA_LOAI_RV choices with an empty first option."""
    return [("", "— Chọn —"), *MA_LOAI_RV.choices()]
