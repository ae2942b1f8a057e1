"""Shared fixtures: a real database per test, the app, its clients and staff factories.

SQLite (default): the schema is built once per session by running the Alembic
migrations into a template file; each test gets its own copy, so commits are
real and tests are isolated. PostgreSQL: set STATION_TEST_DATABASE_URL; the
schema is migrated once and every table is emptied after each test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from station import create_app
from station.audit.services import Actor
from station.auth import services as auth_services
from station.auth.roles import Role

PG_URL = os.environ.get("STATION_TEST_DATABASE_URL")
TEST_PASSWORD = "Matkhau2026"
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def _settings(db_url: str, instance: Path) -> dict:
    return {"TESTING": True, "SECRET_KEY": "testing-only-not-secret", "SQLALCHEMY_DATABASE_URI": db_url,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate an empty database once; return its URL (SQLite: a template file)."""
    from flask_migrate import upgrade

    folder = tmp_path_factory.mktemp("template")
    url = PG_URL or f"sqlite:///{folder / 'template.sqlite'}"
    app = create_app(_settings(url, folder), instance_path=str(folder))
    with app.app_context():
        from station.extensions import db

        if PG_URL:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app(template_db: str, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app on its own copy of the migrated database."""
    if PG_URL:
        url = PG_URL
    else:
        target = tmp_path / "station.sqlite"
        shutil.copyfile(template_db.removeprefix("sqlite:///"), target)
        url = f"sqlite:///{target}"
    app = create_app(_settings(url, tmp_path), instance_path=str(tmp_path / "instance"))
    yield app
    with app.app_context():
        from station.extensions import db

        db.session.remove()
        if PG_URL:
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask):  # type: ignore[no-untyped-def]
    """Create (and commit) a staff account: make_user(Role.DOCTOR, username="bs.a")."""
    def make(role: Role, username: str | None = None, password: str = TEST_PASSWORD, **fields):  # type: ignore[no-untyped-def]
        from station.extensions import db

        with app.app_context():
            user = auth_services.create_user(
                db.session, username=username or f"{role.value}.test", full_name=fields.pop("full_name", f"Nguyễn Văn {role.value.title()}"),
                role=role, password=password, actor=Actor.system("test"),
                policy=auth_services.LoginPolicy.from_config(app.config), **fields)
            db.session.commit()
            return user.username
    return make


def csrf_from(client: FlaskClient, path: str = "/auth/login") -> str:
    """Return the CSRF token of the client's session, read from a page's meta tag."""
    page = client.get(path)
    match = CSRF_META.search(page.get_data(as_text=True))
    assert match, f"no CSRF meta tag on {path} ({page.status_code})"
    return match.group(1)


class Auth:
    """Log a test client in and out through the real forms (flaskr's AuthActions)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
        token = csrf_from(self.client, "/auth/login")
        return self.client.post("/auth/login", data={"username": username, "password": password,
                                                     "csrf_token": token})

    def logout(self):  # type: ignore[no-untyped-def]
        return self.client.post("/auth/logout", data={"csrf_token": csrf_from(self.client, "/")})

    def post(self, path: str, data: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
        """POST a form with the session's CSRF token."""
        data = dict(data or {})
        data["csrf_token"] = csrf_from(self.client, "/")
        return self.client.post(path, data=data, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)
