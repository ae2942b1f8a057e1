"""Prescription actions on the consultation page: lines, issue (with overrides), replacement."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.consultation import services as consult
from station.consultation.views import _check_csrf, _render_visit
from station.errors import StationError
from station.extensions import db
from station.prescriptions import services as rx
from station.prescriptions.models import Prescription

bp = Blueprint("prescriptions", __name__, url_prefix="/prescriptions")


def _back(prescription: Prescription):  # type: ignore[no-untyped-def]
    return redirect(url_for("consultation.visit", visit_id=prescription.visit_id, _anchor="don-thuoc"), code=303)


def _failed(prescription_or_visit_id: object, error: StationError, **extra: object):  # type: ignore[no-untyped-def]
    db.session.rollback()
    visit = consult.get_visit(db.session, prescription_or_visit_id)
    return _render_visit(visit, error=error.message, status=error.status_code, **extra)  # type: ignore[arg-type]


def _line_args() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("drug_id", "dose_per_time", "times_per_day", "days", "timing",
                                                 "instructions", "route")}


@bp.route("/visits/<visit_id>/lines", methods=["POST"])
@allow(Role.DOCTOR)
def add_line_to_visit(visit_id: str):  # type: ignore[no-untyped-def]
    """Add a line to the visit's current draft prescription (created on first line)."""
    _check_csrf()
    visit = consult.get_visit(db.session, visit_id)
    try:
        draft = rx.draft_for_visit(db.session, visit, user=current_user, actor=current_actor())
        rx.add_line(db.session, draft, actor=current_actor(), **_line_args())
    except StationError as error:
        return _failed(visit.id, error)
    db.session.commit()
    return _back(draft)


@bp.route("/<prescription_id>/lines", methods=["POST"])
@allow(Role.DOCTOR)
def add_line(prescription_id: str):  # type: ignore[no-untyped-def]
    """Add a line to a given draft (e.g. a replacement)."""
    _check_csrf()
    prescription = rx.get_prescription(db.session, prescription_id)
    visit_id = prescription.visit_id
    try:
        rx.add_line(db.session, prescription, actor=current_actor(), **_line_args())
    except StationError as error:
        return _failed(visit_id, error)
    db.session.commit()
    return _back(prescription)


@bp.route("/<prescription_id>/lines/<item_id>/delete", methods=["POST"])
@allow(Role.DOCTOR)
def remove_line(prescription_id: str, item_id: str):  # type: ignore[no-untyped-def]
    """Remove a line of a draft."""
    _check_csrf()
    prescription = rx.get_prescription(db.session, prescription_id)
    visit_id = prescription.visit_id
    try:
        rx.remove_line(db.session, prescription, item_id, actor=current_actor())
    except StationError as error:
        return _failed(visit_id, error)
    db.session.commit()
    return _back(prescription)


@bp.route("/<prescription_id>/issue", methods=["POST"])
@allow(Role.DOCTOR)
def issue(prescription_id: str):  # type: ignore[no-untyped-def]
    """Issue a draft: every rule checked, alerts need an explicit override with a reason."""
    _check_csrf()
    prescription = rx.get_prescription(db.session, prescription_id)
    visit_id = prescription.visit_id
    form = request.form
    overrides = {key.removeprefix("override_reason_"): value for key, value in form.items()
                 if key.startswith("override_reason_") and form.get("override_" + key.removeprefix("override_reason_"))}
    follow_up = None
    try:
        follow_up = consult.parse_day(form.get("follow_up_on", ""), "Ngày hẹn khám lại", "follow_up_on")
        details = rx.IssueDetails(advice=form.get("advice", ""), follow_up_on=follow_up,
                                  weight_kg=form.get("weight_kg", ""), companion_name=form.get("companion_name", ""),
                                  companion_id_number=form.get("companion_id_number", ""),
                                  receiver_name=form.get("receiver_name", ""),
                                  chronic_treatment=bool(form.get("chronic_treatment")), overrides=overrides)
        rx.issue(db.session, prescription, details, user=current_user, actor=current_actor())
    except rx.AlertsNeedOverride as error:
        return _failed(visit_id, error, alerts=error.alerts, issue_values=dict(form))
    except StationError as error:
        return _failed(visit_id, error, issue_values=dict(form))
    db.session.commit()
    flash(f"Đã phát hành đơn thuốc {prescription.code} và gửi in.", "success")
    return _back(prescription)


@bp.route("/<prescription_id>/replace", methods=["POST"])
@allow(Role.DOCTOR)
def replace(prescription_id: str):  # type: ignore[no-untyped-def]
    """Open a replacement draft for an issued prescription (the original stays as issued)."""
    _check_csrf()
    original = rx.get_prescription(db.session, prescription_id)
    visit_id = original.visit_id
    try:
        new = rx.start_replacement(db.session, original, reason=request.form.get("reason", ""), user=current_user,
                                   actor=current_actor())
    except StationError as error:
        return _failed(visit_id, error)
    db.session.commit()
    flash(f"Đã mở đơn thay thế cho đơn {original.code}: sửa các dòng rồi phát hành.", "info")
    return _back(new)


@bp.route("/<prescription_id>/discard", methods=["POST"])
@allow(Role.DOCTOR)
def discard(prescription_id: str):  # type: ignore[no-untyped-def]
    """Delete a draft prescription."""
    _check_csrf()
    prescription = rx.get_prescription(db.session, prescription_id)
    visit_id = prescription.visit_id
    try:
        rx.discard_draft(db.session, prescription, actor=current_actor())
    except StationError as error:
        return _failed(visit_id, error)
    db.session.commit()
    flash("Đã hủy đơn nháp.", "success")
    return redirect(url_for("consultation.visit", visit_id=visit_id, _anchor="don-thuoc"), code=303)
