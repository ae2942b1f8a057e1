"""The factory: configuration sources, validation and the production guard."""

from __future__ import annotations

import pytest

from config import ProductionConfig
from station import ConfigError, create_app


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("STATION_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(ProductionConfig, instance_path=str(tmp_path))


def test_production_refuses_a_key_that_ships_in_the_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_SECRET_KEY", "dev-only-not-secret")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(ProductionConfig, instance_path=str(tmp_path))


def test_instance_file_and_environment_override_defaults(tmp_path, monkeypatch):
    (tmp_path / "station.cfg").write_text("SECRET_KEY = '" + "k" * 40 + "'\nSESSION_IDLE_MINUTES = 20\n")
    monkeypatch.setenv("STATION_BIND_PORT", "8080")
    app = create_app(ProductionConfig, instance_path=str(tmp_path))
    assert app.config["SESSION_IDLE_MINUTES"] == 20
    assert app.config["BIND_PORT"] == 8080
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'station.sqlite'}"
    assert app.template_folder.endswith("templates")


@pytest.mark.parametrize("name, value, message", [
    ("STATION_BIND_PORT", "99999", "BIND_PORT"),
    ("STATION_SESSION_IDLE_MINUTES", '"soon"', "SESSION_IDLE_MINUTES"),
    ("STATION_SESSION_COOKIE_SECURE", '"yes"', "SESSION_COOKIE_SECURE"),
])
def test_bad_configuration_values_are_named(tmp_path, monkeypatch, name, value, message):
    monkeypatch.setenv("STATION_SECRET_KEY", "k" * 40)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app(ProductionConfig, instance_path=str(tmp_path))


def test_database_url_selects_postgresql_driver(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("STATION_DATABASE_URL", "postgresql://station@localhost/station")
    app = create_app(ProductionConfig, instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_unwritable_database_folder_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("STATION_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("STATION_DATABASE_URL", f"sqlite:///{locked / 'x' / 'station.sqlite'}")
    with pytest.raises(ConfigError, match="not writable"):
        create_app(ProductionConfig, instance_path=str(tmp_path))


def test_sqlite_connections_use_the_station_settings(app):
    from station.extensions import db

    with app.app_context():
        conn = db.session.connection()
        if conn.dialect.name != "sqlite":
            pytest.skip("SQLite settings only")
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
