"""Check-in latency through the real HTTP server with 100,000 patients in the database.

``checkin_p95_ms``: from the QR text arriving at ``POST /api/reception/checkin``
to the visit, its queue number and the ticket print job committed (the response
is sent after the commit). The kiosk's Bearer credential is used, as a kiosk
would. No BHXH portal is configured, so the after-commit lookup is not part of
the figure (it runs after the commit in a separate transaction).

Run from the repository root: ``python -m bench.bench_reception``.
"""

from __future__ import annotations

import http.client
import json
import os
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from bench.common import median, p95, record
from bench.server import run_station, serving

PATIENTS = 100_000
SAMPLES = 300
WARMUP = 30
GIVEN = ["An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hải", "Hùng", "Khoa", "Lan", "Mai", "Minh", "Nam",
         "Ngọc", "Phong", "Quang", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt", "Yến", "Hoa"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]


def _cccd(n: int) -> str:
    return f"0011{n % 100:02d}{n:06d}"


def _populate(instance: Path) -> str:
    """Bulk-insert the residents, rooms and a kiosk client; return the kiosk credential."""
    os.environ["STATION_INSTANCE_PATH"] = str(instance)
    os.environ["STATION_ENV"] = "production"
    from sqlalchemy import insert

    from station import create_app
    from station.audit.services import Actor
    from station.auth.roles import ClientKind
    from station.auth.services import create_api_client
    from station.extensions import db
    from station.patients.models import Patient, PatientIdentifier
    from station.reception.demo import ensure_rooms
    from station.text import fold

    app = create_app()
    with app.app_context():
        ensure_rooms(db.session)
        _, credential = create_api_client(db.session, name="bench-kiosk", kind=ClientKind.KIOSK,
                                          actor=Actor.system("bench"))
        db.session.commit()
        batch = 10_000
        for start in range(0, PATIENTS, batch):
            patients, idents = [], []
            for n in range(start, min(start + batch, PATIENTS)):
                pid = uuid.uuid4()
                name = f"{FAMILY[n % len(FAMILY)]} Văn {GIVEN[n % len(GIVEN)]}"
                born = date(1940, 1, 1) + timedelta(days=(n * 37) % 29000)
                patients.append({"id": pid, "code": f"01001-{n + 1:07d}", "full_name": name, "name_folded": fold(name),
                                 "birth_date": born, "birth_year": born.year, "sex": "male" if n % 2 else "female"})
                idents.append({"patient_id": pid, "kind": "cccd", "value": _cccd(n), "status": "active", "source": "import"})
            db.session.execute(insert(Patient), patients)
            db.session.execute(insert(PatientIdentifier), idents)
            db.session.commit()
    return credential


def _qr(n: int) -> str:
    born = date(1940, 1, 1) + timedelta(days=(n * 37) % 29000)
    name = f"{FAMILY[n % len(FAMILY)]} Văn {GIVEN[n % len(GIVEN)]}".upper()
    return f"{_cccd(n)}||{name}|{born:%d%m%Y}|{'Nam' if n % 2 else 'Nữ'}|Phường Hoàn Kiếm, Hà Nội|15042021"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-reception-") as folder:
        instance = Path(folder)
        run_station(instance, "init")
        credential = _populate(instance)
        with serving(instance) as (_process, base):
            host, port = base.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {credential}"}
            samples = []
            for i in range(WARMUP + SAMPLES):
                n = (i * 331) % PATIENTS  # spread over the whole table
                body = json.dumps({"qr": _qr(n), "room": "PK1" if i % 2 else "PK2"})
                start = time.perf_counter()
                conn.request("POST", "/api/reception/checkin", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                elapsed = (time.perf_counter() - start) * 1000
                if response.status != 201:
                    raise RuntimeError(f"check-in {i} -> {response.status}: {data[:200]!r}")
                if i >= WARMUP:
                    samples.append(elapsed)
            conn.close()
    record({"checkin_p95_ms": p95(samples), "checkin_median_ms": median(samples)})


if __name__ == "__main__":
    main()
