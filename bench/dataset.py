"""A station instance with demo staff and N generated patients, built once and cached.

``prepared_instance(patients=100_000)`` returns a *fresh copy* of a cached instance folder
(``station init`` + demo staff + N residents with identifiers, BHYT cards and history from
``station.patients.demo``), so each bench may write to it. The cache lives in
``bench/_work/`` (git-ignored), keyed by :data:`VERSION`: bump it when the schema or the
generator changes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.server import ROOT, run_station, station_env

VERSION = "patients-v1"
WORK = ROOT / "bench" / "_work"

_BUILD = """
import random
from station import create_app
from station.extensions import db
from station.audit.services import Actor
from station.clock import local_today
from station.demo import seed_staff
from station.admin import services as admin
from station.patients import demo
app = create_app()
with app.app_context():
    actor = Actor.system("bench")
    seed_staff(db.session, actor)
    facility = admin.get_facility(db.session)
    communes = [c for c, _ in admin.commune_choices(facility.province_code)]
    rng = random.Random(2026)
    total = {patients}
    for start in range(0, total, 20000):
        people = list(demo.generate(rng, min(20000, total - start), today=local_today(),
                                    province_code=facility.province_code, communes=communes,
                                    home_commune=facility.commune_code, facility_code=facility.facility_code))
        demo.bulk_insert(db.session, people, actor=actor, rng=rng, today=local_today(),
                         facility_code=facility.facility_code)
        db.session.commit()
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
"""


def _build(target: Path, patients: int) -> None:
    target.mkdir(parents=True)
    env = {**station_env(target), "STATION_PASSWORD_HASH_METHOD": '"scrypt:1024:8:1"'}
    run_station(target, "init")
    subprocess.run([sys.executable, "-c", _BUILD.format(patients=patients)], env=env, cwd=ROOT, check=True)


def prepared_instance(patients: int = 100_000) -> Path:
    """Return a fresh temporary copy of the cached instance with *patients* residents."""
    cached = WORK / f"instance-{VERSION}-{patients}"
    if not (cached / "station.sqlite").exists():
        if cached.exists():
            shutil.rmtree(cached)
        building = WORK / f"building-{VERSION}-{patients}"
        if building.exists():
            shutil.rmtree(building)
        _build(building, patients)
        building.rename(cached)
    copy = Path(tempfile.mkdtemp(prefix="station-bench-"))
    shutil.copytree(cached, copy, dirs_exist_ok=True)
    for stale in ("station.lock", "station.sqlite-wal", "station.sqlite-shm"):
        (copy / stale).unlink(missing_ok=True)
    return copy
