"""Fixtures of the reception tests: a station with rooms, staff and card QR texts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from station.admin.models import Facility
from station.audit.services import Actor
from station.auth.roles import Role
from station.reception.demo import ensure_rooms

ACTOR = Actor("system", "test", "local")
#: Old chip card, no QR warnings; born 1950 (elderly), man.
QR_AN = "001050123456|012345678|NGUYỄN VĂN AN|01011950|Nam|Số 5 Hàng Bạc, Hoàn Kiếm, Hà Nội|15042021"
#: A woman born 1995 without the old CMND.
QR_BICH = "001195001234||TRẦN THỊ BÍCH|20071995|Nữ|Phường Cửa Nam, Hà Nội|02032022"
#: Same card number as QR_AN, but a new address (moved house).
QR_AN_MOVED = "001050123456|012345678|NGUYỄN VĂN AN|01011950|Nam|Phường Tây Hồ, Hà Nội|15042021"


@pytest.fixture
def station(app: Flask) -> Iterator[Flask]:
    """The app with its facility row and the default rooms."""
    from station.extensions import db

    with app.app_context():
        db.session.add(Facility(name="Trạm Y tế phường Hoàn Kiếm", facility_code="01001", province_code="01",
                                commune_code="00070"))
        ensure_rooms(db.session)
        db.session.commit()
    yield app


@pytest.fixture
def receptionist(station: Flask, make_user, auth):  # type: ignore[no-untyped-def]
    make_user(Role.RECEPTION, username="tt.test")
    auth.login("tt.test")
    return auth


def csrf_headers(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_from

    return {"X-CSRFToken": csrf_from(client, "/"), "Accept": "application/json"}
