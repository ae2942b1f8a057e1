"""Administration: staff accounts, the station identity, the audit trail."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from station.admin import services
from station.admin.forms import ActionForm, FacilityForm, RoleForm
from station.audit import services as audit
from station.audit.models import AuditEvent
from station.auth import services as auth_services
from station.auth.forms import UserForm
from station.auth.models import User
from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.auth.views import policy_from_config
from station.errors import StationError
from station.extensions import db
from station.web.formutil import options

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _user_or_404(user_id: str) -> User:
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        user = None
    if user is None:
        abort(404)
    return user


@bp.route("/users", methods=["GET", "POST"])
@allow(Role.ADMIN)
def users():  # type: ignore[no-untyped-def]
    """List staff accounts and create new ones."""
    form = UserForm()
    if form.validate_on_submit():
        password = auth_services.generate_one_time_password()
        try:
            user = auth_services.create_user(
                db.session, username=form.username.data or "", full_name=form.full_name.data or "",
                role=Role(form.role.data), password=password, actor=current_actor(),
                title=form.title.data or "", practising_cert_no=form.practising_cert_no.data or "",
                bhxh_staff_code=form.bhxh_staff_code.data or "", must_change_password=True,
                policy=policy_from_config())
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash(f"Đã tạo tài khoản {user.username}. Mật khẩu dùng một lần: {password}", "success")
            return redirect(url_for("admin.users"))
    rows = db.session.scalars(select(User).order_by(User.role, User.full_name)).all()
    return render_template("admin/users.html", users=rows, form=form, action_form=ActionForm(),
                           role_form=RoleForm())


@bp.route("/users/<user_id>/disable", methods=["POST"])
@allow(Role.ADMIN)
def disable_user(user_id: str):  # type: ignore[no-untyped-def]
    user = _user_or_404(user_id)
    if ActionForm().validate_on_submit():
        auth_services.set_active(db.session, user, not user.active, actor=current_actor())
        db.session.commit()
        flash(f"Đã {'mở lại' if user.active else 'vô hiệu hóa'} tài khoản {user.username}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<user_id>/reset", methods=["POST"])
@allow(Role.ADMIN)
def reset_password(user_id: str):  # type: ignore[no-untyped-def]
    user = _user_or_404(user_id)
    if ActionForm().validate_on_submit():
        password = auth_services.reset_password(db.session, user, actor=current_actor(), policy=policy_from_config())
        db.session.commit()
        flash(f"Mật khẩu dùng một lần của {user.username}: {password}", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<user_id>/role", methods=["POST"])
@allow(Role.ADMIN)
def change_role(user_id: str):  # type: ignore[no-untyped-def]
    user = _user_or_404(user_id)
    form = RoleForm()
    if form.validate_on_submit():
        auth_services.set_role(db.session, user, Role(form.role.data), actor=current_actor())
        db.session.commit()
        flash(f"Đã đổi vai trò của {user.username}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/facility", methods=["GET", "POST"])
@allow(Role.ADMIN)
def facility():  # type: ignore[no-untyped-def]
    """Edit the station's name, facility code and administrative unit."""
    current = services.get_facility(db.session)
    form = FacilityForm(obj=current)
    form.province_code.choices = options(services.province_choices())
    if form.validate_on_submit():
        try:
            services.save_facility(db.session, name=form.name.data or "", facility_code=form.facility_code.data or "",
                                   province_code=form.province_code.data or "", commune_code=form.commune_code.data or "",
                                   address=form.address.data or "", phone=form.phone.data or "", actor=current_actor())
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return render_template("admin/facility.html", form=form, facility=current), 422
        db.session.commit()
        flash("Đã lưu thông tin trạm.", "success")
        return redirect(url_for("admin.facility"))
    return render_template("admin/facility.html", form=form, facility=current)


@bp.route("/audit", endpoint="audit")
@allow(Role.ADMIN)
def audit_log():  # type: ignore[no-untyped-def]
    """Show the latest audit events, filterable by action or record id."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    action = request.args.get("action", "").strip()
    entity = request.args.get("entity", "").strip()
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if entity:
        query = query.where(AuditEvent.entity_id == entity)
    page = max(1, request.args.get("page", 1, type=int))
    rows = db.session.scalars(query.limit(100).offset((page - 1) * 100)).all()
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    report = audit.verify_chain(db.session) if request.args.get("verify") else None
    return render_template("admin/audit.html", rows=rows, total=total, page=page, report=report,
                           action=action, entity=entity)

