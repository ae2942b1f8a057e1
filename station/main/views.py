"""The home page (by role) and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from station.auth.security import allow_all_staff, public
from station.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
@allow_all_staff
def index():  # type: ignore[no-untyped-def]
    """Show the start page of the user's role."""
    return render_template("main/index.html", user=current_user)


@bp.route("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    """Answer whether the server and its database respond (no patient data)."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
