"""Consultation benchmarks through the real server (``station serve``):

* ``consult_save_p95_ms``: 20 concurrent clients, each saving its own consultation again and again
  (the real form POST: validation, ICD-10 check, vitals, audit, change log, commit) with a short
  pause between saves; ``consult_save_saturated_p95_ms``: the same without pauses (SQLite has one
  writer, so this measures a queue of 20 writers);
* ``record_page_p95_ms``: the whole rendered record page ``/patients/<id>`` of a patient with 200
  past visits (each with diagnoses, vitals and a prescription), one client at a time; when the
  patients page is not there, the consultation history page is measured instead (the key
  ``record_page_source`` says which); ``consult_history_page_p95_ms`` is always recorded;
* ``icd_search_p95_ms``: ``GET /api/icd10?q=`` over a realistic query mix, one client at a time.

Run from the repository root: ``python -m bench.bench_consultation`` (about a minute).
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

from bench.common import p95, record
from bench.server import concurrent_latencies, login_cookie, run_station, serving, station_env

CLIENTS = 20
SAVES_PER_CLIENT = 25
#: Pause between two saves of one client. A doctor saves a consultation every minute or so;
#: 20 clients saving every 0.25 s (about 70 saves a second) is still far above a station's load.
#: ``consult_save_saturated_p95_ms`` is the same with no pause at all (a queue of 20 writers).
THINK_SECONDS = 0.25
HISTORY_VISITS = 200
QUERIES = ["j06", "J06.9", "I10", "e11.9", "k29", "viêm họng", "viem hong cap", "sốt xuất huyết", "tang huyet ap",
           "đái tháo đường", "hypertension", "fever", "tiêu chảy", "đau đầu", "M54.5", "viêm phế quản", "R50",
           "nhiem trung ho hap tren", "gastritis", "hen phế quản"]

SEED = r"""
import json, random
from datetime import datetime, timedelta, timezone
from sqlalchemy import select
from station import create_app
from station.audit.services import Actor
from station.auth.models import User
from station.catalog.models import Drug
from station.clock import FrozenClock, SystemClock
from station.consultation import services as consult
from station.consultation.demo import seed_formulary
from station.demo import seed_staff
from station.extensions import db
from station.patients.models import Patient
from station.prescriptions import services as rx
from station.text import fold
from station.visits.services import open_visit
from datetime import date

app = create_app()
with app.app_context():
    s = db.session
    actor = Actor("bench", "bench", "local")
    seed_staff(s, actor)
    seed_formulary(s, actor)
    s.commit()
    doctor = s.scalar(select(User).where(User.username == "bs.hoa"))
    drugs = {d.code: d for d in s.scalars(select(Drug))}
    rng = random.Random(5)
    patient = Patient(code="01001-8880001", full_name="Nguyễn Văn Bình", name_folded=fold("Nguyễn Văn Bình"),
                      birth_date=date(1956, 2, 3), birth_year=1956, sex="male", street="3 Tràng Tiền")
    s.add(patient)
    s.flush()
    start = SystemClock().now() - timedelta(days=HISTORY + 5)
    cases = [("J06.9", "I10", "T001"), ("I10", "E11.9", "T005"), ("K29.7", "", "T007"), ("E11.9", "I10", "T006")]
    for n in range(HISTORY):
        clock = FrozenClock(start + timedelta(days=n))
        main, second, drug = cases[n % len(cases)]
        visit = open_visit(s, patient, facility_code="01001", room_code="PK1", actor=actor, reason="Tái khám",
                           clock=clock)
        data = consult.ConsultationInput(reason="Tái khám định kỳ", examination="Tim đều, phổi trong.",
                                         main_code=main, secondary_codes=second, outcome_code="2",
                                         discharge_code="1", advice="Ăn nhạt, tái khám sau 1 tháng.",
                                         vitals={"pulse": str(rng.randint(64, 96)), "bp_systolic": "135",
                                                 "bp_diastolic": "85", "temperature": "36.8", "weight": "62"})
        consult.save_consultation(s, visit, data, expected_version=None, user=doctor, actor=actor, clock=clock)
        draft = rx.draft_for_visit(s, visit, user=doctor, actor=actor)
        rx.add_line(s, draft, drug_id=drugs[drug].id, dose_per_time="1", times_per_day="2", days="30",
                    timing="Sau ăn", actor=actor, clock=clock)
        rx.issue(s, draft, rx.IssueDetails(advice="Ăn nhạt"), user=doctor, actor=actor, clock=clock,
                 print_slip=False)
        consult.complete(s, visit, expected_version=None, user=doctor, actor=actor, clock=clock)
        if n % 50 == 49:
            s.commit()
    open_visits = []
    for n in range(CLIENTS):
        other = Patient(code=f"01001-77{n:05d}", full_name=f"Người bệnh thử {n}", name_folded=f"nguoi benh thu {n}",
                        birth_date=date(1980, 1, 1), birth_year=1980, sex="female")
        s.add(other)
        s.flush()
        open_visits.append(str(open_visit(s, other, facility_code="01001", room_code="PK1", actor=actor).id))
    s.commit()
    print(json.dumps({"patient": str(patient.id), "visits": open_visits}))
"""


def _seed(instance: Path) -> dict:
    import subprocess

    script = SEED.replace("HISTORY", str(HISTORY_VISITS)).replace("CLIENTS", str(CLIENTS))
    done = subprocess.run([sys.executable, "-c", script], env=station_env(instance), cwd=Path(__file__).parent.parent,
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _merge(cookie: str, set_cookie: str | None) -> str:
    jar = SimpleCookie()
    jar.load(cookie)
    if set_cookie:
        jar.load(set_cookie)
    return "; ".join(f"{k}={v.value}" for k, v in jar.items())


def _timed_gets(base: str, paths: list[str], cookie: str, rounds: int) -> list[float]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    samples = []
    for _ in range(rounds):
        for path in paths:
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} -> {response.status}")
            samples.append((time.perf_counter() - started) * 1000)
    conn.close()
    return samples


def main() -> None:
    """Seed, serve, measure, record."""
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        run_station(instance, "init")
        seeded = _seed(instance)
        with serving(instance) as (_process, base):
            host, port = base.removeprefix("http://").split(":")
            cookie = login_cookie(base, "bs.hoa", "TramYte2026")
            # ICD-10 search (first call builds the per-process index).
            _timed_gets(base, ["/api/icd10?q=" + quote(q) for q in QUERIES], cookie, 1)
            icd = _timed_gets(base, ["/api/icd10?q=" + quote(q) for q in QUERIES], cookie, 10)
            # Record page of the patient with 200 visits.
            history_path = f"/consultation/patients/{seeded['patient']}"
            record_path = f"/patients/{seeded['patient']}"
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("GET", record_path, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            conn.close()
            source = "patients" if response.status == 200 else "consultation_history"
            page_path = record_path if source == "patients" else history_path
            _timed_gets(base, [page_path], cookie, 3)
            page = _timed_gets(base, [page_path], cookie, 40)
            _timed_gets(base, [history_path], cookie, 3)
            history = _timed_gets(base, [history_path], cookie, 40)
            # 20 concurrent clients saving consultations.
            clients = []
            for visit_id in seeded["visits"]:
                own = login_cookie(base, "bs.hoa", "TramYte2026")
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                conn.request("GET", f"/consultation/visits/{visit_id}", headers={"Cookie": own})
                response = conn.getresponse()
                body = response.read().decode()
                conn.close()
                own = _merge(own, response.getheader("Set-Cookie"))
                token = re.search(r'name="csrf-token" content="([^"]+)"', body).group(1)  # type: ignore[union-attr]
                clients.append({"visit": visit_id, "cookie": own, "token": token, "version": ""})

            def save(conn: http.client.HTTPConnection, index: int) -> None:
                client = clients[index // SAVES_PER_CLIENT]
                body = urlencode({
                    "csrf_token": client["token"], "version": client["version"], "reason": "Ho, sốt",
                    "history": f"Sốt 2 ngày, lần lưu {index}", "examination": "Họng đỏ, phổi không ran.",
                    "main_code": "J06.9", "secondary_codes": "I10", "outcome_code": "2", "discharge_code": "1",
                    "advice": "Uống nhiều nước.", "vital_pulse": str(70 + index % 20), "vital_temperature": "37.8"})
                conn.request("POST", f"/consultation/visits/{client['visit']}/save", body=body, headers={
                    "Cookie": client["cookie"], "Content-Type": "application/x-www-form-urlencoded"})
                response = conn.getresponse()
                response.read()
                if response.status != 303:
                    raise RuntimeError(f"save -> HTTP {response.status}")
                client["version"] = response.getheader("X-Record-Version") or ""

            saturated = concurrent_latencies(base, CLIENTS, SAVES_PER_CLIENT, save)
            saves = concurrent_latencies(base, CLIENTS, SAVES_PER_CLIENT, save, think_seconds=THINK_SECONDS)
        record({"consult_save_p95_ms": p95(saves), "consult_save_saturated_p95_ms": p95(saturated),
                "record_page_p95_ms": p95(page),
                "consult_history_page_p95_ms": p95(history), "icd_search_p95_ms": p95(icd)})
        print(f"record_page_source               {source}")


if __name__ == "__main__":
    main()
