"""Demo billing data: price lists for the demo formulary and services, a DEMO bank account, some receipts.

Never for a real station: the bank account is a placeholder flagged ``bank_is_demo``
(the settings page and the VietQR screen show a warning), and the receipt series is "DEMO".
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.audit.services import Actor
from station.billing import prices, services
from station.billing.models import BillingConfig, Invoice, PriceItem
from station.errors import StationError
from station.visits.models import Visit

ORDER = 50
#: Prices of the demo catalogue apply from this date.
DEMO_PRICES_FROM = date(2025, 1, 1)
#: A placeholder account: Vietcombank's BIN with an obviously fake account number.
DEMO_BANK_BIN = "970436"
DEMO_BANK_ACCOUNT = "0000000000000"


def _whole(value: Decimal) -> str:
    """Return a catalogue price as whole đồng text (demo prices are whole)."""
    return str(int(Decimal(value).to_integral_value()))


def seed_demo(session: Session, rng: random.Random, actor: Actor, summary: dict[str, Any], *, patients: int) -> None:
    """Price the demo catalogue, configure a DEMO bank account and take payment for some demo visits."""
    from station.catalog.models import Drug, ServiceItem

    priced = {(kind, code) for kind, code in session.execute(select(PriceItem.kind, PriceItem.code))}
    created = 0
    for kind, rows in (("drug", session.scalars(select(Drug).order_by(Drug.code))),
                       ("service", session.scalars(select(ServiceItem).order_by(ServiceItem.code)))):
        for row in rows:
            if (kind, row.code) in priced or not row.price:
                continue
            name = getattr(row, "name", None) or f"{row.inn} {row.strength}".strip()
            data = prices.validate_price(kind, row.code, name, _whole(row.price),
                                         _whole(row.price) if row.bhyt_code else "",
                                         DEMO_PRICES_FROM.isoformat(), unit=row.unit)
            prices.save_price(session, data, actor=actor)
            created += 1
    if session.scalar(select(BillingConfig.id).limit(1)) is None:
        services.save_config(session, actor=actor, receipt_series="DEMO", bank_bin=DEMO_BANK_BIN,
                             bank_account=DEMO_BANK_ACCOUNT, bank_account_name="TÀI KHOẢN MẪU - KHÔNG CHUYỂN TIỀN",
                             bank_is_demo=True, receipt_room="THU", commune_level=True,
                             head_bhxh_code="0100000001", department_code="K01")
    paid = 0
    visits = session.scalars(select(Visit).where(Visit.status == "completed").order_by(Visit.arrived_at)).all()
    for visit in visits:
        if session.scalar(select(Invoice.id).where(Invoice.visit_id == visit.id)) is not None:
            continue
        try:
            invoice = services.compute_invoice(session, visit, actor=actor)
            if invoice.problems or rng.random() > 0.7:
                continue
            services.record_payment(session, invoice, method=rng.choice(["cash", "cash", "card"]),
                                    amount=invoice.patient_due, actor=actor)
            paid += 1
        except StationError:
            continue
    summary["billing"] = {"prices_created": created, "receipts": paid,
                          "bank_account": "DEMO (không dùng thật)"}
