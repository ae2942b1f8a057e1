"""FHIR R4 payloads of the billing area's synced entities (money: whole đồng, currency VND).

* ``Invoice`` (:class:`Invoice`): status ``open`` → ``draft`` (still recomputed), ``awaiting``
  → ``issued`` (frozen, VietQR transfer pending), ``paid`` → ``balanced``. Each line is a
  ``lineItem`` coded with the QĐ 130 code of its kind (MA_DICH_VU / MA_THUOC / MA_VAT_TU) whose
  ``base`` price component is THANH_TIEN_BV (factor = quantity). ``totalGross`` = ``totalNet`` =
  T_TONGCHI_BV (medical services carry no tax). The split is in ``totalPriceComponent`` (and per
  line in ``priceComponent``), coded in ``urn:vn:station-price-component``: ``base`` the total,
  ``bhyt`` the fund's share T_BHTT as a ``deduction``, ``patient`` what the patient pays
  (T_BNCCT + T_BNTT) and ``other`` T_NGUONKHAC as ``informational``.
* ``PaymentReconciliation`` (:class:`Payment`): a receipt. ``status`` is ``cancelled`` for a
  cancelled receipt, else ``active``; ``outcome`` is ``complete`` (paid) or ``queued`` (VietQR
  awaiting); ``paymentDate`` is the local business day; ``paymentAmount`` the share paid. One
  ``detail`` of type ``payment`` links the invoice; each refund is a ``detail`` of type
  ``adjustment`` with a negative amount and its reason in ``processNote``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from station.billing.models import PAYMENT_METHODS, Invoice, InvoiceLine, Payment
from station.sync.fhir import FhirSettings, _ids, _meta, _ref

PRICE_COMPONENT = "urn:vn:station-price-component"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"
INVOICE_STATUS = {"open": "draft", "awaiting": "issued", "paid": "balanced", "cancelled": "cancelled"}
#: Code system kind of each line kind (QĐ 130 code columns).
LINE_SYSTEM = {"service": "ma-dich-vu", "drug": "ma-thuoc", "supply": "ma-vat-tu"}
SHARE_LABEL = {"base": "Tổng chi phí", "bhyt": "Quỹ BHYT thanh toán", "patient": "Người bệnh trả",
               "other": "Nguồn khác"}


def money(value: int) -> dict[str, Any]:
    """Return a FHIR Money of whole đồng."""
    return {"value": int(value), "currency": "VND"}


def _number(value: Decimal | int) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _component(kind: str, code: str, amount: int, factor: Decimal | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "code": {"coding": [{"system": PRICE_COMPONENT, "code": code,
                                                                "display": SHARE_LABEL[code]}]},
                             "amount": money(amount)}
    if factor is not None:
        entry["factor"] = _number(factor)
    return entry


def _split(total: int, bhyt: int, patient: int, other: int, factor: Decimal | None = None) -> list[dict[str, Any]]:
    parts = [_component("base", "base", total, factor)]
    if bhyt:
        parts.append(_component("deduction", "bhyt", bhyt))
    parts.append(_component("informational", "patient", patient))
    if other:
        parts.append(_component("informational", "other", other))
    return parts


def _line_item(line: InvoiceLine, settings: FhirSettings) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": settings.system(LINE_SYSTEM.get(line.kind, line.kind)), "code": line.code,
                              "display": line.name}
    return {"sequence": line.position + 1,
            "chargeItemCodeableConcept": {"coding": [coding], "text": line.name},
            "priceComponent": _split(line.thanh_tien_bv, line.t_bhtt, line.t_bncct + line.t_bntt, line.t_nguonkhac,
                                     factor=line.quantity)}


def build_invoices(session: Session, ids: list[str], settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Invoice).where(Invoice.id.in_(_ids(ids))).options(
        selectinload(Invoice.lines))).all()
    out = {}
    for inv in rows:
        resource: dict[str, Any] = {
            "resourceType": "Invoice", "id": str(inv.id), "meta": _meta(inv),
            "identifier": [{"system": settings.system("visit"), "value": inv.visit_key}],
            "status": INVOICE_STATUS.get(inv.status, "draft"),
            "subject": _ref("Patient", inv.patient_id),
            "date": (inv.computed_at or inv.updated_at).isoformat(),
            "issuer": {"identifier": {"system": settings.system("facility"), "value": settings.facility_code}},
            "totalPriceComponent": _split(inv.t_tongchi_bv, inv.t_bhtt, inv.t_bncct + inv.t_bntt, inv.t_nguonkhac),
            "totalNet": money(inv.t_tongchi_bv),
            "totalGross": money(inv.t_tongchi_bv),
        }
        if inv.lines:
            resource["lineItem"] = [_line_item(line, settings) for line in inv.lines]
        notes = [{"text": t} for t in (inv.coverage_note, *inv.problem_list) if t.strip()]
        if inv.insured and inv.card_code:
            notes.insert(0, {"text": f"Thẻ BHYT {inv.card_code}, mức hưởng {_number(inv.applied_benefit)}%"})
        if notes:
            resource["note"] = notes
        out[str(inv.id)] = resource
    return out


def build_payment_reconciliations(session: Session, ids: list[str],
                                  settings: FhirSettings) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Payment).where(Payment.id.in_(_ids(ids))).options(
        selectinload(Payment.refunds))).all()
    out = {}
    for p in rows:
        resource: dict[str, Any] = {
            "resourceType": "PaymentReconciliation", "id": str(p.id), "meta": _meta(p),
            "identifier": [{"system": settings.system("so-bien-lai"), "value": p.number}],
            "status": "cancelled" if p.status == "cancelled" else "active",
            "created": p.issued_at.isoformat(),
            "disposition": PAYMENT_METHODS.get(p.method, p.method),
            "paymentDate": p.business_day.isoformat(),
            "paymentAmount": money(p.amount),
        }
        if p.status == "paid":
            resource["outcome"] = "complete"
        elif p.status == "awaiting":
            resource["outcome"] = "queued"
        if p.reference:
            resource["paymentIdentifier"] = {"system": settings.system(f"payment-{p.method}"), "value": p.reference}
        details: list[dict[str, Any]] = [{
            "type": {"coding": [{"system": PAYMENT_TYPE, "code": "payment"}]},
            "request": _ref("Invoice", p.invoice_id),
            "date": p.business_day.isoformat(),
            "amount": money(p.amount)}]
        notes = []
        for r in p.refunds:
            details.append({"identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{r.id}"},
                            "type": {"coding": [{"system": PAYMENT_TYPE, "code": "adjustment"}], "text": "Hoàn tiền"},
                            "request": _ref("Invoice", p.invoice_id),
                            "date": r.business_day.isoformat(), "amount": money(-r.amount)})
            notes.append({"type": "display", "text": f"Hoàn {r.amount} đ ({r.refunded_by}): {r.reason}"})
        if p.status == "cancelled":
            notes.append({"type": "display", "text": f"Hủy biên lai ({p.cancelled_by}): {p.cancel_reason}"})
        resource["detail"] = details
        if notes:
            resource["processNote"] = notes
        out[str(p.id)] = resource
    return out


BUILDERS = {
    "Invoice": build_invoices,
    "PaymentReconciliation": build_payment_reconciliations,
}
