"""Demo data of reception: default rooms and a few of today's check-ins in the queue."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.audit.services import Actor
from station.patients.models import Patient
from station.reception import services
from station.reception.models import Room

ORDER = 30

#: The rooms a commune station usually has (code, name, service, kind, on kiosk).
DEFAULT_ROOMS: list[tuple[str, str, str, str, bool]] = [
    ("PK1", "Phòng khám 1", "Khám bệnh đa khoa", "exam", True),
    ("PK2", "Phòng khám 2", "Khám bệnh đa khoa", "exam", True),
    ("YHCT", "Phòng Y học cổ truyền", "Khám y học cổ truyền", "exam", True),
    ("TC", "Phòng tiêm chủng", "Tiêm chủng", "vaccination", True),
    ("KT", "Phòng khám thai", "Khám thai, sức khỏe sinh sản", "antenatal", False),
]


def ensure_rooms(session: Session) -> list[str]:
    """Create the default rooms that do not exist; return the codes created."""
    created = []
    for order, (code, name, service, kind, kiosk) in enumerate(DEFAULT_ROOMS):
        if session.get(Room, code) is None:
            session.add(Room(code=code, name=name, service_name=service, kind=kind, on_kiosk=kiosk,
                             sort_order=order, active=True))
            created.append(code)
    session.flush()
    return created


def seed_demo(session: Session, rng: random.Random, actor: Actor, summary: dict[str, Any], *,
              patients: int) -> None:
    """Rooms, then up to 6 of today's check-ins (if the patients area created residents)."""
    summary["rooms_created"] = ensure_rooms(session)
    residents = list(session.scalars(select(Patient).where(Patient.status == "active").order_by(Patient.code).limit(40)))
    checked_in = 0
    for patient in rng.sample(residents, k=min(6, len(residents))):
        room = rng.choice(["PK1", "PK1", "PK2", "YHCT"])
        result = services.checkin(session, patient, room_code=room, actor=actor, channel="reception",
                                  reason=rng.choice(["Ho, sốt", "Đau đầu", "Tái khám tăng huyết áp", "Đau bụng"]),
                                  print_ticket=False)
        checked_in += result.status == "checked_in"
    summary["queue_checkins"] = checked_in
