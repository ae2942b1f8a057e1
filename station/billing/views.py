"""Cashier pages: the day's visits, a visit's invoice and payment, receipts, daily closing, prices, settings.

Thin views: form → service → one commit.  Who may open what:

* cashier and admin: everything of the cash desk;
* head of station: the daily closing totals only (no names, no receipts list);
* admin: price lists and billing settings (the cashier may read the price list).
"""

from __future__ import annotations

import io
import uuid
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from station.web.formutil import day_arg
from station.audit import services as audit
from station.auth.roles import Role
from station.auth.security import allow, current_actor
from station.billing import prices as price_lists
from station.billing import services
from station.billing.forms import (
    BaseSalaryForm,
    ConfirmTransferForm,
    CoverageForm,
    PaymentForm,
    PriceForm,
    PriceImportForm,
    ReasonForm,
    RefundForm,
    SettingsForm,
)
from station.billing.models import PAYMENT_METHODS, PRICE_KINDS, BaseSalary
from station.errors import StationError
from station.extensions import db

bp = Blueprint("billing", __name__, url_prefix="/billing")

CASH_DESK = (Role.CASHIER, Role.ADMIN)


def _day_arg() -> date:
    return day_arg()


def qr_svg(payload: str) -> str:
    """Return an inline SVG of *payload* (no external service, no CDN)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    text = buffer.getvalue().decode("utf-8")
    return text[text.index("<svg"):]


@bp.route("/")
@allow(*CASH_DESK)
def index():  # type: ignore[no-untyped-def]
    """List the day's visits with their bill status."""
    day = _day_arg()
    rows = services.day_invoices(db.session, day)
    return render_template("billing/index.html", day=day, rows=rows, status_labels=services.STATUS_LABELS)


@bp.route("/visits/<uuid:visit_id>")
@allow(*CASH_DESK)
def invoice(visit_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Show (and refresh while unpaid) the visit's invoice, with payment forms."""
    visit = services.get_visit(db.session, visit_id)
    actor = current_actor()
    bill = services.compute_invoice(db.session, visit, actor=actor)
    audit.record(db.session, actor, "billing.invoice.view", entity_type="visit", entity_id=visit.id)
    db.session.commit()
    awaiting = next((p for p in bill.payments if p.status == "awaiting"), None)
    form = PaymentForm(amount=str(bill.patient_due))
    return render_template(
        "billing/invoice.html", visit=visit, invoice=bill, form=form, coverage_form=CoverageForm(mode=bill.coverage_mode),
        confirm_form=ConfirmTransferForm(), reason_form=ReasonForm(), refund_form=RefundForm(),
        awaiting=awaiting, qr=qr_svg(awaiting.vietqr_payload) if awaiting else "",
        config=services.get_config(db.session), methods=PAYMENT_METHODS, status_labels=services.STATUS_LABELS, qty=services.plain_quantity)


def _back(visit_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return redirect(url_for("billing.invoice", visit_id=visit_id))


def _form_error(form) -> str:  # type: ignore[no-untyped-def]
    """Return the first validation message of *form*."""
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return "Biểu mẫu không hợp lệ."


@bp.route("/visits/<uuid:visit_id>/pay", methods=["POST"])
@allow(*CASH_DESK)
def pay(visit_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Take the patient share (cash, card) or start a VietQR transfer."""
    visit = services.get_visit(db.session, visit_id)
    form = PaymentForm()
    if not form.validate_on_submit():
        flash(_form_error(form), "danger")
        return _back(visit.id)
    try:
        bill = services.compute_invoice(db.session, visit, actor=current_actor())
        payment = services.record_payment(db.session, bill, method=form.method.data or "", amount=form.amount.data or "",
                                          reference=form.reference.data or "", actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _back(visit.id)
    db.session.commit()
    if payment.status == "awaiting":
        flash(f"Đã tạo biên lai {payment.number}: mời người bệnh quét mã VietQR, rồi xác nhận khi tiền về.", "info")
    else:
        change = f" Tiền thừa trả lại: {payment.change_given:,} đ.".replace(",", ".") if payment.change_given else ""
        flash(f"Đã thu tiền, biên lai {payment.number}; biên lai đang được in.{change}", "success")
    return _back(visit.id)


@bp.route("/visits/<uuid:visit_id>/coverage", methods=["POST"])
@allow(*CASH_DESK)
def coverage(visit_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Record the cashier's decision on BHYT (expired card, renewal confirmed on the portal)."""
    visit = services.get_visit(db.session, visit_id)
    form = CoverageForm()
    if not form.validate_on_submit():
        flash(_form_error(form), "danger")
        return _back(visit.id)
    try:
        bill = services.compute_invoice(db.session, visit, actor=current_actor())
        services.set_coverage_mode(db.session, bill, mode=form.mode.data or "auto", reason=form.reason.data or "",
                                   valid_to=form.valid_to.data, actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _back(visit.id)
    db.session.commit()
    flash("Đã ghi nhận cách tính BHYT và tính lại hóa đơn.", "success")
    return _back(visit.id)


@bp.route("/payments/<uuid:payment_id>/confirm", methods=["POST"])
@allow(*CASH_DESK)
def confirm(payment_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Confirm a VietQR transfer arrived."""
    payment = services.get_payment(db.session, payment_id)
    form = ConfirmTransferForm()
    if form.validate_on_submit():
        try:
            services.confirm_transfer(db.session, payment, reference=form.reference.data or "", actor=current_actor())
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return _back(payment.visit_id)
        db.session.commit()
        flash(f"Đã xác nhận chuyển khoản, biên lai {payment.number} đang được in.", "success")
    return _back(payment.visit_id)


@bp.route("/payments/<uuid:payment_id>/cancel", methods=["POST"])
@allow(*CASH_DESK)
def cancel(payment_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Cancel a receipt with a reason."""
    payment = services.get_payment(db.session, payment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("Hủy biên lai cần ghi rõ lý do (ít nhất 5 ký tự).", "danger")
        return _back(payment.visit_id)
    try:
        services.cancel_payment(db.session, payment, reason=form.reason.data or "", actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _back(payment.visit_id)
    db.session.commit()
    flash(f"Đã hủy biên lai {payment.number}.", "success")
    return _back(payment.visit_id)


@bp.route("/payments/<uuid:payment_id>/refund", methods=["POST"])
@allow(*CASH_DESK)
def refund(payment_id: uuid.UUID):  # type: ignore[no-untyped-def]
    """Refund part or all of a receipt, with a reason."""
    payment = services.get_payment(db.session, payment_id)
    form = RefundForm()
    if not form.validate_on_submit():
        flash(_form_error(form), "danger")
        return _back(payment.visit_id)
    try:
        services.refund_payment(db.session, payment, amount=form.amount.data or "", reason=form.reason.data or "",
                                actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return _back(payment.visit_id)
    db.session.commit()
    flash(f"Đã hoàn tiền trên biên lai {payment.number}.", "success")
    return _back(payment.visit_id)


# --------------------------------------------------------------------------- daily closing


def _closing(day: date):  # type: ignore[no-untyped-def]
    """Return the report for the current user: totals only for the head of station."""
    totals_only = current_user.role == Role.HEAD
    cashier = request.args.get("cashier", "").strip() or None
    report = services.closing_report(db.session, day, cashier_id=cashier, with_details=not totals_only)
    return report, totals_only


@bp.route("/closing")
@allow(Role.CASHIER, Role.ADMIN, Role.HEAD)
def closing():  # type: ignore[no-untyped-def]
    """The cashier's daily closing report on screen."""
    day = _day_arg()
    report, totals_only = _closing(day)
    audit.record(db.session, current_actor(), "billing.closing.view", entity_type="closing_day",
                 entity_id=day.isoformat())
    db.session.commit()
    return render_template("billing/closing.html", report=report, totals_only=totals_only, day=day,
                           methods=PAYMENT_METHODS)


@bp.route("/closing.pdf")
@allow(Role.CASHIER, Role.ADMIN, Role.HEAD)
def closing_pdf():  # type: ignore[no-untyped-def]
    """The daily closing report as an A4 PDF (WeasyPrint via station.printing.pdf)."""
    from station.admin.models import Facility
    from station.printing.pdf import html_to_pdf

    day = _day_arg()
    report, totals_only = _closing(day)
    facility = db.session.query(Facility).first()
    html = render_template("billing/closing_pdf.html", report=report, totals_only=totals_only, day=day,
                           facility=facility, printed_by=current_user.full_name, methods=PAYMENT_METHODS)
    audit.record(db.session, current_actor(), "billing.closing.pdf", entity_type="closing_day",
                 entity_id=day.isoformat())
    db.session.commit()
    return Response(html_to_pdf(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="chot-quy-{day.isoformat()}.pdf"'})


# --------------------------------------------------------------------------- prices and settings


@bp.route("/prices")
@allow(Role.ADMIN, Role.CASHIER)
def prices():  # type: ignore[no-untyped-def]
    """The price lists (in force on a day, or every dated row)."""
    query = request.args.get("q", "")
    kind = request.args.get("kind", "")
    show_all = request.args.get("all") == "1"
    on = None if show_all else _day_arg()
    rows = price_lists.list_prices(db.session, query=query, kind=kind if kind in PRICE_KINDS else "", on=on)
    return render_template("billing/prices.html", rows=rows, form=PriceForm(), import_form=PriceImportForm(),
                           query=query, kind=kind, on=on, show_all=show_all, kinds=PRICE_KINDS,
                           can_edit=current_user.role == Role.ADMIN)


@bp.route("/prices/add", methods=["POST"])
@allow(Role.ADMIN)
def price_add():  # type: ignore[no-untyped-def]
    """Add one dated price."""
    form = PriceForm()
    if not form.validate_on_submit():
        flash(_form_error(form), "danger")
        return redirect(url_for("billing.prices"))
    try:
        data = price_lists.validate_price(
            form.kind.data or "", form.code.data or "", form.name.data or "", form.hospital_price.data or "",
            form.bhyt_price.data or "", form.effective_from.data or "", unit=form.unit.data or "",
            effective_to=form.effective_to.data or "", group_code=form.group_code.data or "")
    except ValueError as error:
        flash(str(error), "danger")
        return redirect(url_for("billing.prices"))
    price_lists.save_price(db.session, data, actor=current_actor())
    db.session.commit()
    flash(f"Đã lưu giá {data.code} áp dụng từ {data.effective_from:%d/%m/%Y}.", "success")
    return redirect(url_for("billing.prices", all=1, q=data.code))


@bp.route("/prices/import", methods=["POST"])
@allow(Role.ADMIN)
def price_import():  # type: ignore[no-untyped-def]
    """Import a price-list CSV (all or nothing)."""
    form = PriceImportForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash("Cần chọn tệp CSV bảng giá.", "danger")
        return redirect(url_for("billing.prices"))
    try:
        report = price_lists.import_csv(db.session, upload.read(), actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("billing.prices"))
    db.session.commit()
    flash(f"Đã nhập bảng giá: {report.created} dòng mới, {report.updated} dòng cập nhật.", "success")
    return redirect(url_for("billing.prices", all=1))


@bp.route("/settings", methods=["GET", "POST"])
@allow(Role.ADMIN)
def settings():  # type: ignore[no-untyped-def]
    """Billing settings: receipt series, bank account for VietQR, claim codes, base salary."""
    config = services.get_config(db.session)
    form = SettingsForm(obj=config)
    if form.validate_on_submit():
        try:
            services.save_config(db.session, actor=current_actor(), **{
                name: getattr(form, name).data for name in (
                    "receipt_series", "bank_bin", "bank_account", "bank_account_name", "bank_is_demo", "receipt_room",
                    "commune_level", "head_bhxh_code", "department_code")})
        except StationError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            db.session.commit()
            flash("Đã lưu cấu hình thu ngân.", "success")
            return redirect(url_for("billing.settings"))
    salaries = db.session.query(BaseSalary).order_by(BaseSalary.effective_from.desc()).all()
    return render_template("billing/settings.html", form=form, config=config, salary_form=BaseSalaryForm(),
                           salaries=salaries, defaults=price_lists.base_salary_table(db.session))


@bp.route("/settings/base-salary", methods=["POST"])
@allow(Role.ADMIN)
def base_salary():  # type: ignore[no-untyped-def]
    """Add or change the base salary in force from a date."""
    form = BaseSalaryForm()
    if not form.validate_on_submit():
        flash(_form_error(form), "danger")
        return redirect(url_for("billing.settings"))
    try:
        price_lists.save_base_salary(db.session, form.effective_from.data or "", form.amount.data or "",
                                     form.source.data or "", actor=current_actor())
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("billing.settings"))
    db.session.commit()
    flash("Đã lưu mức lương cơ sở.", "success")
    return redirect(url_for("billing.settings"))
