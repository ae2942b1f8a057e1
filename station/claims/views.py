"""Claim pages: the day's visits with their XML 130 state, download of a visit's envelope, submission."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for

from station.web.formutil import day_arg
from station.admin.models import Facility
from station.audit import services as audit
from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.billing import services as billing
from station.billing.forms import ConfirmTransferForm
from station.claims import export, services
from station.errors import StationError, ValidationFailed
from station.extensions import db

bp = Blueprint("claims", __name__, url_prefix="/claims")

CLAIM_STAFF = (Role.CASHIER, Role.ADMIN)


def _day_arg() -> date:
    return day_arg()


@bp.route("/")
@allow(*CLAIM_STAFF)
def index():  # type: ignore[no-untyped-def]
    """List the day's visits: exportable ones, and the others with the reasons."""
    day = _day_arg()
    settings = export.claim_settings(db.session)
    rows = []
    for visit in export.visits_of_day(db.session, day):
        prepared = export.prepare(db.session, visit, settings=settings)
        rows.append((visit, prepared.reasons, services.submissions_of(db.session, visit)))
    audit.record(db.session, current_actor(), "claims.list", entity_type="claims_day", entity_id=day.isoformat())
    db.session.commit()
    return render_template("claims/index.html", day=day, rows=rows, form=ConfirmTransferForm(),
                           portal_configured=bool(current_app.config.get("CLAIMS_PORTAL_URL")))


@bp.route("/visits/<uuid:visit_id>/xml")
@allow(*CLAIM_STAFF)
def download(visit_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Download the visit's signed GIAMDINHHS envelope (XML 130)."""
    visit = billing.get_visit(db.session, visit_id)
    signer = services.signer_from_config(current_app.config)
    submission, reasons = services.build_envelope(db.session, visit, signer)
    if submission is None:
        raise ValidationFailed("Lượt khám chưa xuất được hồ sơ XML 130: " + "; ".join(reasons))
    audit.record(db.session, current_actor(), "claims.download", entity_type="visit", entity_id=visit.id)
    db.session.commit()
    return Response(submission.envelope, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{visit.visit_key}.xml"'})


@bp.route("/visits/<uuid:visit_id>/submit", methods=["POST"])
@allow(*CLAIM_STAFF)
def submit(visit_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Send the visit's claim to the configured BHXH portal."""
    visit = billing.get_visit(db.session, visit_id)
    form = ConfirmTransferForm()
    if not form.validate_on_submit():
        flash("Biểu mẫu không hợp lệ.", "danger")
        return redirect(url_for("claims.index"))
    day = billing.visit_day(visit)
    try:
        facility = db.session.query(Facility).first()
        if facility is None:
            raise ValidationFailed("Chưa khai báo thông tin trạm (mã cơ sở KCB).")
        submitter = services.submitter_from_config(current_app.config, facility.province_code, facility.facility_code)
        row = services.submit_visit(db.session, visit, submitter, services.signer_from_config(current_app.config),
                                    actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("claims.index", day=day.isoformat()))
    db.session.commit()
    labels = {"accepted": "Cổng BHXH đã tiếp nhận", "rejected": "Cổng BHXH từ chối",
              "unavailable": "Không kết nối được cổng BHXH; hãy gửi lại sau"}
    flash(f"{visit.visit_key}: {labels[row.status]} {row.message}".strip(),
          "success" if row.status == "accepted" else "warning")
    return redirect(url_for("claims.index", day=day.isoformat()))
