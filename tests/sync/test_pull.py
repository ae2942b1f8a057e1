"""The hub's signed pull endpoints: change feed, snapshot, status; replay, skew and expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from station.audit.services import Actor
from station.auth import services as auth_services
from station.auth.roles import ClientKind, Role
from station.sync.protocol import sign_request
from tests.conftest import Auth
from tests.sync.station_data import add_patients, configure, log_seqs, validate_fhir


@pytest.fixture
def hub_key(app: Flask) -> tuple[str, str]:
    """Register the city hub as an API client; return its key id and HMAC key."""
    from station.extensions import db

    configure(app, "http://127.0.0.1:9")
    with app.app_context():
        client, _ = auth_services.create_api_client(db.session, name="Hub Hà Nội", kind=ClientKind.HUB,
                                                    actor=Actor.system("test"))
        db.session.commit()
        return client.key_id, client.hmac_key or ""


def signed_get(client: FlaskClient, url: str, key: tuple[str, str], *, nonce: str | None = None,
               skew: timedelta = timedelta(0), secret: str | None = None):  # type: ignore[no-untyped-def]
    parts = urlsplit(url)
    headers = sign_request("GET", parts.path, parts.query, b"", key_id=key[0], secret=secret or key[1],
                           clock=lambda: datetime.now(UTC) + skew, nonce=nonce)
    return client.get(url, headers=headers)


def test_feed_pages_through_the_log_as_fhir(app: Flask, client: FlaskClient, hub_key: tuple[str, str]) -> None:
    add_patients(app, 4)
    seqs = log_seqs(app)
    got: list[int] = []
    after, pages = 0, 0
    while True:
        response = signed_get(client, f"/api/sync/changes?after={after}&limit=5", hub_key)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        for change in body["changes"]:
            validate_fhir(change["payload"])
        got += [c["seq"] for c in body["changes"]]
        after = body["next_after"]
        pages += 1
        if not body["has_more"]:
            break
    assert got == seqs and pages == 3 and after == seqs[-1]
    empty = signed_get(client, f"/api/sync/changes?after={after}", hub_key).get_json()
    assert empty == {"changes": [], "next_after": after, "has_more": False}


def test_signature_failures_are_401(app: Flask, client: FlaskClient, hub_key: tuple[str, str]) -> None:
    add_patients(app, 1, with_visit=False)
    assert client.get("/api/sync/changes?after=0").status_code == 401
    bad = signed_get(client, "/api/sync/changes?after=0", hub_key, secret="sai-khoa")
    assert bad.status_code == 401 and bad.get_json()["code"] == "bad_signature"
    first = signed_get(client, "/api/sync/changes?after=0", hub_key, nonce="n-1")
    assert first.status_code == 200
    replay = signed_get(client, "/api/sync/changes?after=0", hub_key, nonce="n-1")
    assert replay.status_code == 401 and replay.get_json()["code"] == "replayed_nonce"
    skewed = signed_get(client, "/api/sync/changes?after=0", hub_key, skew=timedelta(minutes=10))
    assert skewed.status_code == 401 and skewed.get_json()["code"] == "stale_timestamp"
    # A signature over another query does not verify.
    parts = sign_request("GET", "/api/sync/changes", "after=5", b"", key_id=hub_key[0], secret=hub_key[1])
    tampered = client.get("/api/sync/changes?after=0", headers=parts)
    assert tampered.status_code == 401 and tampered.get_json()["code"] == "bad_signature"
    unknown = signed_get(client, "/api/sync/changes?after=0", ("khong-co", "x"))
    assert unknown.status_code == 401 and unknown.get_json()["code"] == "unknown_key"


def test_replay_protection_survives_a_restart(app: Flask, client: FlaskClient, hub_key: tuple[str, str]) -> None:
    from station import create_app

    assert signed_get(client, "/api/sync/changes?after=0", hub_key, nonce="n-2").status_code == 200
    again = create_app(dict(app.config), instance_path=app.instance_path)  # a new process, same database
    replay = signed_get(again.test_client(), "/api/sync/changes?after=0", hub_key, nonce="n-2")
    assert replay.status_code == 401 and replay.get_json()["code"] == "replayed_nonce"
    with again.app_context():
        from station.extensions import db

        db.engine.dispose()


def test_expired_cursor_is_410_with_a_snapshot(app: Flask, client: FlaskClient, hub_key: tuple[str, str]) -> None:
    add_patients(app, 3)
    seqs = log_seqs(app)
    app.config["SYNC_RETAIN_FROM"] = seqs[4]  # rows before it count as compacted
    gone = signed_get(client, "/api/sync/changes?after=1", hub_key)
    assert gone.status_code == 410
    body = gone.get_json()
    assert body["code"] == "cursor_expired" and body["oldest_seq"] == seqs[4]
    assert body["snapshot"] == {"href": "/api/sync/snapshot", "high_water_seq": seqs[-1]}
    assert signed_get(client, f"/api/sync/changes?after={seqs[3]}", hub_key).status_code == 200

    snap = signed_get(client, body["snapshot"]["href"], hub_key)
    assert snap.status_code == 200 and snap.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in snap.get_data(as_text=True).splitlines()]
    assert lines[0]["high_water_seq"] == seqs[-1] == int(snap.headers["X-High-Water-Seq"])
    resources = lines[1:]
    for resource in resources:
        validate_fhir(resource)
    counts = {k: sum(1 for r in resources if r["resourceType"] == k) for k in ("Patient", "Encounter", "Observation")}
    assert counts == {"Patient": 3, "Encounter": 3, "Observation": 3}


def test_compaction_behind_a_set_aside_row_still_answers_410(app: Flask, client: FlaskClient,
                                                             hub_key: tuple[str, str]) -> None:
    from datetime import timedelta

    from station.clock import now_utc
    from station.extensions import db
    from station.sync import store
    from station.sync.models import SetAsideChange

    add_patients(app, 3)
    seqs = log_seqs(app)
    with app.app_context():
        db.session.add(SetAsideChange(seq=seqs[1], reason="hub refused", at=now_utc()))
        store.get_state(db.session).acked_seq = seqs[-1]
        removed = store.compact(db.session, older_than=now_utc() + timedelta(days=1))
        db.session.commit()
        assert removed == len(seqs) - 2  # the set-aside row and the newest row stay
        assert store.oldest_retained_seq(db.session) == seqs[-2] + 1
    # A cursor between the set-aside row and the compacted rows must not silently skip them.
    assert signed_get(client, f"/api/sync/changes?after={seqs[1]}", hub_key).status_code == 410


def test_status_for_the_hub_and_the_admin_only(app: Flask, client: FlaskClient, hub_key: tuple[str, str],
                                                make_user) -> None:  # type: ignore[no-untyped-def]
    add_patients(app, 1)
    body = signed_get(client, "/api/sync/status", hub_key).get_json()
    assert body["station_id"] == "tram-01" and body["last_seq"] == body["pending"] == 3
    assert body["acked_seq"] == 0 and body["set_aside"] == 0 and body["last_push_outcome"] is None
    make_user(Role.ADMIN)
    make_user(Role.DOCTOR)
    admin = Auth(app.test_client())
    admin.login("admin.test")
    assert admin.client.get("/api/sync/status").get_json()["db_identity"] == body["db_identity"]
    doctor = Auth(app.test_client())
    doctor.login("doctor.test")
    assert doctor.client.get("/api/sync/status").status_code == 403
    assert doctor.client.get("/api/sync/changes?after=0").status_code == 403
    assert doctor.client.get("/sync/").status_code == 403
