"""Benchmark: the cashier's daily closing report for a day with 300 visits, each with a paid invoice.

Records ``billing_close_day_ms`` (median of 20 runs, full report with lists).  The XML 130
build time is recorded by bench/bench_xml130.py.  Run: ``python -m bench.bench_billing``.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.common import median, record

VISITS = 300
RUNS = 20


def main() -> None:
    """Build a migrated SQLite station with one busy day, then time the closing report."""
    from flask_migrate import upgrade

    from station import create_app
    from station.billing import services as billing
    from station.billing.models import Invoice, Payment, Refund
    from station.clock import LOCAL_TZ
    from station.extensions import db
    from station.patients.models import Patient
    from station.visits.models import Visit

    folder = Path(tempfile.mkdtemp(prefix="bench-billing-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench-only", "SQLALCHEMY_DATABASE_URI":
                      f"sqlite:///{folder / 'bench.sqlite'}"}, instance_path=str(folder))
    rng = random.Random(7)
    day = date(2026, 3, 10)
    with app.app_context():
        upgrade()
        start = datetime(2026, 3, 10, 7, 0, tzinfo=LOCAL_TZ)
        for n in range(VISITS):
            patient = Patient(code=f"B{n:07d}", full_name=f"Người bệnh {n}", name_folded=f"nguoi benh {n}",
                              birth_date=date(1980, 1, 1), birth_year=1980, sex="female")
            db.session.add(patient)
            db.session.flush()
            at = start + timedelta(minutes=2 * n)
            visit = Visit(visit_key=f"01001-20260310-{n:05d}", patient_id=patient.id, arrived_at=at,
                          status="completed")
            db.session.add(visit)
            db.session.flush()
            total = rng.randrange(30_000, 400_000, 100)
            bhyt = total * rng.choice((0, 80, 100)) // 100
            invoice = Invoice(visit_id=visit.id, visit_key=visit.visit_key, patient_id=patient.id, status="paid",
                              visit_date=day, t_tongchi_bv=total, t_tongchi_bh=bhyt, t_bhtt=bhyt,
                              t_bntt=total - bhyt, patient_due=total - bhyt, paid_at=at)
            db.session.add(invoice)
            db.session.flush()
            method = rng.choice(("cash", "cash", "cash", "vietqr", "card"))
            cancelled = n % 50 == 0
            payment = Payment(invoice_id=invoice.id, visit_id=visit.id, patient_id=patient.id, series="BL2026",
                              sequence=n + 1, number=f"BL2026-{n + 1:07d}", method=method, amount=total - bhyt,
                              status="cancelled" if cancelled else "paid", issued_at=at, paid_at=at,
                              business_day=day, cashier_id="bench", cashier_label="Thu ngân",
                              cancel_reason="Thu trùng" if cancelled else "")
            db.session.add(payment)
            if n % 40 == 1:
                payment.refunds.append(Refund(amount=min(5_000, payment.amount), reason="Trả lại thuốc",
                                              refunded_at=at, business_day=day, refunded_by="Thu ngân"))
                payment.refunded = min(5_000, payment.amount)
        db.session.commit()
        samples = []
        for _ in range(RUNS):
            db.session.expunge_all()
            began = time.perf_counter()
            report = billing.closing_report(db.session, day)
            samples.append((time.perf_counter() - began) * 1000)
        assert report.count == VISITS - len(report.cancelled), "closing report lost receipts"
        db.session.remove()
        db.engine.dispose()
    record({"billing_close_day_ms": median(samples)})


if __name__ == "__main__":
    main()
