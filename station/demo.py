"""Realistic Vietnamese demo data for trying the station (never for a real station)."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.audit.services import Actor
from station.auth import services as auth_services
from station.auth.models import User
from station.auth.roles import Role

#: Password of every demo staff account; printed by `station demo`.
DEMO_PASSWORD = "TramYte2026"

DEMO_STAFF: list[dict[str, str]] = [
    {"username": "bs.hoa", "full_name": "Nguyễn Thị Hòa", "role": "doctor", "title": "Bác sĩ đa khoa",
     "practising_cert_no": "001234/HNO-CCHN", "bhxh_staff_code": "001234/HNO-CCHN"},
    {"username": "ys.tuan", "full_name": "Trần Văn Tuấn", "role": "doctor", "title": "Y sĩ đa khoa",
     "practising_cert_no": "004567/HNO-CCHN", "bhxh_staff_code": "004567/HNO-CCHN"},
    {"username": "dd.lan", "full_name": "Lê Thị Lan", "role": "nurse", "title": "Điều dưỡng"},
    {"username": "dd.minh", "full_name": "Phạm Đức Minh", "role": "nurse", "title": "Điều dưỡng"},
    {"username": "tt.ngoc", "full_name": "Vũ Bảo Ngọc", "role": "reception", "title": "Nhân viên tiếp đón"},
    {"username": "tn.hung", "full_name": "Đặng Quốc Hùng", "role": "cashier", "title": "Kế toán - thu ngân"},
    {"username": "tt.truong", "full_name": "Hoàng Minh Trường", "role": "head", "title": "Trưởng trạm"},
]



def seed_staff(session: Session, actor: Actor, policy: auth_services.LoginPolicy = auth_services.LoginPolicy()) -> list[str]:
    """Create the demo staff accounts that do not exist yet; return their usernames."""
    created = []
    for spec in DEMO_STAFF:
        if session.scalar(select(User.id).where(User.username == spec["username"])):
            continue
        auth_services.create_user(session, username=spec["username"], full_name=spec["full_name"],
                                  role=Role(spec["role"]), password=DEMO_PASSWORD, actor=actor,
                                  title=spec.get("title", ""), practising_cert_no=spec.get("practising_cert_no", ""),
                                  bhxh_staff_code=spec.get("bhxh_staff_code", ""), policy=policy)
        created.append(spec["username"])
    return created


def seed(session: Session, *, patients: int, seed: int, actor: Actor,
         policy: auth_services.LoginPolicy = auth_services.LoginPolicy()) -> dict[str, Any]:
    """Seed staff and every registered area's demo data; return a summary to print."""
    rng = random.Random(seed)
    summary: dict[str, Any] = {"staff_created": seed_staff(session, actor, policy), "staff_password": DEMO_PASSWORD}
    from station import area_modules

    # Each area may have demo.py with ORDER (int) and seed_demo(session, rng, actor, summary, patients=).
    for module in sorted(area_modules("demo"), key=lambda m: m.ORDER):
        module.seed_demo(session, rng, actor, summary, patients=patients)
    return summary
