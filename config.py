"""Configuration classes: defaults only, no reads of the environment at import.

Per-station values come from ``instance/station.cfg`` and ``STATION_*``
environment variables, applied on top of these classes by ``create_app``.
"""

from __future__ import annotations

from datetime import timedelta


class BaseConfig:
    """Defaults shared by every environment."""

    #: Must be replaced by a real random key outside development and testing;
    #: ``station init`` writes one into the instance folder.
    SECRET_KEY: str | None = None
    #: None means the embedded SQLite file ``instance/station.sqlite``.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False

    TIMEZONE = "Asia/Ho_Chi_Minh"
    BABEL_DEFAULT_LOCALE = "vi"

    # Sessions and login
    SESSION_COOKIE_NAME = "station_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: Turn on once the station serves HTTPS on the LAN (TLS is a later issue).
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    #: Minutes of inactivity after which a staff session expires.
    SESSION_IDLE_MINUTES = 30
    #: Failed logins before an account is locked, and for how long.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    #: Failed logins from one address within LOGIN_LOCK_MINUTES before it is slowed down.
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    PASSWORD_MIN_LENGTH = 10
    PASSWORD_HASH_METHOD = "scrypt"

    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Serving
    BIND_HOST = "0.0.0.0"
    BIND_PORT = 8000
    SERVE_THREADS = 8

    DEMO_MODE = False


class DevelopmentConfig(BaseConfig):
    """Local development: a fixed key is acceptable."""

    SECRET_KEY = "dev-only-not-secret"
    ENV_DEVELOPMENT = True
    DEMO_MODE = True


class TestingConfig(BaseConfig):
    """Tests: everything explicit, nothing from the environment."""

    TESTING = True
    SECRET_KEY = "testing-only-not-secret"
    WTF_CSRF_ENABLED = True
    #: A cheap scrypt cost keeps the suite fast; production uses werkzeug's default.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


class ProductionConfig(BaseConfig):
    """A station in service: refuses to start without a real secret key."""


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
