"""Billing services: invoice of a visit, payments and receipts, cancellations, refunds, daily closing.

Every function follows the unit-of-work rule: it flushes, the caller commits
once.  Totals come from :func:`station.billing.coverage.compute_coverage`
only; this module stores them on the :class:`~station.billing.models.Invoice`
and never adds money up itself, except the closing report's sums of
receipts.  Every change is written to the audit trail; nothing here logs
patient data.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from printers.layouts import ReceiptData, ReceiptItem
from station.visits.services import find_visit
from station.admin.models import Facility
from station.admin.numbering import next_number
from station.audit import services as audit
from station.audit.services import Actor
from station.billing import coverage as cov
from station.billing import prices as price_lists
from station.billing import sources
from station.billing.models import PAYMENT_METHODS, BillingConfig, Invoice, InvoiceLine, Payment, Refund
from station.billing.money import MoneyError, format_dong, parse_vnd
from station.billing.vietqr import VietQrError, build_vietqr
from station.clock import Clock, SystemClock, to_local
from station.errors import Conflict, NotFound, ValidationFailed
from station.patients.models import BhytCard, Patient
from station.printing import services as printing
from station.text import clean
from station.visits.models import Visit

KIND_LABELS = {"service": "Dịch vụ", "drug": "Thuốc", "supply": "Vật tư"}
MIN_REASON_LENGTH = 5
SERIES_PATTERN_HELP = ("Ký hiệu biên lai gồm 1–17 chữ cái không dấu, chữ số hoặc dấu gạch ngang, ví dụ BL2026 "
                       "(số biên lai là nội dung chuyển khoản VietQR, tối đa 25 ký tự).")


# --------------------------------------------------------------------------- configuration


def get_config(session: Session) -> BillingConfig:
    """Return the billing settings row (an unsaved default when none has been stored yet)."""
    row = session.scalar(select(BillingConfig).limit(1))
    return row if row is not None else BillingConfig(
        receipt_series="BL", bank_bin="", bank_account="", bank_account_name="", bank_is_demo=False,
        receipt_room="THU", commune_level=True, head_bhxh_code="", department_code="K01")


def save_config(session: Session, *, actor: Actor, **values: Any) -> BillingConfig:
    """Validate and store the billing settings (audited, flush only)."""
    import re

    series = clean(str(values.get("receipt_series", ""))).upper()
    # The receipt number "<series>-0000001" is the VietQR purpose (tag 62/08), at most 25 characters.
    if not re.fullmatch(r"[A-Z0-9-]{1,17}", series):
        raise ValidationFailed(SERIES_PATTERN_HELP, field="receipt_series")
    bank_bin = "".join(str(values.get("bank_bin", "")).split())
    bank_account = "".join(str(values.get("bank_account", "")).split())
    if bank_bin or bank_account:
        try:
            build_vietqr(bank_bin, bank_account)
        except VietQrError as exc:
            raise ValidationFailed(f"Cấu hình tài khoản VietQR không hợp lệ: {exc}", field="bank_bin") from None
    row = session.scalar(select(BillingConfig).limit(1))
    created = row is None
    if row is None:
        row = get_config(session)
        session.add(row)
    before = {"receipt_series": row.receipt_series, "bank_bin": row.bank_bin, "bank_account": row.bank_account}
    row.receipt_series = series
    row.bank_bin = bank_bin
    row.bank_account = bank_account
    row.bank_account_name = clean(str(values.get("bank_account_name", "")))[:100]
    row.bank_is_demo = bool(values.get("bank_is_demo", False))
    row.receipt_room = clean(str(values.get("receipt_room", "")))[:10]
    row.commune_level = bool(values.get("commune_level", True))
    row.head_bhxh_code = clean(str(values.get("head_bhxh_code", "")))[:10]
    row.department_code = clean(str(values.get("department_code", "")))[:20]
    session.flush()
    audit.record(session, actor, "billing.config.create" if created else "billing.config.update",
                 entity_type="billing_config", entity_id=row.id,
                 detail={"before": before, "receipt_series": series, "bank_bin": bank_bin,
                         "bank_account": bank_account})
    return row


def coverage_settings(session: Session) -> cov.CoverageSettings:
    """Return the coverage rules with the station's base-salary table."""
    return cov.CoverageSettings(base_salary=price_lists.base_salary_table(session))


# --------------------------------------------------------------------------- invoice


def visit_day(visit: Visit) -> date:
    """Return the local date of the visit (the date that picks prices and checks the card)."""
    return to_local(visit.arrived_at).date()


def get_visit(session: Session, visit_id: object) -> Visit:
    """Return the visit or raise NotFound (the visits area's one lookup)."""
    return find_visit(session, visit_id)


def invoice_for(session: Session, visit: Visit) -> Invoice | None:
    """Return the visit's invoice if one has been computed."""
    return session.scalar(select(Invoice).where(Invoice.visit_id == visit.id)
                          .options(selectinload(Invoice.lines), selectinload(Invoice.payments)))


@dataclass
class _Benefit:
    """The benefit decided for a visit, with the warning to show."""

    benefit: cov.Benefit | None
    card: BhytCard | None
    note: str = ""


def _card_level(card: BhytCard) -> int | None:
    """Return the benefit level (third character of the card code) or None."""
    code = (card.card_code or "").strip()
    return int(code[2]) if len(code) >= 3 and code[2].isdigit() else None


def _decide_benefit(invoice: Invoice, visit: Visit, day: date) -> _Benefit:
    """Decide whether the visit is billed to BHYT, from the portal data on the card and the cashier's choice."""
    card = visit.bhyt_card
    if card is None or visit.eligibility in ("uninsured", "rejected"):
        note = "Thẻ BHYT bị cổng BHXH từ chối; người bệnh trả như không có BHYT." if (
            card is not None and visit.eligibility == "rejected") else ""
        return _Benefit(None, None, note)
    if invoice.coverage_mode == "uninsured":
        return _Benefit(None, card, f"Thu ngân ghi nhận trả như không có BHYT: {invoice.coverage_mode_reason}")
    if card.benefit_percent is None:
        return _Benefit(None, card, "Chưa có mức hưởng từ cổng BHXH (thẻ chưa được tra cứu); tạm tính như không có "
                                    "BHYT. Tra cứu lại thẻ rồi tính lại hóa đơn.")
    level = _card_level(card)
    if level is None or level not in range(1, 6):
        return _Benefit(None, card, f"Mã thẻ BHYT {card.card_code} không có mức hưởng hợp lệ ở ký tự thứ 3; "
                                    "tạm tính như không có BHYT.")
    valid_from = card.valid_from or day
    valid_to = card.valid_to or day
    if invoice.coverage_mode == "card_confirmed" and invoice.confirmed_valid_to is not None:
        valid_to = invoice.confirmed_valid_to
    if day < valid_from:
        return _Benefit(None, card, f"Thẻ BHYT chưa có giá trị vào ngày khám {day:%d/%m/%Y} (giá trị từ "
                                    f"{valid_from:%d/%m/%Y}); người bệnh trả như không có BHYT.")
    if day > valid_to:
        return _Benefit(None, card, f"Thẻ BHYT đã hết hạn vào ngày khám {day:%d/%m/%Y} (hết giá trị ngày "
                                    f"{valid_to:%d/%m/%Y}); người bệnh trả như không có BHYT, trừ khi thu ngân "
                                    "ghi nhận thẻ đã được gia hạn theo tra cứu cổng BHXH.")
    return _Benefit(cov.Benefit(muc_huong=Decimal(card.benefit_percent), benefit_level=level,
                                card_valid_from=valid_from, card_valid_to=valid_to), card)


def _missing_price_message(item: sources.SourceItem, day: date) -> str:
    """Return the message for an item without a price in force."""
    label = {"drug": "Thuốc", "service": "Dịch vụ", "supply": "Vật tư"}.get(item.kind, "Mục")
    return (f"{label} {item.name} (mã {item.code}) chưa có giá áp dụng vào ngày {day:%d/%m/%Y}; "
            "hãy thêm giá vào bảng giá rồi tính lại.")


def compute_invoice(session: Session, visit: Visit, *, actor: Actor, clock: Clock | None = None) -> Invoice:
    """Create or refresh the visit's invoice from its services and drugs (frozen once awaiting/paid).

    Items without a price in force are listed in ``invoice.problems`` (which
    blocks payment); an expired card bills the visit as uninsured with a note.
    A recompute that changes nothing is not written or audited.
    """
    now = (clock or SystemClock()).now()
    invoice = invoice_for(session, visit)
    if invoice is not None and invoice.status != "open":
        return invoice
    created = invoice is None
    if invoice is None:
        invoice = Invoice(visit_id=visit.id, visit_key=visit.visit_key, patient_id=visit.patient_id, status="open",
                          coverage_mode="auto", coverage_mode_reason="", lines=[], payments=[])
    day = visit_day(visit)
    items = sources.visit_items(session, visit)
    found = price_lists.prices_in_force(session, {(item.kind, item.code) for item in items}, day)
    problems: list[str] = []
    charges: list[cov.ChargeLine] = []
    priced: list[tuple[sources.SourceItem, Any]] = []
    for item in items:
        row = found.get((item.kind, item.code))
        if row is None:
            problems.append(_missing_price_message(item, day))
            continue
        priced.append((item, row))
        charges.append(cov.ChargeLine(
            line_id=item.ref, kind=cov.ChargeKind(item.kind), code=item.claim_code or item.code, name=item.name,
            quantity=item.quantity, unit_price_bv=int(row.hospital_price),
            unit_price_bh=None if row.bhyt_price is None else int(row.bhyt_price), covered=row.covered,
            coverage_ratio=Decimal(row.coverage_ratio), service_ratio=item.service_ratio))
    decided = _decide_benefit(invoice, visit, day)
    config = get_config(session)
    result: cov.CoverageResult | None = None
    try:
        result = cov.compute_coverage(charges, visit_date=day, benefit=decided.benefit,
                                      commune_level=config.commune_level, settings=coverage_settings(session))
    except cov.CoverageError as exc:
        problems.append(str(exc))
    fingerprint = _fingerprint(visit, day, priced, decided, result, problems)
    if not created and fingerprint == invoice.fingerprint:
        return invoice
    _store(invoice, visit, day, priced, decided, result, problems)
    invoice.fingerprint = fingerprint
    invoice.computed_at = now
    if created:
        session.add(invoice)
    session.flush()
    audit.record(session, actor, "billing.invoice.compute", entity_type="visit", entity_id=visit.id,
                 detail={"invoice": str(invoice.id), "t_tongchi_bv": invoice.t_tongchi_bv,
                         "t_bhtt": invoice.t_bhtt, "patient_due": invoice.patient_due,
                         "problems": len(problems)}, clock=clock)
    return invoice


def _fingerprint(visit: Visit, day: date, priced: list[tuple[sources.SourceItem, Any]], decided: _Benefit,
                 result: cov.CoverageResult | None, problems: list[str]) -> str:
    """Return a hash of everything the invoice shows."""
    body = {
        "day": day.isoformat(),
        "items": [[item.ref, item.code, str(plain_quantity(item.quantity)), str(row.id)] for item, row in priced],
        "benefit": None if decided.benefit is None else [str(decided.benefit.muc_huong), decided.benefit.benefit_level,
                                                          decided.benefit.card_valid_to.isoformat()],
        "totals": None if result is None else asdict(result.totals),
        "problems": problems,
        "note": decided.note,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _store(invoice: Invoice, visit: Visit, day: date, priced: list[tuple[sources.SourceItem, Any]],
           decided: _Benefit, result: cov.CoverageResult | None, problems: list[str]) -> None:
    """Write lines and totals onto *invoice*."""
    invoice.visit_date = day
    card = decided.card
    benefit = decided.benefit
    invoice.insured = benefit is not None
    invoice.card_code = card.card_code if (card is not None and benefit is not None) else ""
    invoice.card_valid_from = benefit.card_valid_from if benefit else None
    invoice.card_valid_to = benefit.card_valid_to if benefit else None
    invoice.registered_facility = card.registered_facility if (card is not None and benefit) else ""
    invoice.area_code = card.area_code if (card is not None and benefit) else ""
    invoice.five_years_on = card.five_years_on if (card is not None and benefit) else None
    invoice.benefit_level = benefit.benefit_level if benefit else None
    invoice.portal_benefit = benefit.muc_huong if benefit else None
    invoice.coverage_note = decided.note[:500]
    invoice.problems = "\n".join(problems)
    invoice.lines.clear()
    totals = result.totals if result is not None else None
    for name in ("t_thuoc", "t_vtyt", "t_tongchi_bv", "t_tongchi_bh", "t_bntt", "t_bncct", "t_bhtt", "t_nguonkhac",
                 "t_bhtt_gdv"):
        setattr(invoice, name, getattr(totals, name) if totals else 0)
    invoice.patient_due = (totals.t_bncct + totals.t_bntt) if totals else 0
    invoice.applied_benefit = result.muc_huong if result else Decimal(0)
    invoice.coverage_rule = result.rule.value if result else cov.CoverageRule.UNINSURED.value
    invoice.base_salary = result.base_salary if result else None
    if result is None:
        return
    for position, (item, row) in enumerate(priced, start=1):
        share = result.line(item.ref)
        detail = dict(item.detail)
        detail["claim_code"] = item.claim_code or item.code
        invoice.lines.append(InvoiceLine(
            position=position, line_key=item.ref[:80], kind=item.kind, code=item.code, name=item.name[:255],
            unit=(item.unit or row.unit)[:50], group_code=row.group_code, quantity=item.quantity,
            unit_price_bv=int(row.hospital_price),
            unit_price_bh=None if row.bhyt_price is None else int(row.bhyt_price), covered=row.covered,
            coverage_ratio=share.coverage_ratio, service_ratio=item.service_ratio, price_from=row.effective_from,
            thanh_tien_bv=share.thanh_tien_bv, thanh_tien_bh=share.thanh_tien_bh, muc_huong=share.muc_huong,
            t_bhtt=share.t_bhtt, t_bncct=share.t_bncct, t_bntt=share.t_bntt, t_nguonkhac=share.t_nguonkhac,
            ordered_at=item.ordered_at,
            detail=json.dumps({**detail, "strength": row.strength, "route": row.route,
                               "registration_no": row.registration_no, "tender_info": row.tender_info},
                              ensure_ascii=False)))


def set_coverage_mode(session: Session, invoice: Invoice, *, mode: str, reason: str, actor: Actor,
                      valid_to: date | None = None, clock: Clock | None = None) -> Invoice:
    """Record the cashier's decision on BHYT for an unpaid invoice (audited), then recompute."""
    if invoice.status != "open":
        raise Conflict("Hóa đơn đã thu tiền hoặc đang chờ chuyển khoản; hủy biên lai trước khi đổi cách tính BHYT.")
    if mode not in ("auto", "uninsured", "card_confirmed"):
        raise ValidationFailed("Cách tính BHYT không hợp lệ.", field="mode")
    reason = clean(reason)
    if mode != "auto" and len(reason) < MIN_REASON_LENGTH:
        raise ValidationFailed("Cần ghi rõ lý do (ít nhất 5 ký tự) khi thay đổi cách tính BHYT.", field="reason")
    if mode == "card_confirmed" and valid_to is None:
        raise ValidationFailed("Cần nhập hạn thẻ mới theo kết quả tra cứu cổng BHXH.", field="valid_to")
    invoice.coverage_mode = mode
    invoice.coverage_mode_reason = reason[:255]
    invoice.confirmed_valid_to = valid_to if mode == "card_confirmed" else None
    invoice.fingerprint = ""
    session.flush()
    audit.record(session, actor, "billing.invoice.coverage_mode", entity_type="visit", entity_id=invoice.visit_id,
                 detail={"mode": mode, "reason": reason, "valid_to": valid_to.isoformat() if valid_to else None},
                 clock=clock)
    visit = session.get(Visit, invoice.visit_id)
    assert visit is not None
    return compute_invoice(session, visit, actor=actor, clock=clock)


# --------------------------------------------------------------------------- payments


def parse_amount(text: str | int, label: str = "Số tiền") -> int:
    """Parse an amount typed by the cashier: whole đồng only, clear message otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    raw = str(text).strip()
    if not raw:
        raise ValidationFailed(f"Cần nhập {label.lower()}.", field="amount")
    try:
        value = parse_vnd(raw)
    except MoneyError:
        raise ValidationFailed(f"{label} phải là số nguyên đồng, không có phần lẻ "
                               f"(nhận được {raw!r}; ví dụ 125.000 hoặc 125000).", field="amount") from None
    if value < 0:
        raise ValidationFailed(f"{label} không được âm.", field="amount")
    return value


def _ensure_payable(invoice: Invoice) -> None:
    """Refuse to take money for an invoice that is not ready."""
    if invoice.status == "paid":
        raise Conflict("Hóa đơn này đã được thu tiền.")
    if invoice.status == "awaiting":
        raise Conflict("Hóa đơn đang chờ xác nhận chuyển khoản VietQR.")
    if invoice.problem_list:
        raise ValidationFailed("Chưa thể thu tiền: " + " ".join(invoice.problem_list))
    if not invoice.lines:
        raise ValidationFailed("Lượt khám chưa có dịch vụ hoặc thuốc nào để thu tiền.")


def _new_receipt(session: Session, invoice: Invoice, *, method: str, actor: Actor, now: datetime,
                 series: str) -> Payment:
    """Create a receipt with the next gap-free number of *series* (in the caller's transaction)."""
    sequence = next_number(session, f"receipt:{series}")
    payment = Payment(invoice_id=invoice.id, visit_id=invoice.visit_id, patient_id=invoice.patient_id, series=series,
                      sequence=sequence, number=f"{series}-{sequence:07d}", method=method,
                      amount=invoice.patient_due, status="paid", vietqr_payload="", reference="", issued_at=now,
                      business_day=to_local(now).date(), cashier_id=actor.id[:64], cashier_label=actor.label[:120],
                      refunded=0, cancelled_by="", cancel_reason="")
    invoice.payments.append(payment)
    session.add(payment)
    return payment


def record_payment(session: Session, invoice: Invoice, *, method: str, amount: str | int, actor: Actor,
                   reference: str = "", clock: Clock | None = None) -> Payment:
    """Take the patient share by cash or card (paid at once) or start a VietQR transfer (awaiting).

    Cash: *amount* is what the patient handed over (≥ the share; change is
    recorded).  Card and VietQR: *amount* must equal the share.  The receipt
    number is taken from the series in this transaction; a paid receipt
    queues its thermal print job in the same transaction.
    """
    now = (clock or SystemClock()).now()
    if method not in PAYMENT_METHODS:
        raise ValidationFailed("Hình thức thanh toán không hợp lệ (tiền mặt, VietQR hoặc thẻ).", field="method")
    _ensure_payable(invoice)
    value = parse_amount(amount)
    due = invoice.patient_due
    config = get_config(session)
    if method == "cash":
        if value < due:
            raise ValidationFailed(f"Số tiền nhận ({format_dong(value)}) ít hơn số người bệnh phải trả "
                                   f"({format_dong(due)}).", field="amount")
    elif value != due:
        raise ValidationFailed(f"Số tiền thanh toán ({format_dong(value)}) phải bằng số người bệnh phải trả "
                               f"({format_dong(due)}).", field="amount")
    payload = ""
    if method == "vietqr":
        if due <= 0:
            raise ValidationFailed("Người bệnh không phải trả tiền; không cần chuyển khoản.", field="method")
        if not (config.bank_bin and config.bank_account):
            raise ValidationFailed("Trạm chưa cấu hình tài khoản ngân hàng (mã BIN, số tài khoản) cho VietQR.",
                                   field="method")
    payment = _new_receipt(session, invoice, method=method, actor=actor, now=now, series=config.receipt_series)
    payment.reference = clean(reference)[:60]
    if method == "cash":
        payment.received = value
        payment.change_given = value - due
    if method == "vietqr":
        try:
            payload = build_vietqr(config.bank_bin, config.bank_account, amount=due, purpose=payment.number)
        except VietQrError as exc:
            raise ValidationFailed(f"Không tạo được mã VietQR: {exc}") from None
        payment.vietqr_payload = payload
        payment.status = "awaiting"
        invoice.status = "awaiting"
    else:
        payment.paid_at = now
        invoice.status = "paid"
        invoice.paid_at = now
    session.flush()
    audit.record(session, actor, "billing.payment.record", entity_type="payment", entity_id=payment.id,
                 detail={"visit": str(invoice.visit_id), "number": payment.number, "method": method,
                         "amount": payment.amount, "status": payment.status}, clock=clock)
    if payment.status == "paid":
        queue_receipt(session, payment, actor=actor)
    return payment


def confirm_transfer(session: Session, payment: Payment, *, actor: Actor, reference: str = "",
                     clock: Clock | None = None) -> Payment:
    """Confirm that the VietQR transfer arrived: the receipt becomes paid and is printed (audited)."""
    now = (clock or SystemClock()).now()
    if payment.status != "awaiting":
        raise Conflict("Biên lai không ở trạng thái chờ chuyển khoản.")
    payment.status = "paid"
    payment.paid_at = now
    payment.business_day = to_local(now).date()
    payment.reference = clean(reference)[:60] or payment.reference
    invoice = payment.invoice
    invoice.status = "paid"
    invoice.paid_at = now
    session.flush()
    audit.record(session, actor, "billing.payment.confirm", entity_type="payment", entity_id=payment.id,
                 detail={"number": payment.number, "reference": payment.reference}, clock=clock)
    queue_receipt(session, payment, actor=actor)
    return payment


def cancel_payment(session: Session, payment: Payment, *, reason: str, actor: Actor,
                   clock: Clock | None = None) -> Payment:
    """Cancel a receipt (keeps its number, listed on the closing report); the invoice reopens. Audited."""
    now = (clock or SystemClock()).now()
    reason = clean(reason)
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationFailed("Hủy biên lai cần ghi rõ lý do (ít nhất 5 ký tự).", field="reason")
    if payment.status == "cancelled":
        raise Conflict(f"Biên lai {payment.number} đã bị hủy trước đó.")
    if payment.refunded:
        raise Conflict(f"Biên lai {payment.number} đã hoàn tiền {format_dong(payment.refunded)}; "
                       "không thể hủy biên lai đã hoàn tiền.")
    previous = payment.status
    payment.status = "cancelled"
    payment.cancelled_at = now
    payment.cancelled_by = actor.label[:120]
    payment.cancel_reason = reason[:255]
    invoice = payment.invoice
    invoice.status = "open"
    invoice.paid_at = None
    invoice.fingerprint = ""
    session.flush()
    audit.record(session, actor, "billing.payment.cancel", entity_type="payment", entity_id=payment.id,
                 detail={"number": payment.number, "reason": reason, "was": previous, "amount": payment.amount},
                 clock=clock)
    return payment


def refund_payment(session: Session, payment: Payment, *, amount: str | int, reason: str, actor: Actor,
                   clock: Clock | None = None) -> Refund:
    """Give money back on a paid receipt: needs a reason, never more than what remains. Audited."""
    now = (clock or SystemClock()).now()
    reason = clean(reason)
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationFailed("Hoàn tiền cần ghi rõ lý do (ít nhất 5 ký tự).", field="reason")
    if payment.status != "paid":
        raise Conflict(f"Chỉ hoàn tiền cho biên lai đã thu (biên lai {payment.number} đang ở trạng thái "
                       f"{STATUS_LABELS.get(payment.status, payment.status)}).")
    value = parse_amount(amount, "Số tiền hoàn")
    if value <= 0:
        raise ValidationFailed("Số tiền hoàn phải lớn hơn 0 đồng.", field="amount")
    remaining = payment.amount - payment.refunded
    if value > remaining:
        raise ValidationFailed(f"Số tiền hoàn ({format_dong(value)}) lớn hơn số tiền còn lại của biên lai "
                               f"{payment.number} ({format_dong(remaining)}).", field="amount")
    refund = Refund(amount=value, reason=reason[:255], refunded_at=now, business_day=to_local(now).date(),
                    refunded_by=actor.label[:120])
    payment.refunds.append(refund)
    payment.refunded = payment.refunded + value
    session.flush()
    audit.record(session, actor, "billing.payment.refund", entity_type="payment", entity_id=payment.id,
                 detail={"number": payment.number, "amount": value, "reason": reason}, clock=clock)
    return refund


STATUS_LABELS = {"open": "Chưa thu", "awaiting": "Chờ chuyển khoản", "paid": "Đã thu", "cancelled": "Đã hủy"}


def get_payment(session: Session, payment_id: uuid.UUID | str) -> Payment:
    """Return the payment or raise NotFound."""
    try:
        key = payment_id if isinstance(payment_id, uuid.UUID) else uuid.UUID(str(payment_id))
    except ValueError:
        raise NotFound("Không tìm thấy biên lai.") from None
    payment = session.get(Payment, key)
    if payment is None:
        raise NotFound("Không tìm thấy biên lai.")
    return payment


# --------------------------------------------------------------------------- receipt printing


def receipt_data(session: Session, payment: Payment) -> ReceiptData:
    """Return the thermal receipt of *payment* (checks that the shares add up)."""
    invoice = payment.invoice
    patient = session.get(Patient, payment.patient_id)
    facility = session.scalar(select(Facility).limit(1))
    items = [ReceiptItem(name=line.name, quantity=plain_quantity(line.quantity), unit_price=line.unit_price_bv,
                         amount=line.thanh_tien_bv) for line in invoice.lines]
    # T_TONGCHI_BV = T_BHTT + patient share + T_NGUONKHAC; other sources are not on the desk receipt.
    return ReceiptData(
        station_name=facility.name if facility else "Trạm Y tế", receipt_number=payment.number,
        issued_at=payment.paid_at or payment.issued_at, patient_name=patient.full_name if patient else "",
        items=items, total=invoice.t_tongchi_bv - invoice.t_nguonkhac, insurance_share=invoice.t_bhtt,
        patient_share=payment.amount, patient_code=patient.code if patient else None,
        insurance_card=invoice.card_code or None, station_address=facility.address if facility else None,
        cashier=payment.cashier_label, vietqr_payload=payment.vietqr_payload or None)


def plain_quantity(value: Decimal) -> int | Decimal:
    """Return an integral quantity as int, otherwise the Decimal without trailing zeros."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else value.normalize()


def receipt_payload(data: ReceiptData) -> dict[str, Any]:
    """Return the JSON payload of the "receipt" print job (field names of ReceiptData)."""
    payload = asdict(data)
    payload["issued_at"] = data.issued_at.isoformat()
    payload["items"] = [{**item, "quantity": str(item["quantity"])} for item in payload["items"]]
    return payload


def queue_receipt(session: Session, payment: Payment, *, actor: Actor, reprint: bool = False) -> None:
    """Queue the thermal receipt of a paid payment in the caller's transaction."""
    data = receipt_data(session, payment)
    payload = receipt_payload(data)
    payload["reprint"] = reprint
    config = get_config(session)
    printing.enqueue(session, "receipt", payload, actor=actor, room_code=config.receipt_room,
                     subject_type="receipt", subject_id=payment.id, patient_id=payment.patient_id)


# --------------------------------------------------------------------------- daily closing


@dataclass(frozen=True)
class MethodTotal:
    """Receipts of one payment method on one day."""

    method: str
    label: str
    count: int
    amount: int
    refunded: int

    @property
    def net(self) -> int:
        """Return the amount kept."""
        return self.amount - self.refunded


@dataclass(frozen=True)
class ClosingReport:
    """A cashier's daily closing (báo cáo chốt quỹ cuối ngày)."""

    day: date
    cashier: str | None
    methods: list[MethodTotal]
    cancelled: list[Payment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    awaiting: list[Payment] = field(default_factory=list)
    bhyt_total: int = 0  #: Σ T_BHTT of the day's paid invoices (owed by the fund)

    @property
    def count(self) -> int:
        """Return the number of paid receipts."""
        return sum(m.count for m in self.methods)

    @property
    def amount(self) -> int:
        """Return the sum collected."""
        return sum(m.amount for m in self.methods)

    @property
    def refunded(self) -> int:
        """Return the sum refunded on the day."""
        return sum(m.refunded for m in self.methods)

    @property
    def net(self) -> int:
        """Return what the cashier hands over."""
        return self.amount - self.refunded


def closing_report(session: Session, day: date, *, cashier_id: str | None = None,
                   with_details: bool = True) -> ClosingReport:
    """Return counts and sums by payment method for *day*, with cancelled, refunded and pending receipts.

    Receipts count on their business day (the day they were paid); refunds
    count on the day they were given, whatever the receipt's day.
    """
    paid_filter = [Payment.business_day == day, Payment.status == "paid"]
    if cashier_id:
        paid_filter.append(Payment.cashier_id == cashier_id)
    sums = session.execute(
        select(Payment.method, func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0))
        .where(*paid_filter).group_by(Payment.method)).all()
    refund_filter = [Refund.business_day == day]
    if cashier_id:
        refund_filter.append(Payment.cashier_id == cashier_id)
    refund_sums = dict(session.execute(
        select(Payment.method, func.coalesce(func.sum(Refund.amount), 0)).join(Refund.payment)
        .where(*refund_filter).group_by(Payment.method)).all())
    bhyt = session.scalar(select(func.coalesce(func.sum(Invoice.t_bhtt), 0)).join(Payment, Payment.invoice_id == Invoice.id)
                          .where(*paid_filter)) or 0
    by_method = {method: (int(count), int(amount)) for method, count, amount in sums}
    methods = [MethodTotal(method, label, by_method.get(method, (0, 0))[0], by_method.get(method, (0, 0))[1],
                           int(refund_sums.get(method, 0))) for method, label in PAYMENT_METHODS.items()]
    if not with_details:
        return ClosingReport(day=day, cashier=cashier_id, methods=methods, bhyt_total=int(bhyt))
    cancelled_filter = [Payment.business_day == day, Payment.status == "cancelled"]
    awaiting_filter = [Payment.business_day == day, Payment.status == "awaiting"]
    if cashier_id:
        cancelled_filter.append(Payment.cashier_id == cashier_id)
        awaiting_filter.append(Payment.cashier_id == cashier_id)
    cancelled = list(session.scalars(select(Payment).where(*cancelled_filter).order_by(Payment.sequence)))
    awaiting = list(session.scalars(select(Payment).where(*awaiting_filter).order_by(Payment.sequence)))
    refunds = list(session.scalars(select(Refund).join(Refund.payment).where(*refund_filter)
                                   .options(selectinload(Refund.payment)).order_by(Refund.refunded_at)))
    return ClosingReport(day=day, cashier=cashier_id, methods=methods, cancelled=cancelled, refunds=refunds,
                         awaiting=awaiting, bhyt_total=int(bhyt))


def day_invoices(session: Session, day: date) -> list[tuple[Visit, Invoice | None]]:
    """Return the day's visits (by local arrival date) with their invoices, for the cashier's list."""
    from datetime import time, timedelta

    from station.clock import LOCAL_TZ

    start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    end = start + timedelta(days=1)
    visits = session.scalars(select(Visit).where(Visit.arrived_at >= start, Visit.arrived_at < end,
                                                 Visit.status != "cancelled")
                             .options(selectinload(Visit.patient)).order_by(Visit.arrived_at)).all()
    invoices = {inv.visit_id: inv for inv in session.scalars(
        select(Invoice).where(Invoice.visit_id.in_([v.id for v in visits])))} if visits else {}
    return [(visit, invoices.get(visit.id)) for visit in visits]
