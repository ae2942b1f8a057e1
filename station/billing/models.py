"""Billing records: price lists, base salary, invoices, payments (receipts), refunds, claim submissions.

Money is whole đồng in ``BigInteger`` columns (never float); quantities and
percentages are ``Numeric``.  Billing is linked to the consultation area by
codes (service / drug code strings) and ``visit_id`` only, never by foreign
keys into the consultation tables, so the two areas evolve independently
(see :mod:`station.billing.sources`).

Lifecycle of an invoice (one per visit)::

    open ──pay (cash/card)──────────────▶ paid
      │  └─start VietQR─▶ awaiting ─confirm─▶ paid
      ▲                        │                 │
      └──────cancel (reason)───┴─────────────────┘

An ``open`` invoice is recomputed whenever the billing page is opened or the
consultation changes; ``awaiting`` and ``paid`` invoices are frozen.  Receipt
numbers come from :func:`station.admin.numbering.next_number` in the payment's
transaction, so the committed sequence of a series has no gaps; a cancelled
receipt keeps its number and is listed on the daily closing report.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from station.db import TimestampMixin, UUIDMixin
from station.extensions import db
from station.sync.capture import Synced

#: Kinds of priced items; the values match :class:`station.billing.coverage.ChargeKind`.
PRICE_KINDS: dict[str, str] = {"service": "Dịch vụ kỹ thuật", "drug": "Thuốc", "supply": "Vật tư y tế"}
#: Payment methods and their Vietnamese labels.
PAYMENT_METHODS: dict[str, str] = {"cash": "Tiền mặt", "vietqr": "Chuyển khoản VietQR", "card": "Thẻ ngân hàng"}


class PriceItem(UUIDMixin, TimestampMixin, db.Model):
    """One price of a service, drug or supply, in force from ``effective_from``.

    The price in force on a day is the row of the same (kind, code) with the
    latest ``effective_from`` on or before that day, unless its
    ``effective_to`` has passed.  Rows are never edited in place once used:
    a new price is a new row with a later date.
    """

    __tablename__ = "price_items"
    __table_args__ = (
        UniqueConstraint("kind", "code", "effective_from", name="uq_price_items_kind_code_from"),
        Index("ix_price_items_kind_code", "kind", "code"),
    )

    #: "service", "drug" or "supply".
    kind: Mapped[str] = mapped_column(String(10))
    #: MA_DICH_VU / MA_THUOC / MA_VAT_TU as a string ("02.1896", "40.17").
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(50), default="")
    #: Facility price (DON_GIA_BV), whole đồng.
    hospital_price: Mapped[int] = mapped_column(BigInteger)
    #: BHYT price (DON_GIA_BH), whole đồng; None when the item is outside the BHYT scope.
    bhyt_price: Mapped[int | None] = mapped_column(BigInteger)
    #: Inside the BHYT scope (PHAM_VI 1).
    covered: Mapped[bool] = mapped_column(Boolean, default=True)
    #: TYLE_TT_BH, percent of the BHYT price the fund accepts.
    coverage_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(100))
    #: MA_NHOM (cost group of the QĐ 130 tables), a string code.
    group_code: Mapped[str] = mapped_column(String(4), default="")
    #: Drug details for XML2 (optional): strength, route, registration number, tender info.
    strength: Mapped[str] = mapped_column(String(100), default="")
    route: Mapped[str] = mapped_column(String(50), default="")
    registration_no: Mapped[str] = mapped_column(String(50), default="")
    tender_info: Mapped[str] = mapped_column(String(50), default="")
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class BaseSalary(UUIDMixin, TimestampMixin, db.Model):
    """The base salary (mức lương cơ sở) in force from a date; drives the small-visit rule."""

    __tablename__ = "base_salaries"

    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The decree that sets it, e.g. "NĐ 73/2024/NĐ-CP".
    source: Mapped[str] = mapped_column(String(100), default="")


class BillingConfig(UUIDMixin, TimestampMixin, db.Model):
    """The station's billing settings: one row, edited by the admin (audited)."""

    __tablename__ = "billing_config"

    #: Receipt series (ký hiệu biên lai), e.g. "BL2026"; numbers run without gaps per series.
    receipt_series: Mapped[str] = mapped_column(String(20), default="BL")
    #: VietQR bank BIN (6 digits) and account of the station; empty = VietQR unavailable.
    bank_bin: Mapped[str] = mapped_column(String(6), default="")
    bank_account: Mapped[str] = mapped_column(String(19), default="")
    bank_account_name: Mapped[str] = mapped_column(String(100), default="")
    #: True while the bank settings are demo placeholders (shown as a warning).
    bank_is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Room code whose printer prints receipts.
    receipt_room: Mapped[str] = mapped_column(String(10), default="THU")
    #: The station is a commune-level facility (levels 3/4 get 100 %).
    commune_level: Mapped[bool] = mapped_column(Boolean, default=True)
    #: MA_TTDV: social-insurance code of the head of the facility who signs claims.
    head_bhxh_code: Mapped[str] = mapped_column(String(10), default="")
    #: MA_KHOA of the examination department used in claims.
    department_code: Mapped[str] = mapped_column(String(20), default="K01")


class Invoice(Synced, db.Model):
    """A visit's bill: priced lines and the XML1 totals, stored once computed."""

    __tablename__ = "invoices"
    __sync_entity__ = "Invoice"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), unique=True)
    visit_key: Mapped[str] = mapped_column(String(50), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    #: "open" (recomputed on change), "awaiting" (VietQR shown), "paid".
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    #: Local date of the visit: picks the prices, the base salary and checks the card.
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    # Coverage as applied.
    insured: Mapped[bool] = mapped_column(Boolean, default=False)
    card_code: Mapped[str] = mapped_column(String(15), default="")
    card_valid_from: Mapped[date | None] = mapped_column(Date)
    card_valid_to: Mapped[date | None] = mapped_column(Date)
    registered_facility: Mapped[str] = mapped_column(String(5), default="")
    area_code: Mapped[str] = mapped_column(String(2), default="")
    five_years_on: Mapped[date | None] = mapped_column(Date)
    benefit_level: Mapped[int | None] = mapped_column(Integer)
    #: MUC_HUONG from the portal, and the rate actually applied.
    portal_benefit: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    applied_benefit: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(0))
    #: "uninsured", "portal", "commune" or "small_visit" (coverage.CoverageRule).
    coverage_rule: Mapped[str] = mapped_column(String(12), default="uninsured")
    base_salary: Mapped[int | None] = mapped_column(BigInteger)
    #: "auto", "uninsured" (patient pays as uninsured) or "card_confirmed" (cashier recorded a renewal).
    coverage_mode: Mapped[str] = mapped_column(String(16), default="auto")
    coverage_mode_reason: Mapped[str] = mapped_column(String(255), default="")
    #: Card validity end recorded by the cashier after a portal re-lookup (card_confirmed).
    confirmed_valid_to: Mapped[date | None] = mapped_column(Date)
    #: Warning shown to the cashier (e.g. the card had expired on the visit date).
    coverage_note: Mapped[str] = mapped_column(String(500), default="")
    #: Pricing problems (one Vietnamese message per line); non-empty blocks payment.
    problems: Mapped[str] = mapped_column(Text, default="")
    # XML1 totals (DOMAIN §3.4 fields 44–52), whole đồng.
    t_thuoc: Mapped[int] = mapped_column(BigInteger, default=0)
    t_vtyt: Mapped[int] = mapped_column(BigInteger, default=0)
    t_tongchi_bv: Mapped[int] = mapped_column(BigInteger, default=0)
    t_tongchi_bh: Mapped[int] = mapped_column(BigInteger, default=0)
    t_bntt: Mapped[int] = mapped_column(BigInteger, default=0)
    t_bncct: Mapped[int] = mapped_column(BigInteger, default=0)
    t_bhtt: Mapped[int] = mapped_column(BigInteger, default=0)
    t_nguonkhac: Mapped[int] = mapped_column(BigInteger, default=0)
    t_bhtt_gdv: Mapped[int] = mapped_column(BigInteger, default=0)
    #: What the patient pays at the desk: T_BNCCT + T_BNTT.
    patient_due: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Fingerprint of the inputs; a recompute that changes nothing is not audited.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    computed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]

    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position")
    payments: Mapped[list["Payment"]] = relationship(back_populates="invoice", order_by="Payment.created_at")

    @property
    def problem_list(self) -> list[str]:
        """Return the pricing problems, one message each."""
        return [line for line in self.problems.splitlines() if line.strip()]


class InvoiceLine(UUIDMixin, db.Model):
    """One priced line of an invoice with its XML2/XML3 money columns."""

    __tablename__ = "invoice_lines"
    __sync_parent__ = "invoice"

    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    #: Stable line key within the visit, e.g. "drug:<source id>".
    line_key: Mapped[str] = mapped_column(String(80))
    #: "service", "drug" or "supply".
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(50), default="")
    group_code: Mapped[str] = mapped_column(String(4), default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit_price_bv: Mapped[int] = mapped_column(BigInteger)
    unit_price_bh: Mapped[int | None] = mapped_column(BigInteger)
    covered: Mapped[bool] = mapped_column(Boolean, default=True)
    coverage_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    service_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(100))
    price_from: Mapped[date | None] = mapped_column(Date)
    thanh_tien_bv: Mapped[int] = mapped_column(BigInteger)
    thanh_tien_bh: Mapped[int] = mapped_column(BigInteger)
    muc_huong: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    t_bhtt: Mapped[int] = mapped_column(BigInteger)
    t_bncct: Mapped[int] = mapped_column(BigInteger)
    t_bntt: Mapped[int] = mapped_column(BigInteger)
    t_nguonkhac: Mapped[int] = mapped_column(BigInteger, default=0)
    ordered_at: Mapped[datetime | None]
    #: Descriptive claim columns (dose text, route, doctor code ...) as JSON.
    detail: Mapped[str] = mapped_column(Text, default="{}")

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(Synced, db.Model):
    """A receipt (biên lai thu tiền): one payment of an invoice's patient share."""

    __tablename__ = "payments"
    __sync_entity__ = "PaymentReconciliation"
    __table_args__ = (UniqueConstraint("series", "sequence", name="uq_payments_series_sequence"),)

    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoices.id"), index=True)
    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("patients.id"), index=True)
    series: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer)
    #: Receipt number as printed, e.g. "BL2026-000123".
    number: Mapped[str] = mapped_column(String(40), unique=True)
    #: "cash", "vietqr" or "card".
    method: Mapped[str] = mapped_column(String(10))
    #: The patient share paid, whole đồng.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: Cash handed over and change given (cash only).
    received: Mapped[int | None] = mapped_column(BigInteger)
    change_given: Mapped[int | None] = mapped_column(BigInteger)
    #: "awaiting" (VietQR shown, transfer not yet confirmed), "paid" or "cancelled".
    status: Mapped[str] = mapped_column(String(10), index=True)
    vietqr_payload: Mapped[str] = mapped_column(String(512), default="")
    #: Bank transaction reference or card slip number given by the cashier.
    reference: Mapped[str] = mapped_column(String(60), default="")
    issued_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    #: Local business day of the payment (closing report key).
    business_day: Mapped[date] = mapped_column(Date, index=True)
    cashier_id: Mapped[str] = mapped_column(String(64))
    cashier_label: Mapped[str] = mapped_column(String(120))
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str] = mapped_column(String(120), default="")
    cancel_reason: Mapped[str] = mapped_column(String(255), default="")

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    refunds: Mapped[list["Refund"]] = relationship(
        back_populates="payment", cascade="all, delete-orphan", order_by="Refund.refunded_at")

    @property
    def net_amount(self) -> int:
        """Return what the station keeps: amount less refunds (0 when cancelled)."""
        return 0 if self.status == "cancelled" else self.amount - self.refunded


class Refund(UUIDMixin, db.Model):
    """Money given back on a receipt: needs a reason, never more than was paid."""

    __tablename__ = "refunds"
    __sync_parent__ = "payment"

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(255))
    refunded_at: Mapped[datetime]
    business_day: Mapped[date] = mapped_column(Date, index=True)
    refunded_by: Mapped[str] = mapped_column(String(120))

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class ClaimSubmission(UUIDMixin, TimestampMixin, db.Model):
    """One attempt to send a visit's QĐ 130 claim to the BHXH portal."""

    __tablename__ = "claim_submissions"

    visit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("visits.id"), index=True)
    visit_key: Mapped[str] = mapped_column(String(50), index=True)
    #: "accepted", "rejected" or "unavailable" (portal unreachable: retry later).
    status: Mapped[str] = mapped_column(String(12))
    portal_code: Mapped[str] = mapped_column(String(20), default="")
    transaction_id: Mapped[str] = mapped_column(String(80), default="")
    message: Mapped[str] = mapped_column(String(500), default="")
    #: SHA-256 of the envelope sent (the envelope itself is rebuilt on demand).
    envelope_sha256: Mapped[str] = mapped_column(String(64), default="")
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(String(120), default="")
