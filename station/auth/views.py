"""Login, logout and password change."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from station.auth import services
from station.auth.forms import ChangePasswordForm, LoginForm
from station.auth.roles import ALL_ROLES
from station.auth.security import allow, current_actor, public
from station.errors import ValidationFailed
from station.extensions import db

bp = Blueprint("auth", __name__, url_prefix="/auth")


def policy_from_config() -> services.LoginPolicy:
    return services.LoginPolicy.from_config(current_app.config)


def _safe_next(target: str | None) -> str | None:
    """Only allow redirects to paths on this server."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    """Show the login form and sign a member of staff in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(db.session, form.username.data or "", form.password.data or "",
                                         address=request.remote_addr or "", policy=policy_from_config())
        except services.LoginRefused as refused:
            db.session.commit()  # keep the failure count and the audit row
            flash(refused.message, "danger")
            return render_template("auth/login.html", form=form), 401
        db.session.commit()
        session.clear()
        session.permanent = True
        session["last_seen"] = int(time.time())
        login_user(user)
        if user.must_change_password:
            flash("Đây là mật khẩu dùng một lần. Vui lòng đặt mật khẩu mới.", "warning")
            return redirect(url_for("auth.change_password"))
        return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@allow(*ALL_ROLES, during_password_change=True)
def logout():  # type: ignore[no-untyped-def]
    """Sign out and forget the session."""
    from station.audit import services as audit

    audit.record(db.session, current_actor(), "auth.logout", entity_type="user", entity_id=current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@allow(*ALL_ROLES, during_password_change=True)
def change_password():  # type: ignore[no-untyped-def]
    """Let a user choose a new password (forced after a one-time password)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(db.session, current_user, current=form.current.data,
                                     new=form.password.data or "", actor=current_actor(),
                                     policy=policy_from_config())
        except ValidationFailed as error:
            db.session.rollback()
            flash(error.message, "danger")
            return render_template("auth/password.html", form=form), 422
        db.session.commit()
        # The session version changed: sign in again with the fresh identity.
        login_user(current_user._get_current_object())
        flash("Đã đổi mật khẩu.", "success")
        return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)
