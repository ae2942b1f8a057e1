"""Benchmark: build, sign and encode one visit's full QĐ 130 claim (goal ≤ 5 ms per visit).

Run from the repository root: ``python -m bench.bench_xml130``.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from bench.common import median, p95, record
from station.billing.coverage import ChargeKind, ChargeLine
from station.claims import xml130 as x

VISITS = 500
SIGNER = x.TestSigner(b"bench-key")


def make_visit(number: int) -> x.ClaimVisit:
    """Return a visit with 3 drugs and 3 services/supplies, varied by *number*."""
    start = datetime(2025, 3, 10, 7, 0) + timedelta(minutes=number)
    price = 500 + number % 7
    drugs = tuple(
        x.ClaimDrugLine(
            charge=ChargeLine(
                f"d{i}", ChargeKind.DRUG, f"40.{17 + i}", f"Thuốc số {i} & <viên>", Decimal(10 + i), price, price
            ),
            ma_nhom="4",
            don_vi_tinh="Viên",
            ngay_yl=start + timedelta(minutes=20 + i),
            lieu_dung="1 viên/lần * 2 lần/ngày * 5 ngày [2 viên/ngày]",
        )
        for i in range(3)
    )
    services = tuple(
        x.ClaimServiceLine(
            charge=ChargeLine(
                f"s{i}", kind, f"02.{1896 + i}", f"Dịch vụ {i}", Decimal(1), 38_700 + 1_000 * i, 38_700
            ),
            ma_nhom="1",
            don_vi_tinh="Lần",
            ngay_yl=start + timedelta(minutes=5 + i),
        )
        for i, kind in enumerate((ChargeKind.SERVICE, ChargeKind.SERVICE, ChargeKind.SUPPLY))
    )
    return x.ClaimVisit(
        ma_lk=f"LK{number:010d}",
        ma_bn=f"BN{number:06d}",
        ho_ten="Nguyễn Văn Bình",
        ngay_sinh=date(1960 + number % 40, 1 + number % 12, 1 + number % 28),
        gioi_tinh="1",
        ma_cskcb="01001",
        ngay_vao=start,
        ngay_ra=start + timedelta(minutes=45),
        ngay_ttoan=start + timedelta(minutes=50),
        card=x.ClaimCard("HT3010120878811", "01001", date(2025, 1, 1), date(2025, 12, 31), Decimal(80), 4),
        ma_benh_chinh="J06.9",
        ma_benh_kt=("I10", "E11.9"),
        ket_qua_dtri="1",
        ma_ttdv="0123456789",
        is_commune_level=number % 2 == 0,
        drugs=drugs,
        services=services,
    )


def main() -> None:
    """Time build_submission over VISITS visits and record the median."""
    visits = [make_visit(n) for n in range(VISITS)]
    for visit in visits[:20]:  # warm-up
        x.build_submission(visit, SIGNER, ngay_lap=date(2025, 3, 10))
    samples: list[float] = []
    for visit in visits:
        began = time.perf_counter()
        x.build_submission(visit, SIGNER, ngay_lap=date(2025, 3, 10))
        samples.append((time.perf_counter() - began) * 1000)
    print(f"p95 {p95(samples):.3f} ms over {VISITS} visits")
    record({"xml130_ms_per_visit": median(samples)})


if __name__ == "__main__":
    main()
