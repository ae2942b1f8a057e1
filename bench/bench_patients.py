"""Patient records at 100,000 residents: import speed and search latency through the real server.

* ``import_rows_per_s``: ``station patients import`` of a generated 100,000-row CSV into an
  empty station (the whole command, process start included);
* ``lookup_cccd_p95_ms``: ``GET /api/patients/search?q=<CCCD of a random resident>``;
* ``search_name_p95_ms``: the same endpoint with names as typed at the desk: folded,
  accented, upper case, partial (family + given name) with a birth year.

Latencies are measured as a reception desk works: one keep-alive client, 300 requests in a row,
against ``station serve`` (waitress), logged in as the demo receptionist. (With several concurrent
clients on SQLite every request also waits for the others: BEGIN IMMEDIATE serialises transactions.)
"""

from __future__ import annotations

import csv
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from bench.common import p95, record
from bench.dataset import prepared_instance
from bench.server import concurrent_latencies, get, login_cookie, run_station, serving

ROWS = 100_000


def _csv(path: Path, rows: int) -> None:
    from datetime import date

    from station.patients import demo

    rng = random.Random(7)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Mã thẻ BHYT", "Số điện thoại", "Địa chỉ"])
        for p in demo.generate(rng, rows, today=date(2026, 6, 1), province_code="01", communes=[],
                               home_commune="00070", facility_code="01001"):
            writer.writerow([p["full_name"], p["birth_date"].strftime("%d/%m/%Y"),
                             "Nữ" if p["sex"] == "female" else "Nam", p["cccd"], p["bhyt"], p["phone"], p["street"]])


def bench_import() -> float:
    folder = Path(tempfile.mkdtemp(prefix="station-import-"))
    try:
        run_station(folder, "init")
        source = folder / "residents.csv"
        _csv(source, ROWS)
        start = time.perf_counter()
        run_station(folder, "patients", "import", str(source))
        return ROWS / (time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _queries(instance: Path, rng: random.Random) -> tuple[list[str], list[str]]:
    from station.text import fold

    with sqlite3.connect(instance / "station.sqlite") as conn:
        numbers = [r[0] for r in conn.execute(
            "SELECT value FROM patient_identifiers WHERE kind='cccd' ORDER BY random() LIMIT 300")]
        people = conn.execute("SELECT full_name, birth_year FROM patients ORDER BY random() LIMIT 300").fetchall()
    names = []
    for i, (name, year) in enumerate(people):
        words = name.split(" ")
        names.append([fold(name), name, name.upper(), f"{fold(words[0])} {fold(words[-1])} {year}",
                      f"{name} {year}"][i % 5])
    return numbers, names


def bench_search() -> dict[str, float]:
    from station.demo import DEMO_PASSWORD

    instance = prepared_instance(ROWS)
    try:
        numbers, names = _queries(instance, random.Random(11))
        with serving(instance) as (_process, base):
            cookie = login_cookie(base, "tt.ngoc", DEMO_PASSWORD)
            headers = {"Cookie": cookie}

            def run(queries: list[str]) -> list[float]:
                def one(conn, i):  # type: ignore[no-untyped-def]
                    get(conn, "/api/patients/search?q=" + quote(queries[i % len(queries)]), headers)
                concurrent_latencies(base, 1, 50, one)  # warm up
                return concurrent_latencies(base, 1, 300, one)

            cccd = run(numbers)
            name = run(names)
        return {"lookup_cccd_p95_ms": p95(cccd), "search_name_p95_ms": p95(name)}
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def main() -> None:
    figures = bench_search()
    figures["import_rows_per_s"] = bench_import()
    record(figures)


if __name__ == "__main__":
    main()
