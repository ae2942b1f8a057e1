"""The sync routes against every role (the generated role×route rules, restricted to this area)."""

from __future__ import annotations

import pytest

from station.auth.roles import Role
from station.auth.security import access_of
from tests.conftest import Auth, csrf_from


def _sync_routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("sync."):
            continue
        path = rule.build({arg: "1" for arg in rule.arguments}, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        yield rule.endpoint, path, method


@pytest.mark.parametrize("role", list(Role))
def test_sync_routes_answer_each_role_as_declared(app, client, make_user, role):  # type: ignore[no-untyped-def]
    make_user(role)
    assert Auth(client).login(f"{role.value}.test").status_code == 302
    seen = set()
    for endpoint, path, method in _sync_routes(app):
        access = access_of(app, endpoint)
        assert access is not None, endpoint
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": csrf_from(client, "/")})
        if role in access.roles:
            assert response.status_code not in (401, 403), f"{role.value} refused {path}"
        else:
            assert response.status_code == 403, f"{role.value} got {response.status_code} on {path}"
        seen.add(endpoint)
    assert {"sync.index", "sync.api_changes", "sync.api_status", "sync.rebaseline"} <= seen


def test_anonymous_gets_nothing(app, client):  # type: ignore[no-untyped-def]
    for _, path, method in _sync_routes(app):
        response = client.open(path, method=method)
        if path.startswith("/api/"):
            assert response.status_code == 401, path
        else:
            assert response.status_code in (302, 400, 403), path


def test_nav_shows_sync_to_admin_and_head_only(app, make_user):  # type: ignore[no-untyped-def]
    for role in Role:
        make_user(role)
        c = app.test_client()
        Auth(c).login(f"{role.value}.test")
        page = c.get("/").get_data(as_text=True)
        assert ('href="/sync/"' in page) is (role in (Role.ADMIN, Role.HEAD)), role
