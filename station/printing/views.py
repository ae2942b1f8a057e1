"""Print queue, printer administration, job previews and A4/A5 forms."""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from printers import decode, get_profile
from station.admin.forms import ActionForm
from station.audit import services as audit
from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.clock import SystemClock, local_today
from station.errors import StationError
from station.extensions import db
from station.printing import pdf, services
from station.printing.forms import PrinterForm, ReprintForm
from station.printing.forms_data import FORM_TITLES, FORM_TYPES, ContextError, sample_context
from station.printing.models import PrintJob, PrinterConfig
from station.printing.render import DOCUMENT_LABELS, RenderError, render_document

bp = Blueprint("printing", __name__, url_prefix="/printing")

QUEUE_ROLES = (Role.RECEPTION, Role.NURSE, Role.CASHIER, Role.DOCTOR, Role.ADMIN)
CLINICAL_FORM_ROLES = (Role.DOCTOR, Role.NURSE, Role.RECEPTION)


def _job_or_404(job_id: uuid.UUID) -> PrintJob:
    job = db.session.get(PrintJob, job_id)
    if job is None:
        abort(404)
    return job


def _printer_or_404(printer_id: uuid.UUID) -> PrinterConfig:
    printer = db.session.get(PrinterConfig, printer_id)
    if printer is None:
        abort(404)
    return printer


def document_label(document: str) -> str:
    """Return the Vietnamese name of a thermal document or A4 form."""
    if document.startswith("a4_"):
        return FORM_TITLES.get(document[3:], document)
    return DOCUMENT_LABELS.get(document, document)


@bp.route("/")
@allow(*QUEUE_ROLES)
def index():  # type: ignore[no-untyped-def]
    """The print queue: each job with its state and, when waiting, why (in Vietnamese)."""
    state = request.args.get("state", "")
    query = select(PrintJob).where(~PrintJob.document.like("a4_%")).order_by(PrintJob.created_at.desc()).limit(200)
    if state in services.STATE_LABELS:
        query = query.where(PrintJob.state == state)
    jobs = db.session.scalars(query).all()
    printers = services.active_printers(db.session)
    hints = {job.id: services.route_hint(job, printers) for job in jobs if job.state == "queued"}
    reprinted = set(db.session.scalars(select(PrintJob.reprint_of_id).where(
        PrintJob.reprint_of_id.in_([job.id for job in jobs]))).all()) if jobs else set()
    return render_template("printing/index.html", jobs=jobs, printers=printers, hints=hints, state=state,
                           reprinted=reprinted, states=services.STATE_LABELS, label=document_label,
                           action_form=ActionForm())


@bp.route("/jobs/<uuid:job_id>/retry", methods=["POST"])
@allow(*QUEUE_ROLES)
def retry(job_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Try a waiting or failed job again now."""
    job = _job_or_404(job_id)
    if ActionForm().validate_on_submit():
        try:
            services.retry(db.session, job, actor=current_actor())
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash("Đã đưa lệnh in về đầu hàng đợi.", "success")
    return redirect(url_for("printing.index"))


@bp.route("/jobs/<uuid:job_id>/cancel", methods=["POST"])
@allow(*QUEUE_ROLES)
def cancel(job_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Cancel a job that has not printed."""
    job = _job_or_404(job_id)
    if ActionForm().validate_on_submit():
        try:
            services.cancel(db.session, job, actor=current_actor())
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash("Đã hủy lệnh in.", "success")
    return redirect(url_for("printing.index"))


@bp.route("/jobs/<uuid:job_id>/reprint", methods=["GET", "POST"])
@allow(*QUEUE_ROLES)
def reprint(job_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Reprint a job: the reason is required and audited; the paper says "BẢN IN LẠI"."""
    job = _job_or_404(job_id)
    if job.document not in services.DOCUMENTS:
        abort(404)
    form = ReprintForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.reprint(db.session, job, reason=form.reason.data or "", actor=current_actor())
            except StationError as error:
                db.session.rollback()
                form.reason.errors = [error.message]
                status = 422
            else:
                db.session.commit()
                flash("Đã gửi lệnh in lại.", "success")
                return redirect(url_for("printing.index"))
        else:
            status = 422
    return render_template("printing/reprint.html", job=job, form=form, label=document_label), status


@bp.route("/jobs/<uuid:job_id>/preview.png")
@allow(*QUEUE_ROLES)
def preview(job_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """A picture of the job as its printer would print it (decoded from the ESC/POS bytes)."""
    job = _job_or_404(job_id)
    if job.document not in services.DOCUMENTS:
        abort(404)
    printers = services.active_printers(db.session)
    printer = services.printer_for_job(job, printers)
    try:
        profile = services.parse_profile(printer.profile) if printer else get_profile("epson-tm-t20ii")
        from station.admin.models import Facility

        station_name = db.session.scalar(select(Facility.name).limit(1)) or "Trạm Y tế"
        document = render_document(job.document, job.payload, profile,
                                   defaults={"station_name": station_name,
                                             "printer_name": printer.name if printer else ""})
        image = decode(document.to_bytes(), profile).preview_png()
    except (RenderError, StationError) as error:
        abort(422, description=str(error))
    audit.record(db.session, current_actor(), "print.preview", entity_type="print_job", entity_id=job.id,
                 detail={"patient_id": str(job.patient_id or "")})
    db.session.commit()
    response = Response(image, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<uuid:job_id>/document.pdf")
@allow(*QUEUE_ROLES)
def job_pdf(job_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Render a recorded A4/A5 form again from its stored context (patient timeline link); audited."""
    job = _job_or_404(job_id)
    form = job.document[3:] if job.document.startswith("a4_") else ""
    if form not in FORM_TYPES:
        abort(404)
    try:
        data = json.loads(job.payload)
        body = pdf.render_form(form, data)
    except (ValueError, ContextError) as error:
        abort(422, description=str(error))
    audit.record(db.session, current_actor(), "print.form_view", entity_type="print_job", entity_id=job.id,
                 detail={"patient_id": str(job.patient_id or "")})
    db.session.commit()
    response = Response(body, mimetype="application/pdf")
    disposition = "attachment" if request.args.get("download") else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{form}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


# -- printers (admin) -----------------------------------------------------

def _save(form: PrinterForm, printer: PrinterConfig | None) -> PrinterConfig | None:
    """Validate and save *form*; put a service error on its field."""
    try:
        return services.save_printer(
            db.session, actor=current_actor(), printer=printer, name=form.name.data or "", url=form.url.data or "",
            baudrate=int(form.baudrate.data or 9600), flow_control=form.flow_control.data or "none",
            profile=form.profile.data or "", rooms=form.rooms.data or "", documents=form.documents.data or "",
            active=bool(form.active.data))
    except StationError as error:
        db.session.rollback()
        target = getattr(form, error.field, None) if error.field else None
        if target is not None:
            target.errors = [*target.errors, error.message]
        flash(error.message, "danger")
        return None


@bp.route("/printers", methods=["GET", "POST"])
@allow(Role.ADMIN)
def printers():  # type: ignore[no-untyped-def]
    """List printers and add one."""
    form = PrinterForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and _save(form, None) is not None:
            db.session.commit()
            flash("Đã thêm máy in.", "success")
            return redirect(url_for("printing.printers"))
        status = 422
    rows = db.session.scalars(select(PrinterConfig).order_by(PrinterConfig.name)).all()
    return render_template("printing/printers.html", printers=rows, form=form, editing=None,
                           action_form=ActionForm(), flows=services.FLOW_CONTROLS), status


@bp.route("/printers/<uuid:printer_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_printer(printer_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Edit one printer."""
    printer = _printer_or_404(printer_id)
    form = PrinterForm(obj=printer) if request.method == "GET" else PrinterForm()
    if request.method == "GET":
        form.baudrate.data = str(printer.baudrate)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and _save(form, printer) is not None:
            db.session.commit()
            flash("Đã lưu máy in.", "success")
            return redirect(url_for("printing.printers"))
        status = 422
    rows = db.session.scalars(select(PrinterConfig).order_by(PrinterConfig.name)).all()
    return render_template("printing/printers.html", printers=rows, form=form, editing=printer,
                           action_form=ActionForm(), flows=services.FLOW_CONTROLS), status


@bp.route("/printers/<uuid:printer_id>/test", methods=["POST"])
@allow(Role.ADMIN)
def test_printer(printer_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Queue a test page on a printer."""
    printer = _printer_or_404(printer_id)
    if ActionForm().validate_on_submit():
        services.queue_test_page(db.session, printer, actor=current_actor())
        db.session.commit()
        flash(f"Đã gửi trang in thử tới {printer.name}; xem kết quả trong hàng đợi in.", "success")
    return redirect(url_for("printing.printers"))


# -- A4/A5 forms ------------------------------------------------------------

@bp.route("/forms")
@allow(*QUEUE_ROLES)
def forms():  # type: ignore[no-untyped-def]
    """List the A4/A5 forms with sample renders (for checking printers and layout)."""
    return render_template("printing/forms.html", titles=FORM_TITLES)


@bp.route("/forms/<form>/sample.pdf")
@allow(*QUEUE_ROLES)
def form_sample(form: str):  # type: ignore[no-untyped-def]
    """A form rendered from its sample context (no patient data; not recorded)."""
    if form not in FORM_TYPES:
        abort(404)
    lines = request.args.get("lines", type=int)
    data = sample_context(form, lines=lines if lines is not None else 3) if form == "prescription" else sample_context(form)
    return pdf.form_response(db.session, form, data, actor=current_actor(), record=False,
                             download=bool(request.args.get("download")), filename=f"mau-{form}.pdf")


@bp.route("/forms/summary/<uuid:patient_id>.pdf")
@allow(*CLINICAL_FORM_ROLES)
def patient_summary(patient_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """The patient's record summary (A4), recorded and audited."""
    from station.patients.models import Patient
    from station.printing.adapters import summary_from_patient

    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    actor = current_actor()
    audit.record(db.session, actor, "patient.view", entity_type="patient", entity_id=patient.id,
                 detail={"purpose": "print.summary"})
    context = summary_from_patient(db.session, patient, now=SystemClock().now())
    response = pdf.form_response(db.session, "summary", context, actor=actor, patient_id=patient.id,
                                 subject_type="patient", subject_id=patient.id,
                                 download=bool(request.args.get("download")),
                                 filename=f"tom-tat-ho-so-{patient.code}-{local_today():%Y%m%d}.pdf")
    db.session.commit()
    return response
