"""Every route against every role, generated from the app's URL map.

Each view declares its audience (station.auth.security.allow/public). This
test derives the expected answer for each role from that declaration and
checks the real response, so a new route is covered the day it is added.
"""

from __future__ import annotations

import pytest

from station.auth.roles import Role
from station.auth.security import access_of
from tests.conftest import Auth, csrf_from

DUMMY = {"default": "00000000-0000-0000-0000-000000000000", "int": "1", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}


def _routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        # Arguments filled by the rule's defaults (e.g. /drugs/new with drug_id=None) have no converter.
        values = {arg: DUMMY.get(type(rule._converters[arg]).__name__.replace("Converter", "").lower(),
                                 DUMMY["default"]) for arg in rule.arguments if arg in rule._converters}
        path = rule.build(values, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        yield rule.endpoint, path, method


def _request(client, path, method):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path)
    token = csrf_from(client, "/") if "/api/" not in path else None
    data = {"csrf_token": token} if token else {}
    return client.open(path, method=method, data=data)


def test_every_view_declares_its_audience(app):
    missing = [endpoint for endpoint, _, _ in _routes(app) if access_of(app, endpoint) is None]
    assert missing == []


@pytest.mark.parametrize("role", list(Role))
def test_every_route_answers_each_role_as_declared(app, client, make_user, role):
    make_user(role)
    assert Auth(client).login(f"{role.value}.test").status_code == 302
    checked = 0
    for endpoint, path, method in _routes(app):
        if endpoint in {"auth.logout", "auth.login"}:
            continue
        access = access_of(app, endpoint)
        response = _request(client, path, method)
        if access.public or role in access.roles:
            assert response.status_code not in (401, 403), f"{role.value} refused {method} {path}"
            assert "/auth/login" not in response.headers.get("Location", ""), f"{role.value} sent to login by {path}"
        else:
            assert response.status_code == 403, f"{role.value} got {response.status_code} on {method} {path}"
        checked += 1
    assert checked >= 5


def test_anonymous_users_reach_only_public_views(app, client):
    for endpoint, path, method in _routes(app):
        access = access_of(app, endpoint)
        response = _request(client, path, method) if method == "GET" else client.open(path, method=method)
        if access.public:
            assert response.status_code not in (401, 403), path
        elif path.startswith("/api/"):
            assert response.status_code in (401, 403), path
        elif method == "GET" and access.roles:
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path
        else:
            # A POST without a session has no CSRF token: refused either way.
            assert response.status_code in (400, 401, 403), path
