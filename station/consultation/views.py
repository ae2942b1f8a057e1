"""The doctor's pages: worklist, consultation form, services, referral, follow-up, history."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from station.audit import services as audit
from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.catalog import services as catalog
from station.clock import local_today, to_local
from station.consultation import forms
from station.consultation import services as svc
from station.consultation.codes import KET_QUA_DTRI, MA_LOAI_RV, is_referral
from station.consultation.models import ServiceOrder
from station.errors import StationError
from station.extensions import db
from station.patients.models import Patient
from station.prescriptions import rules
from station.prescriptions import services as rx
from station.prescriptions.models import Prescription
from station.visits.models import Visit

bp = Blueprint("consultation", __name__, url_prefix="/consultation")

DOCTOR = (Role.DOCTOR,)
#: Clinical staff who may read the consultation history (nurses prepare and follow up).
READERS = (Role.DOCTOR, Role.NURSE)
#: Consultations shown on the history page before "show all".
HISTORY_PAGE = 50


def _check_csrf() -> None:
    if not forms.ActionForm().validate_on_submit():
        abort(400, description="Biểu mẫu đã hết hạn hoặc không hợp lệ (mã bảo mật CSRF). Vui lòng tải lại trang.")


@bp.route("/")
@allow(*DOCTOR)
def worklist():  # type: ignore[no-untyped-def]
    """Today's queue of the doctor's room with waiting times."""
    room = request.args.get("room", "").strip()[:10]
    rows = svc.worklist(db.session, room_code=room)
    html = render_template("consultation/worklist.html", rows=rows, room=room, rooms=svc.rooms_today(db.session),
                           form=forms.ActionForm())
    audit.record(db.session, current_actor(), "consultation.worklist", detail={"room": room, "count": len(rows)})
    db.session.commit()
    return html


@bp.route("/call-next", methods=["POST"])
@allow(*DOCTOR)
def call_next():  # type: ignore[no-untyped-def]
    """Call the next waiting patient of the room and open the consultation."""
    _check_csrf()
    room = request.form.get("room", "").strip()[:10]
    try:
        visit = svc.call_next(db.session, room_code=room, user=current_user, actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "warning")
        return redirect(url_for("consultation.worklist", room=room or None))
    db.session.commit()
    return redirect(url_for("consultation.visit", visit_id=visit.id))


def _form_values(consultation: Any, vitals: dict[str, Any]) -> dict[str, str]:
    values = {k: "" for k in svc.DRAFT_FIELDS}
    if consultation is not None:
        for name in ("reason", "history", "examination", "notes", "advice", "outcome_code", "discharge_code"):
            values[name] = getattr(consultation, name) or ""
        values["follow_up_on"] = consultation.follow_up_on.isoformat() if consultation.follow_up_on else ""
        main = consultation.main_diagnosis
        values["main_code"] = main.icd10_code if main else ""
        values["secondary_codes"] = "; ".join(d.icd10_code for d in consultation.secondary_diagnoses)
    for kind, obs in vitals.items():
        if kind in svc.VITALS:
            values[f"vital_{kind}"] = format(obs.value.normalize(), "f")
    return values


def _render_visit(visit: Visit, *, values: dict[str, str] | None = None, error: str = "", status: int = 200,
                  conflict: Any = None, alerts: list[rules.Alert] | None = None, issue_values: dict | None = None):  # type: ignore[no-untyped-def]
    session = db.session
    consultation = svc.get_consultation(session, visit.id)
    context = svc.patient_context(session, visit)
    restored = None
    if values is None:
        values = _form_values(consultation, context.vitals)
        draft = svc.load_draft(session, visit.id, current_user.id)
        if draft is not None and (consultation is None or draft.saved_at > consultation.updated_at):
            values.update(json.loads(draft.payload))
            restored = draft
    prescriptions = rx.prescriptions_of_visit(session, visit.id)
    replaced = rx.replaced_ids(session, [p.id for p in prescriptions if p.status == "issued"])
    draft_alerts = {p.id: rx.pending_alerts(session, p) for p in prescriptions if p.status == "draft" and p.lines}
    patient = session.get(Patient, visit.patient_id)
    age_months = rules.age_in_months(patient.birth_date, local_today()) if patient else None
    return render_template(
        "consultation/visit.html", visit=visit, patient=patient, consultation=consultation, context=context,
        values=values, error=error, conflict=conflict, restored=restored,
        conflict_values=_form_values(conflict, context.vitals) if conflict is not None else None,
        revisions=svc.revision_views(consultation) if consultation is not None else [],
        outcome_choices=forms.outcome_choices(), discharge_choices=forms.discharge_choices(),
        vitals_spec=svc.VITALS, prescriptions=prescriptions, replaced=replaced, draft_alerts=draft_alerts,
        alerts=alerts or [], issue_values=issue_values or {},
        drugs=catalog.list_drugs(session, active_only=True), services=catalog.list_services(session, active_only=True),
        orders=svc.service_orders(session, visit.id), referral=svc.get_referral(session, visit.id),
        follow_up=svc.get_follow_up(session, visit.id), is_referral=is_referral, ket_qua=KET_QUA_DTRI,
        loai_rv=MA_LOAI_RV, age_months=age_months, child_limit=rules.CHILD_AGE_MONTHS,
        type_labels={t.value: label for t, label in rules.TYPE_LABELS.items()},
        format_quantity=rules.format_quantity, dose_text=rx.dose_text, form=forms.ActionForm(),
        today=local_today()), status


@bp.route("/visits/<visit_id>")
@allow(*DOCTOR)
def visit(visit_id: str):  # type: ignore[no-untyped-def]
    """The consultation page: form, alerts, last visits, vitals, prescriptions, services, referral."""
    found = svc.get_visit(db.session, visit_id)
    svc.start_consultation(db.session, found, user=current_user, actor=current_actor())
    db.session.commit()
    return _render_visit(found)


def _expected_version() -> int | None:
    text = request.form.get("version", "").strip()
    return int(text) if text.isdigit() else None


@bp.route("/visits/<visit_id>/save", methods=["POST"])
@allow(*DOCTOR)
def save(visit_id: str):  # type: ignore[no-untyped-def]
    """Save (or amend, with a reason) the consultation; a stale version is refused, nothing lost."""
    _check_csrf()
    found = svc.get_visit(db.session, visit_id)
    data = svc.ConsultationInput.from_mapping(request.form)
    typed = {k: request.form.get(k, "") for k in svc.DRAFT_FIELDS}
    try:
        consultation = svc.save_consultation(db.session, found, data, expected_version=_expected_version(),
                                             user=current_user, actor=current_actor(),
                                             amend_reason=request.form.get("amend_reason", ""))
    except svc.ConsultationConflict as error:
        db.session.rollback()
        _keep_draft(found, typed)
        return _render_visit(found, values=typed, error=error.message, status=409, conflict=error.current)
    except StationError as error:
        db.session.rollback()
        _keep_draft(found, typed)
        return _render_visit(found, values=typed, error=error.message, status=error.status_code)
    db.session.commit()
    flash("Đã lưu sửa đổi phiếu khám." if consultation.status == "signed" else "Đã lưu phiếu khám.", "success")
    response = redirect(url_for("consultation.visit", visit_id=found.id), code=303)
    response.headers["X-Record-Version"] = str(consultation.version)
    return response


def _keep_draft(visit: Visit, typed: dict[str, str]) -> None:
    """Store what the user typed as a draft so a refused save loses nothing."""
    consultation = svc.get_consultation(db.session, visit.id)
    try:
        svc.save_draft(db.session, visit, user=current_user, payload=typed,
                       base_version=consultation.version if consultation else 0, actor=current_actor())
        db.session.commit()
    except StationError:
        db.session.rollback()


@bp.route("/visits/<visit_id>/draft", methods=["POST"])
@allow(*DOCTOR)
def draft(visit_id: str):  # type: ignore[no-untyped-def]
    """Autosave of the text typed so far (JSON, CSRF header)."""
    found = svc.get_visit(db.session, visit_id)
    payload = request.get_json(silent=True) or {}
    if not isinstance(payload, dict):
        return jsonify(error="Bản nháp phải là một đối tượng JSON."), 400
    fields = payload.get("fields") if isinstance(payload.get("fields"), dict) else {}
    base = payload.get("version")
    try:
        saved = svc.save_draft(db.session, found, user=current_user, payload=fields,
                               base_version=int(base) if str(base).isdigit() else 0, actor=current_actor())
    except StationError as error:
        db.session.rollback()
        return jsonify(error=error.message), error.status_code
    db.session.commit()
    return jsonify(saved_at=to_local(saved.saved_at).strftime("%H:%M:%S"))


@bp.route("/visits/<visit_id>/complete", methods=["POST"])
@allow(*DOCTOR)
def complete(visit_id: str):  # type: ignore[no-untyped-def]
    """Sign the consultation and complete the visit."""
    _check_csrf()
    found = svc.get_visit(db.session, visit_id)
    try:
        svc.complete(db.session, found, expected_version=_expected_version(), user=current_user, actor=current_actor())
    except StationError as error:
        db.session.rollback()
        return _render_visit(found, error=error.message, status=error.status_code)
    db.session.commit()
    flash("Đã hoàn tất và ký phiếu khám.", "success")
    return redirect(url_for("consultation.visit", visit_id=found.id), code=303)


@bp.route("/visits/<visit_id>/services", methods=["POST"])
@allow(*DOCTOR)
def order_service(visit_id: str):  # type: ignore[no-untyped-def]
    """Order a procedure or test for the visit."""
    _check_csrf()
    found = svc.get_visit(db.session, visit_id)
    try:
        svc.order_service(db.session, found, service_id=request.form.get("service_id", ""),
                          quantity=request.form.get("quantity", "1"), note=request.form.get("note", ""),
                          user=current_user, actor=current_actor())
    except StationError as error:
        db.session.rollback()
        return _render_visit(found, error=error.message, status=error.status_code)
    db.session.commit()
    flash("Đã thêm chỉ định dịch vụ.", "success")
    return redirect(url_for("consultation.visit", visit_id=found.id, _anchor="dich-vu"), code=303)


@bp.route("/visits/<visit_id>/services/<order_id>/cancel", methods=["POST"])
@allow(*DOCTOR)
def cancel_service(visit_id: str, order_id: str):  # type: ignore[no-untyped-def]
    """Cancel an ordered service with a reason."""
    _check_csrf()
    found = svc.get_visit(db.session, visit_id)
    try:
        order = db.session.get(ServiceOrder, uuid.UUID(order_id))
    except ValueError:
        order = None
    if order is None or order.visit_id != found.id:
        abort(404)
    try:
        svc.cancel_service_order(db.session, order, reason=request.form.get("reason", ""), actor=current_actor())
    except StationError as error:
        db.session.rollback()
        return _render_visit(found, error=error.message, status=error.status_code)
    db.session.commit()
    flash("Đã hủy chỉ định.", "success")
    return redirect(url_for("consultation.visit", visit_id=found.id, _anchor="dich-vu"), code=303)


@bp.route("/visits/<visit_id>/referral", methods=["POST"])
@allow(*DOCTOR)
def referral(visit_id: str):  # type: ignore[no-untyped-def]
    """Create or update the referral form."""
    _check_csrf()
    found = svc.get_visit(db.session, visit_id)
    try:
        saved = svc.save_referral(db.session, found, request.form, user=current_user, actor=current_actor())
    except StationError as error:
        db.session.rollback()
        return _render_visit(found, error=error.message, status=error.status_code)
    db.session.commit()
    flash(f"Đã lưu phiếu chuyển {saved.number}, có giá trị đến hết ngày {saved.valid_until:%d/%m/%Y}.", "success")
    return redirect(url_for("consultation.visit", visit_id=found.id, _anchor="chuyen-tuyen"), code=303)


@bp.route("/visits/<visit_id>/follow-up", methods=["POST"])
@allow(*DOCTOR)
def follow_up(visit_id: str):  # type: ignore[no-untyped-def]
    """Create or update the follow-up appointment and print its slip."""
    _check_csrf()
    found = svc.get_visit(db.session, visit_id)
    try:
        saved = svc.save_follow_up(db.session, found, request.form, user=current_user, actor=current_actor())
    except StationError as error:
        db.session.rollback()
        return _render_visit(found, error=error.message, status=error.status_code)
    db.session.commit()
    flash(f"Đã lưu giấy hẹn {saved.number} ngày {saved.appointment_on:%d/%m/%Y} và gửi in.", "success")
    return redirect(url_for("consultation.visit", visit_id=found.id, _anchor="hen-kham"), code=303)


@bp.route("/patients/<patient_id>")
@allow(*READERS)
def history(patient_id: str):  # type: ignore[no-untyped-def]
    """The patient's consultations with every signed version, diagnoses and prescriptions."""
    try:
        patient = db.session.get(Patient, uuid.UUID(patient_id))
    except ValueError:
        patient = None
    if patient is None:
        abort(404, description="Không tìm thấy người bệnh.")
    show_all = request.args.get("all") == "1"
    consultations = svc.patient_consultations(db.session, patient.id, limit=100_000 if show_all else HISTORY_PAGE)
    visit_ids = [c.visit_id for c in consultations]
    visits = {v.id: v for v in db.session.scalars(select(Visit).where(Visit.id.in_(visit_ids)))} if visit_ids else {}
    prescriptions: dict[uuid.UUID, list[Prescription]] = {}
    for p in db.session.scalars(select(Prescription).where(Prescription.visit_id.in_(visit_ids),
                                                           Prescription.status == "issued")
                                .options(selectinload(Prescription.lines)).order_by(Prescription.issued_at)):
        prescriptions.setdefault(p.visit_id, []).append(p)
    # Render before the commit: committing expires every loaded row (and would reload each one).
    html = render_template("consultation/history.html", patient=patient, consultations=consultations, visits=visits,
                           prescriptions=prescriptions, revision_views=svc.revision_views, ket_qua=KET_QUA_DTRI,
                           format_quantity=rules.format_quantity, dose_text=rx.dose_text, show_all=show_all,
                           page_size=HISTORY_PAGE)
    audit.record(db.session, current_actor(), "patient.view", entity_type="patient", entity_id=patient.id,
                 detail={"page": "consultation_history"})
    db.session.commit()
    return html
