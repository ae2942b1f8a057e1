"""Trạm Y tế số: the commune health-station server (Flask application package)."""

from __future__ import annotations

import importlib.util  # noqa: F401  (area_modules uses importlib.util.find_spec)
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import config as config_module

ROOT = Path(__file__).resolve().parent.parent
#: Secret keys that ship in this repository and so are never acceptable in service.
KNOWN_PUBLIC_KEYS = {None, "", "dev", "dev-only-not-secret", "testing-only-not-secret", "change-me"}


class ConfigError(RuntimeError):
    """The station's configuration is unusable; the message names the setting (English, for the operator)."""


def create_app(config: type[config_module.BaseConfig] | Mapping[str, Any] | None = None,
               *, instance_path: str | None = None) -> Flask:
    """Build the station application.

    Settings are applied in order: the config class (default chosen by
    ``STATION_ENV``, production when unset), ``instance/station.cfg``, then
    ``STATION_*`` environment variables (JSON-decoded, e.g.
    ``STATION_BIND_PORT=8080``); ``STATION_DATABASE_URL`` selects PostgreSQL.
    """
    instance_path = instance_path or os.environ.get("STATION_INSTANCE_PATH") or str(ROOT / "instance")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    if config is None:
        env = os.environ.get("STATION_ENV", "production")
        if env not in config_module.CONFIGS:
            raise ConfigError(f"STATION_ENV={env!r} is not one of {sorted(config_module.CONFIGS)}")
        config = config_module.CONFIGS[env]
    if isinstance(config, Mapping):
        app.config.from_object(config_module.TestingConfig if config.get("TESTING") else config_module.ProductionConfig)
        app.config.from_mapping(config)
    else:
        app.config.from_object(config)
        if not app.config.get("TESTING"):
            app.config.from_pyfile("station.cfg", silent=True)
            app.config.from_prefixed_env("STATION")
    _finish_config(app)

    _init_extensions(app)
    _register_blueprints(app)
    _configure_logging(app)
    return app


def _finish_config(app: Flask) -> None:
    cfg = app.config
    url = cfg.pop("DATABASE_URL", None) or cfg.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'station.sqlite'}"
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    _validate(cfg)
    from datetime import timedelta

    cfg["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=int(cfg["SESSION_IDLE_MINUTES"]))


def _validate(cfg: Mapping[str, Any]) -> None:
    """Fail fast, naming the setting, when a value cannot work."""
    for key in ("SESSION_IDLE_MINUTES", "LOGIN_MAX_FAILURES", "LOGIN_LOCK_MINUTES",
                "LOGIN_MAX_FAILURES_PER_ADDRESS", "PASSWORD_MIN_LENGTH", "SERVE_THREADS", "BIND_PORT"):
        value = cfg.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"STATION_{key} must be a positive whole number, got {value!r}")
    if not 0 < cfg["BIND_PORT"] < 65536:
        raise ConfigError(f"STATION_BIND_PORT must be between 1 and 65535, got {cfg['BIND_PORT']!r}")
    for key in ("SESSION_COOKIE_SECURE", "DEMO_MODE"):
        if not isinstance(cfg.get(key), bool):
            raise ConfigError(f"STATION_{key} must be true or false, got {cfg.get(key)!r}")
    secret = cfg.get("SECRET_KEY")
    relaxed = cfg.get("TESTING") or cfg.get("DEBUG") or cfg.get("ENV_DEVELOPMENT")
    if not relaxed and (secret in KNOWN_PUBLIC_KEYS or len(str(secret)) < 32):
        raise ConfigError("SECRET_KEY is missing or not secret: run `station init` (it writes a random key "
                          "to instance/station.cfg) or set STATION_SECRET_KEY to at least 32 random characters")
    url = cfg["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        if not os.access(folder, os.W_OK):
            raise ConfigError(f"the database folder {folder} does not exist or is not writable by this user; "
                              "fix its permissions or set STATION_DATABASE_URL")


def _init_extensions(app: Flask) -> None:
    from station.auth import security
    from station.db import configure_engine
    from station.extensions import csrf, db, migrate
    from station.web import filters, nav

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True, render_as_batch=True)
    app.before_request(_start_in_read_mode)
    csrf.init_app(app)
    security.init_app(app)
    app.before_request(_switch_to_write_mode)
    app.after_request(_keep_audit_of_reads)
    app.teardown_request(_reset_mode)
    filters.init_app(app)
    nav.init_app(app)
    _import_models()


def area_modules(name: str) -> list[Any]:
    """Import ``station.<area>.<name>`` for every area package that has one, in area order.

    Areas plug in by convention (models.py, views.py with ``bp``, cli.py with
    ``commands``, demo.py, background.py) so that adding an area never means
    editing a central list.
    """
    import importlib
    import pkgutil

    import station

    found = []
    for info in sorted(pkgutil.iter_modules(station.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        spec = importlib.util.find_spec(f"station.{info.name}.{name}")
        if spec is not None:
            found.append(importlib.import_module(f"station.{info.name}.{name}"))
    return found


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _start_in_read_mode() -> None:
    """Requests begin reading: the login and access checks never take the writer lock."""
    from flask import g

    from station.db import set_write_intent

    g.station_write_token = set_write_intent(False)


def _switch_to_write_mode() -> None:
    """After the access checks, the view works in write transactions (SQLite: BEGIN IMMEDIATE).

    Only GET views declared with :func:`station.web.readonly.read_only` (searches,
    the record page, polling displays) keep reading beside the writer.
    """
    from flask import current_app, request

    from station.db import set_write_intent
    from station.extensions import db

    view = current_app.view_functions.get(request.endpoint or "")
    if request.method not in SAFE_METHODS or not getattr(view, "_read_only", False):
        db.session.rollback()  # end the read transaction of the checks; nothing was written in it
        set_write_intent(True)


def _keep_audit_of_reads(response: Any) -> Any:
    """Commit what a page that only shows data wrote: its audit events ("patient.view" ...).

    A GET that reached here without an error has nothing else to write, so the
    commit keeps the trace of the read instead of letting teardown roll it back.
    """
    from flask import request

    from station.extensions import db

    if request.method in SAFE_METHODS and response.status_code < 500:
        db.session.commit()
    return response


def _reset_mode(error: BaseException | None = None) -> None:
    from flask import g

    from station.db import reset_write_intent

    token = g.pop("station_write_token", None)
    if token is not None:
        reset_write_intent(token)


def _import_models() -> None:
    """Import every model module so that the metadata is complete (migrations, create_all)."""
    import station.sync.capture  # noqa: F401  (registers the change-log listener)

    area_modules("models")


def _register_blueprints(app: Flask) -> None:
    from station.cli import register_commands
    from station.web.errors import register_error_handlers

    for module in area_modules("views"):
        for blueprint in getattr(module, "BLUEPRINTS", [module.bp]):
            app.register_blueprint(blueprint)
    register_error_handlers(app)
    register_commands(app)


def _configure_logging(app: Flask) -> None:
    # Operator logs: level and message only. Views never log patient data;
    # request lines (which may carry search terms) are not logged at all.
    if not app.config.get("TESTING"):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
