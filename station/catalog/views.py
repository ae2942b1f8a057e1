"""Catalogue pages (admin: drugs, services, ICD-10 versions) and the JSON search endpoints."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.web.readonly import read_only
from station.catalog import services
from station.catalog.models import Drug, ServiceItem
from station.consultation.forms import ActionForm
from station.errors import StationError
from station.extensions import db

bp = Blueprint("catalog", __name__, url_prefix="/catalog")
api = Blueprint("catalog_api", __name__, url_prefix="/api")
BLUEPRINTS = [bp, api]

#: Who may look codes and drugs up (the form's autocomplete).
LOOKUP = (Role.DOCTOR, Role.NURSE, Role.ADMIN)
MAX_UPLOAD = 5 * 1024 * 1024


def _csrf() -> None:
    if not ActionForm().validate_on_submit():
        abort(400, description="Biểu mẫu đã hết hạn hoặc không hợp lệ (mã bảo mật CSRF). Vui lòng tải lại trang.")


def _upload() -> bytes:
    file = request.files.get("file")
    if file is None or not file.filename:
        raise services.ValidationFailed("Chọn tệp CSV để nhập.")
    raw = file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise services.ValidationFailed("Tệp CSV quá lớn (tối đa 5 MB).")
    return raw


# --- drugs ------------------------------------------------------------------------------------


@bp.route("/drugs")
@allow(Role.ADMIN)
def drugs():  # type: ignore[no-untyped-def]
    """The drug formulary with search."""
    query = request.args.get("q", "")[:100]
    return render_template("catalog/drugs.html", drugs=services.list_drugs(db.session, query), q=query,
                           form=ActionForm(), types=services.PRESCRIPTION_TYPES)


def _drug_or_404(drug_id: str | None) -> Drug | None:
    if drug_id is None:
        return None
    try:
        return services.get_drug(db.session, uuid.UUID(drug_id))
    except (ValueError, StationError):
        abort(404, description="Không tìm thấy thuốc trong danh mục.")


@bp.route("/drugs/new", methods=["GET", "POST"], defaults={"drug_id": None})
@bp.route("/drugs/<drug_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def drug_edit(drug_id: str | None):  # type: ignore[no-untyped-def]
    """Create or edit one drug."""
    drug = _drug_or_404(drug_id)
    error = ""
    values = dict(request.form) if request.method == "POST" else {}
    if request.method == "POST":
        _csrf()
        data = {**values, **{k: bool(request.form.get(k)) for k in ("biologic", "poison", "supplement", "whole_units",
                                                                   "active")}}
        try:
            saved = services.save_drug(db.session, data, actor=current_actor(), drug=drug)
        except StationError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash(f"Đã lưu thuốc {saved.code}.", "success")
            return redirect(url_for("catalog.drugs"))
    return render_template("catalog/drug_form.html", drug=drug, values=values, error=error, form=ActionForm(),
                           types=services.PRESCRIPTION_TYPES), 422 if error else 200


@bp.route("/drugs/import", methods=["POST"])
@allow(Role.ADMIN)
def drugs_import():  # type: ignore[no-untyped-def]
    """Import a drug CSV (all-or-nothing)."""
    _csrf()
    try:
        result = services.import_drugs(db.session, _upload(), actor=current_actor())
    except StationError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(f"Đã nhập danh mục thuốc: {result.created} thuốc mới, {result.updated} cập nhật ({result.encoding}).",
              "success")
    return redirect(url_for("catalog.drugs"))


# --- services ---------------------------------------------------------------------------------


@bp.route("/services")
@allow(Role.ADMIN)
def service_list():  # type: ignore[no-untyped-def]
    """The station's service list."""
    query = request.args.get("q", "")[:100]
    return render_template("catalog/services.html", items=services.list_services(db.session, query), q=query,
                           form=ActionForm(), kinds=services.SERVICE_KINDS)


@bp.route("/services/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/services/<item_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def service_edit(item_id: str | None):  # type: ignore[no-untyped-def]
    """Create or edit one service item."""
    item: ServiceItem | None = None
    if item_id is not None:
        try:
            item = services.get_service(db.session, uuid.UUID(item_id))
        except (ValueError, StationError):
            abort(404, description="Không tìm thấy dịch vụ.")
    error = ""
    values = dict(request.form) if request.method == "POST" else {}
    if request.method == "POST":
        _csrf()
        data = {**values, "active": bool(request.form.get("active"))}
        try:
            saved = services.save_service(db.session, data, actor=current_actor(), item=item)
        except StationError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash(f"Đã lưu dịch vụ {saved.code}.", "success")
            return redirect(url_for("catalog.service_list"))
    return render_template("catalog/service_form.html", item=item, values=values, error=error, form=ActionForm(),
                           kinds=services.SERVICE_KINDS), 422 if error else 200


@bp.route("/services/import", methods=["POST"])
@allow(Role.ADMIN)
def services_import():  # type: ignore[no-untyped-def]
    """Import a service CSV (all-or-nothing)."""
    _csrf()
    try:
        result = services.import_services(db.session, _upload(), actor=current_actor())
    except StationError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(f"Đã nhập danh mục dịch vụ: {result.created} mới, {result.updated} cập nhật ({result.encoding}).",
              "success")
    return redirect(url_for("catalog.service_list"))


# --- ICD-10 -----------------------------------------------------------------------------------


@bp.route("/icd10")
@allow(Role.ADMIN, Role.DOCTOR)
def icd10():  # type: ignore[no-untyped-def]
    """ICD-10 versions in force and a search box."""
    return render_template("catalog/icd10.html", versions=services.list_versions(db.session))


@api.route("/icd10")
@allow(*LOOKUP)
@read_only
def icd10_search():  # type: ignore[no-untyped-def]
    """Search ICD-10 by code or title words (diacritic-insensitive) in the version in force on ``on``."""
    query = request.args.get("q", "")[:100]
    on_text = request.args.get("on", "")
    try:
        on = date.fromisoformat(on_text) if on_text else None
    except ValueError:
        return jsonify(error=f"Ngày không hợp lệ: {on_text!r} (dùng yyyy-mm-dd)."), 400
    limit = request.args.get("limit", "20")
    version, found = services.search_icd(db.session, query, on=on, limit=int(limit) if limit.isdigit() else 20)
    return jsonify(version=version.name, results=[
        {"code": e.code, "title": e.title, "title_en": e.title_en, "leaf": e.leaf} for e in found])


@api.route("/drugs")
@allow(*LOOKUP)
def drug_search():  # type: ignore[no-untyped-def]
    """Active drugs whose INN, brand, code or BHYT code match every word of ``q``."""
    query = request.args.get("q", "")[:100]
    found = services.list_drugs(db.session, query, active_only=True)[:30] if query.strip() else []
    return jsonify(results=[{"id": str(d.id), "code": d.code, "inn": d.inn, "brand": d.brand_name,
                             "strength": d.strength, "unit": d.unit, "route": d.route,
                             "type": d.prescription_type} for d in found])
