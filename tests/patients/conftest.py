"""Fixtures of the patients tests: a session inside the app and a test actor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from station.audit.services import Actor
from station.clock import FrozenClock, LOCAL_TZ

TODAY = date(2026, 3, 15)
CLOCK = FrozenClock(__import__("datetime").datetime(2026, 3, 15, 9, 0, tzinfo=LOCAL_TZ))
ACTOR = Actor("test", "test", "127.0.0.1")


@pytest.fixture
def session(app) -> Iterator:  # type: ignore[no-untyped-def]
    from station.extensions import db

    with app.app_context():
        yield db.session


def make_patient(session, name: str = "Nguyễn Văn A", birth: str = "05/03/1956", sex: str = "male",  # type: ignore[no-untyped-def]
                 cccd: str = "", **fields):
    from station.patients import services

    idents = [("cccd", cccd)] if cccd else []
    return services.register_patient(session, {"full_name": name, "birth": birth, "sex": sex, **fields},
                                     actor=ACTOR, clock=CLOCK, identifiers=idents)
