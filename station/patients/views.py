"""Patient records on the web: search, registration with duplicate warning, the record page,
section editing, merge (admin) and the completeness statistics.

Who sees what (documented in docs/health-record-fields.md):

* admin, doctor, nurse, reception: search and open individual records (every opening audited);
* editing the administrative part, papers and BHYT cards: admin, doctor, nurse, reception;
* editing clinical history (allergies, diseases, risk factors, vaccinations...): doctor, nurse;
* merging records and reviewing merges: admin only;
* completeness statistics (aggregates, no names): admin, doctor, nurse, head of station;
* head of station and cashier never open an individual record here. The cashier works
  from the visit being paid (billing shows its name, code and card), not from the record.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from station.admin import services as admin_services
from station.audit import services as audit
from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.web.readonly import read_only
from station.clock import local_today
from station.errors import NotFound, StationError, ValidationFailed
from station.extensions import db
from station.patients import completeness, forms, merge, search as search_mod, services
from station.patients.models import Patient
from station.patients.timeline import collect
from station.web.formutil import options

bp = Blueprint("patients", __name__, url_prefix="/patients")
api = Blueprint("patients_api", __name__, url_prefix="/api/patients")
BLUEPRINTS = [bp, api]

RECORD_ROLES = (Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.RECEPTION)
CLINICAL_ROLES = (Role.DOCTOR, Role.NURSE)
STATS_ROLES = (Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.HEAD)


def _actor_patient(patient_id: str) -> Patient:
    """Load the patient of an edit page; showing the page (GET) is a read of the record, so it is audited."""
    if request.method == "GET":
        purpose = (request.endpoint or "patients.edit").rsplit(".", 1)[-1]
        return services.open_record(db.session, patient_id, actor=current_actor(), purpose=purpose)
    return services.get_patient(db.session, patient_id)


def _apply_error(form: Any, error: StationError) -> None:
    """Show a service error next to its field (and as a flash when the field is not on the form)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [error.message]
    else:
        flash(error.message, "danger")


def _fill_address_choices(form: forms.PatientForm) -> None:
    facility = admin_services.get_facility(db.session)
    province = form.province_code.data or (facility.province_code if facility else "01")
    form.province_code.choices = options([("", "— Chọn —")] + admin_services.province_choices())
    if not form.province_code.data:
        form.province_code.data = province
    try:
        communes = admin_services.commune_choices(province) if province else []
    except ValueError:
        communes = []
    form.commune_code.choices = options([("", "— Chọn —")] + communes)
    form.ethnicity_code.choices = options([("", "— Chọn —")] + [(c, f"{c} · {n}")
                                                                for c, n in services.ethnicities().items()])


# --- Search ----------------------------------------------------------------------------

@bp.route("/")
@allow(*RECORD_ROLES)
@read_only
def index():  # type: ignore[no-untyped-def]
    """The search box: a scanned QR or an identifier opens the record directly."""
    q = request.args.get("q", "")
    result = search_mod.search(db.session, q, today=local_today())
    if result.exact is not None:
        return redirect(url_for("patients.record", patient_id=result.exact.patient.id))
    _audit_hits(result.hits)
    return render_template("patients/index.html", result=result, q=q)


def _audit_hits(hits: list[Any]) -> None:
    """A result list shows names, birth years and identifiers: record which records were shown (not the query)."""
    if hits:
        audit.record(db.session, current_actor(), "patient.search", entity_type="patient",
                     detail={"results": len(hits), "shown": [str(h.patient.id) for h in hits[:50]]})


@api.route("/search")
@allow(*RECORD_ROLES)
@read_only
def api_search():  # type: ignore[no-untyped-def]
    """JSON search for the reception screen: {mode, kind, message, hits: [...]}."""
    q = request.args.get("q", "")
    try:
        limit = max(1, min(int(request.args.get("limit", "20")), 50))
    except ValueError:
        limit = 20
    result = search_mod.search(db.session, q, limit=limit, today=local_today())
    if result.exact is None:
        # A list of namesakes is a read of each record shown. An exact identifier match is the
        # card the person at the desk presented; opening their visit or record is audited next.
        _audit_hits(result.hits)
    return jsonify(mode=result.mode, kind=result.kind, message=result.message, birth_year=result.birth_year,
                   hits=[h.as_dict() for h in result.hits], parsed=result.parsed)


# --- Registration -------------------------------------------------------------------------

def _prefill_from_qr(form: forms.NewPatientForm, qr_text: str) -> list[str]:
    from station.patients.cccd import CccdQrError, parse_cccd_qr

    try:
        card = parse_cccd_qr(qr_text, today=local_today())
    except CccdQrError as error:
        flash(f"Mã QR CCCD không hợp lệ: {error}", "danger")
        return []
    form.full_name.data = card.display_name
    form.birth.data = card.birth_date.strftime("%d/%m/%Y")
    form.sex.data = card.sex
    form.cccd.data = card.number
    form.street.data = card.address[:200]
    return list(card.warnings)


@bp.route("/new", methods=["GET", "POST"])
@allow(*RECORD_ROLES)
def new():  # type: ignore[no-untyped-def]
    """Register a resident; an existing identifier or name+birth+sex shows candidates first."""
    form = forms.NewPatientForm()
    warnings: list[str] = []
    if request.method == "GET" and request.args.get("qr"):
        warnings = _prefill_from_qr(form, request.args["qr"])
    _fill_address_choices(form)
    candidates: list[services.DuplicateCandidate] = []
    if form.validate_on_submit():
        values = form.values()
        idents = [("cccd", form.cccd.data or "")]
        try:
            birth, precision = services.parse_birth(values["birth"], today=local_today())
            sex = services.normalize_sex(values["sex"])
            cccd_value = "".join((form.cccd.data or "").split())
            if cccd_value:
                services.normalize_identifier("cccd", cccd_value)
            if form.confirm_duplicate.data != "1":
                candidates = services.find_duplicates(db.session, full_name=values["full_name"], birth=birth, sex=sex,
                                                      birth_precision=precision, identifiers=idents,
                                                      bhyt_code=form.bhyt_code.data or "")
            if not candidates:
                patient = services.register_patient(db.session, values, actor=current_actor(), identifiers=idents)
                if (form.bhyt_code.data or "").strip():
                    services.add_bhyt_card(db.session, patient, form.bhyt_code.data or "", actor=current_actor())
                db.session.commit()
                flash(f"Đã tạo hồ sơ {patient.code} – {patient.full_name}.", "success")
                return redirect(url_for("patients.record", patient_id=patient.id))
            form.confirm_duplicate.data = "1"
        except StationError as error:
            db.session.rollback()
            _apply_error(form, error)
    status = 422 if request.method == "POST" else 200
    return render_template("patients/new.html", form=form, candidates=candidates, warnings=warnings), status


# --- The record -------------------------------------------------------------------------------

@bp.route("/<patient_id>")
@allow(*RECORD_ROLES)
@read_only
def record(patient_id: str):  # type: ignore[no-untyped-def]
    """The record page: identity, alerts, completeness N/46, sections and the timeline (audited)."""
    patient = services.open_record(db.session, patient_id, actor=current_actor())
    if patient.status == "merged":
        db.session.commit()
        survivor = services.survivor_of(db.session, patient)
        flash(f"Hồ sơ {patient.code} đã được gộp vào hồ sơ {survivor.code}.", "info")
        return redirect(url_for("patients.record", patient_id=survivor.id))
    today = local_today()
    score = completeness.evaluate(db.session, patient, today)
    timeline = collect(db.session, patient)
    db.session.commit()
    return render_template("patients/record.html", p=patient, score=score, timeline=timeline, today=today,
                           s=services, age=services.age_on(patient, today),
                           card=services.current_card(patient, today), action_form=forms.ActionForm(),
                           ident_form=forms.IdentifierForm(), bhyt_form=forms.BhytForm(),
                           commune=search_mod.commune_name(patient.commune_code),
                           declarable=completeness.DECLARABLE, groups=completeness.GROUPS,
                           can_edit_clinical=_role_in(CLINICAL_ROLES), can_merge=_role_in((Role.ADMIN,)))


def _role_in(roles: tuple[Role, ...]) -> bool:
    from flask_login import current_user

    return current_user.is_authenticated and current_user.role in roles


@bp.route("/<patient_id>/edit", methods=["GET", "POST"])
@allow(*RECORD_ROLES)
def edit(patient_id: str):  # type: ignore[no-untyped-def]
    patient = _actor_patient(patient_id)
    form = forms.PatientForm(obj=patient)
    if request.method == "GET":
        form.birth.data = services.format_birth(patient.birth_date, patient.birth_precision)
    _fill_address_choices(form)
    if form.validate_on_submit():
        try:
            changed = services.update_patient(db.session, patient, form.values(), actor=current_actor())
            db.session.commit()
            flash("Đã lưu thông tin hành chính." if changed else "Không có thay đổi.", "success")
            return redirect(url_for("patients.record", patient_id=patient.id))
        except StationError as error:
            db.session.rollback()
            _apply_error(form, error)
    return render_template("patients/edit.html", form=form, p=patient, title="Thông tin hành chính",
                           status=422 if request.method == "POST" else 200), (422 if request.method == "POST" else 200)


@bp.route("/<patient_id>/identifiers", methods=["POST"])
@allow(*RECORD_ROLES)
def add_identifier(patient_id: str):  # type: ignore[no-untyped-def]
    patient = _actor_patient(patient_id)
    form = forms.IdentifierForm()
    if form.validate_on_submit():
        try:
            issued = services.parse_date(form.issued_on.data, label="Ngày cấp", field_name="issued_on",
                                         today=local_today())
            ident = services.add_identifier(db.session, patient, form.kind.data or "", form.value.data or "",
                                            actor=current_actor(), issued_on=issued)
            db.session.commit()
            flash("Đã thêm giấy tờ; số cũ cùng loại (nếu có) được giữ trong lịch sử.", "success")
            for warning in getattr(ident, "warnings", []):
                flash(warning, "warning")
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return redirect(url_for("patients.record", patient_id=patient.id) + "#giay-to")


@bp.route("/<patient_id>/identifiers/<ident_id>/cancel", methods=["POST"])
@allow(*RECORD_ROLES)
def cancel_identifier(patient_id: str, ident_id: str):  # type: ignore[no-untyped-def]
    patient = _actor_patient(patient_id)
    ident = next((i for i in patient.identifiers if str(i.id) == ident_id), None)
    if ident is None:
        raise NotFound("Không tìm thấy giấy tờ này trong hồ sơ.")
    form = forms.CancelForm()
    if form.validate_on_submit():
        services.cancel_identifier(db.session, ident, actor=current_actor(), reason=form.reason.data or "")
        db.session.commit()
        flash("Đã đánh dấu giấy tờ là đã hủy (vẫn lưu trong lịch sử).", "success")
    return redirect(url_for("patients.record", patient_id=patient.id) + "#giay-to")


@bp.route("/<patient_id>/bhyt", methods=["POST"])
@allow(*RECORD_ROLES)
def add_bhyt(patient_id: str):  # type: ignore[no-untyped-def]
    patient = _actor_patient(patient_id)
    form = forms.BhytForm()
    if form.validate_on_submit():
        try:
            services.add_bhyt_card(db.session, patient, form.card_code.data or "", actor=current_actor(),
                                   valid_from=form.valid_from.data, valid_to=form.valid_to.data,
                                   registered_facility=form.registered_facility.data or "",
                                   five_years_on=form.five_years_on.data)
            db.session.commit()
            flash("Đã lưu thẻ BHYT. Mức hưởng lấy từ cổng giám định BHXH, không suy ra từ mã thẻ.", "success")
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return redirect(url_for("patients.record", patient_id=patient.id) + "#bhyt")


# --- History sections -------------------------------------------------------------------------------

ADDERS = {"allergies": services.add_allergy, "conditions": services.add_condition,
          "surgeries": services.add_surgery, "family": services.add_family_history,
          "disabilities": services.add_disability, "vaccinations": services.add_vaccination}


@bp.route("/<patient_id>/section/<section>", methods=["GET", "POST"])
@allow(*CLINICAL_ROLES)
def section(patient_id: str, section: str):  # type: ignore[no-untyped-def]
    """Add entries to a list section (allergies, diseases, surgeries, family, disabilities, vaccinations)."""
    if section not in forms.SECTION_FORMS:
        raise NotFound("Không có mục này trong hồ sơ.")
    patient = _actor_patient(patient_id)
    form = forms.SECTION_FORMS[section]()
    if form.validate_on_submit():
        data = {name: f.data for name, f in form._fields.items() if name != "csrf_token"}
        try:
            ADDERS[section](db.session, patient, actor=current_actor(), **data)
            db.session.commit()
            flash("Đã lưu.", "success")
            return redirect(url_for("patients.section", patient_id=patient.id, section=section))
        except StationError as error:
            db.session.rollback()
            _apply_error(form, error)
    _, rel, title = services.LIST_SECTIONS[section]
    status = 422 if request.method == "POST" else 200
    return render_template("patients/section.html", p=patient, form=form, section=section, title=title,
                           entries=getattr(patient, rel), s=services, action_form=forms.ActionForm(),
                           declarable=completeness.DECLARABLE), status


@bp.route("/<patient_id>/section/<section>/<entry_id>/remove", methods=["POST"])
@allow(*CLINICAL_ROLES)
def remove_entry(patient_id: str, section: str, entry_id: str):  # type: ignore[no-untyped-def]
    patient = _actor_patient(patient_id)
    if forms.ActionForm().validate_on_submit():
        services.remove_entry(db.session, patient, section, entry_id, actor=current_actor())
        db.session.commit()
        flash("Đã bỏ mục này.", "success")
    return redirect(url_for("patients.section", patient_id=patient.id, section=section))


@bp.route("/<patient_id>/section/<section>/none", methods=["POST"])
@allow(*CLINICAL_ROLES)
def declare_none(patient_id: str, section: str):  # type: ignore[no-untyped-def]
    patient = _actor_patient(patient_id)
    if forms.ActionForm().validate_on_submit():
        try:
            services.declare_none(db.session, patient, section, actor=current_actor())
            db.session.commit()
            flash(f"Đã ghi nhận: {completeness.DECLARABLE.get(section, '')}.", "success")
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
    return redirect(url_for("patients.record", patient_id=patient.id))


SINGLE = {
    "risk": (forms.RiskForm, "risk_factors", services.save_risk_factors, "Yếu tố nguy cơ"),
    "reproductive": (forms.ReproductiveForm, "reproductive", services.save_reproductive,
                     "Tiền sử sinh sản và kế hoạch hóa gia đình"),
    "birth": (forms.BirthForm, "birth_conditions", services.save_birth_conditions, "Tình trạng khi sinh"),
}


@bp.route("/<patient_id>/history/<part>", methods=["GET", "POST"])
@allow(*CLINICAL_ROLES)
def history(patient_id: str, part: str):  # type: ignore[no-untyped-def]
    """Edit one-per-patient sections: risk factors, reproductive history, conditions at birth."""
    if part not in SINGLE:
        raise NotFound("Không có mục này trong hồ sơ.")
    patient = _actor_patient(patient_id)
    form_class, rel, save, title = SINGLE[part]
    current = getattr(patient, rel)
    form = form_class(obj=current)
    if request.method == "GET" and current is not None and part == "birth":
        form.premature.data = {True: "yes", False: "no"}.get(current.premature, "")
        form.asphyxia.data = {True: "yes", False: "no"}.get(current.asphyxia, "")
    if request.method == "GET" and current is not None and part == "reproductive" and current.last_menstrual_period:
        form.last_menstrual_period.data = current.last_menstrual_period.strftime("%d/%m/%Y")
    if form.validate_on_submit():
        data = {name: f.data for name, f in form._fields.items() if name != "csrf_token"}
        if part == "birth":
            data["premature"] = {"yes": True, "no": False}.get(data["premature"])
            data["asphyxia"] = {"yes": True, "no": False}.get(data["asphyxia"])
        try:
            save(db.session, patient, data, actor=current_actor())
            db.session.commit()
            flash("Đã lưu.", "success")
            return redirect(url_for("patients.record", patient_id=patient.id))
        except StationError as error:
            db.session.rollback()
            _apply_error(form, error)
    status = 422 if request.method == "POST" else 200
    return render_template("patients/edit.html", form=form, p=patient, title=title), status


# --- Merge ------------------------------------------------------------------------------------------------

@bp.route("/<patient_id>/merge", methods=["GET", "POST"])
@allow(Role.ADMIN)
def merge_into(patient_id: str):  # type: ignore[no-untyped-def]
    """Merge another record (by its patient code) into this one, which is kept."""
    survivor = _actor_patient(patient_id)
    form = forms.MergeForm()
    other = None
    code = (form.other_code.data or request.args.get("other", "")).strip().upper()
    if code:
        other = db.session.scalar(select(Patient).where(Patient.code == code))
    if form.validate_on_submit():
        try:
            if other is None:
                raise ValidationFailed(f"Không có hồ sơ mang mã {code}.", field="other_code")
            if not form.confirm.data:
                raise ValidationFailed("Hãy đánh dấu xác nhận hai hồ sơ là cùng một người.", field="confirm")
            services.open_record(db.session, other.id, actor=current_actor(), purpose="merge")
            merge.merge_patients(db.session, survivor, other, actor=current_actor(), reason=form.reason.data or "")
            db.session.commit()
            flash(f"Đã gộp hồ sơ {other.code} vào hồ sơ {survivor.code}.", "success")
            return redirect(url_for("patients.record", patient_id=survivor.id))
        except StationError as error:
            db.session.rollback()
            _apply_error(form, error)
    if request.method == "GET" and code:
        form.other_code.data = code
        if other is not None:  # the preview shows the other record's identity: a read of it
            services.open_record(db.session, other.id, actor=current_actor(), purpose="merge_preview")
    status = 422 if request.method == "POST" else 200
    return render_template("patients/merge.html", form=form, p=survivor, other=other, s=services,
                           commune_name=search_mod.commune_name), status


@bp.route("/merges")
@allow(Role.ADMIN)
def merges():  # type: ignore[no-untyped-def]
    """Review of the merges done (who, when, why, what moved)."""
    import json

    rows = merge.merges(db.session)
    ids = {r.survivor_id for r in rows} | {r.merged_id for r in rows}
    by_id = {p.id: p for p in db.session.scalars(select(Patient).where(Patient.id.in_(ids)))} if ids else {}
    return render_template("patients/merges.html", rows=rows, by_id=by_id, loads=json.loads)


# --- Completeness -------------------------------------------------------------------------------------------

@bp.route("/completeness")
@allow(*STATS_ROLES)
def completeness_page():  # type: ignore[no-untyped-def]
    """How complete the records of the commune are: aggregates only (the head of station sees this)."""
    facility = admin_services.get_facility(db.session)
    commune = request.args.get("commune", facility.commune_code if facility else "")
    if commune == "all":
        commune = ""
    stats = completeness.commune_completeness(db.session, local_today(), commune or None)
    return render_template("patients/completeness.html", stats=stats, commune=commune,
                           commune_label=search_mod.commune_name(commune) if commune else "Tất cả hồ sơ",
                           fields=completeness.FIELDS, groups=completeness.GROUPS, total=completeness.TOTAL)

