"""The ``station`` command: set-up, serving, staff accounts, demo data, audit checks."""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from sqlalchemy import select

from station.audit import services as audit
from station.audit.services import Actor
from station.auth import services as auth_services
from station.auth.models import User
from station.auth.roles import ClientKind, Role, parse_role
from station.errors import StationError
from station.extensions import db

CLI_ACTOR = Actor(id="cli", label="cli", address="cli")


def _policy() -> auth_services.LoginPolicy:
    return auth_services.LoginPolicy.from_config(current_app.config)


def fail(message: str, code: int = 1) -> None:
    """Print an error for the operator and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def ensure_secret_key(instance_path: str) -> bool:
    """Write a random SECRET_KEY into instance/station.cfg unless one is configured; return True if written."""
    if os.environ.get("STATION_SECRET_KEY"):
        return False
    cfg = Path(instance_path) / "station.cfg"
    if cfg.exists() and "SECRET_KEY" in cfg.read_text(encoding="utf-8"):
        return False
    cfg.parent.mkdir(parents=True, exist_ok=True)
    with open(cfg, "a", encoding="utf-8") as handle:
        handle.write(f"# Written by `station init`; keep this file private.\nSECRET_KEY = {secrets.token_hex(32)!r}\n")
    cfg.chmod(0o600)
    return True


@click.command("init")
@with_appcontext
@click.option("--name", default="Trạm Y tế phường Hoàn Kiếm", show_default=True, help="Station name.")
@click.option("--facility-code", default="01001", show_default=True, help="MA_CSKCB, 5 characters.")
@click.option("--province", "province_code", default="01", show_default=True, help="Province code (post-2025).")
@click.option("--commune", "commune_code", default="00070", show_default=True, help="Commune/ward code (post-2025).")
@click.option("--admin", "admin_username", default="admin", show_default=True, help="Username of the first admin.")
def init_command(name: str, facility_code: str, province_code: str, commune_code: str, admin_username: str) -> None:
    """Migrate the database, create the station identity and the first admin."""
    from flask_migrate import upgrade

    upgrade()
    from station.admin import services as admin_services

    try:
        facility = admin_services.get_facility(db.session)
        if facility is None:
            facility = admin_services.save_facility(
                db.session, name=name, facility_code=facility_code, province_code=province_code,
                commune_code=commune_code, actor=CLI_ACTOR)
            click.echo(f"Station created: {facility.name} ({facility.facility_code}), "
                       f"database identity {facility.db_identity}")
        admin_exists = db.session.scalar(select(User.id).where(User.role == Role.ADMIN))
        password = None
        if not admin_exists:
            password = auth_services.generate_one_time_password()
            auth_services.create_user(db.session, username=admin_username, full_name="Quản trị viên",
                                      role=Role.ADMIN, password=password, actor=CLI_ACTOR,
                                      must_change_password=True, policy=_policy())
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        fail(error.message)
    if password:
        click.echo("")
        click.echo("  First admin login (one-time password, change it at first login):")
        click.echo(f"    username: {admin_username}")
        click.echo(f"    password: {password}")
        click.echo("")
    else:
        click.echo("An admin account exists already (reset with `station users reset-password NAME`).")


@click.command("serve")
@with_appcontext
@click.option("--host", default=None, help="Address to bind (default: BIND_HOST, all LAN interfaces).")
@click.option("--port", default=None, type=int, help="Port (default: BIND_PORT, 8000).")
def serve_command(host: str | None, port: int | None) -> None:
    """Serve the station on the LAN with waitress, plus its scheduler and print spooler."""
    import waitress

    from station import runtime

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    host = host or app.config["BIND_HOST"]
    port = port or app.config["BIND_PORT"]
    try:
        lock = runtime.acquire_owner_lock(app.instance_path)
        runtime.check_port(host, port)
    except (runtime.AlreadyRunning, runtime.PortInUse) as error:
        fail(str(error))
    stops = runtime.start_background(app)
    from station.admin.services import get_facility

    facility = get_facility(db.session)
    db.session.remove()
    name = facility.name if facility else "station (run `station init` first)"
    click.echo(f"Serving {name} on http://{host}:{port}/ with {app.config['SERVE_THREADS']} threads")
    try:
        waitress.serve(app, host=host, port=port, threads=app.config["SERVE_THREADS"], ident="station",
                       clear_untrusted_proxy_headers=True)
    finally:
        for stop in stops:
            stop()
        lock.close()


users_group = AppGroup("users", help="Manage staff accounts.")


@users_group.command("add")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Full name with diacritics.")
@click.option("--role", required=True, help="admin, doctor, nurse, reception, cashier or head.")
@click.option("--title", default="", help="Professional title shown on forms.")
@click.option("--cert", "practising_cert_no", default="", help="Practising certificate number.")
@click.option("--bhxh-code", "bhxh_staff_code", default="", help="MA_BAC_SI for XML claims.")
def users_add(username: str, full_name: str, role: str, title: str, practising_cert_no: str,
              bhxh_staff_code: str) -> None:
    """Create a staff account with a one-time password."""
    try:
        parsed = parse_role(role)
    except ValueError as error:
        fail(str(error), 2)
    password = auth_services.generate_one_time_password()
    try:
        auth_services.create_user(db.session, username=username, full_name=full_name, role=parsed,
                                  password=password, actor=CLI_ACTOR, title=title,
                                  practising_cert_no=practising_cert_no, bhxh_staff_code=bhxh_staff_code,
                                  must_change_password=True, policy=_policy())
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        fail(error.message)
    click.echo(f"Created {username} ({parsed.value}); one-time password: {password}")


@users_group.command("list")
def users_list() -> None:
    """List staff accounts."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        state = "active" if user.active else "disabled"
        click.echo(f"{user.username:20s} {user.role.value:10s} {state:9s} {user.full_name}")


def _with_user(username: str) -> User:
    try:
        return auth_services.get_user(db.session, username)
    except StationError as error:
        fail(error.message)
        raise  # unreachable


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable an account and end its sessions."""
    auth_services.set_active(db.session, _with_user(username), False, actor=CLI_ACTOR)
    db.session.commit()
    click.echo(f"Disabled {username}")


@users_group.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Re-enable a disabled account."""
    auth_services.set_active(db.session, _with_user(username), True, actor=CLI_ACTOR)
    db.session.commit()
    click.echo(f"Enabled {username}")


@users_group.command("reset-password")
@click.argument("username")
def users_reset_password(username: str) -> None:
    """Give an account a one-time password (also unlocks it)."""
    password = auth_services.reset_password(db.session, _with_user(username), actor=CLI_ACTOR, policy=_policy())
    db.session.commit()
    click.echo(f"One-time password for {username}: {password}")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role")
def users_set_role(username: str, role: str) -> None:
    """Change an account's role."""
    try:
        parsed = parse_role(role)
    except ValueError as error:
        fail(str(error), 2)
    auth_services.set_role(db.session, _with_user(username), parsed, actor=CLI_ACTOR)
    db.session.commit()
    click.echo(f"{username} is now {parsed.value}")


# "change-role" reads as the issue words it; both names run the same command.
users_group.add_command(users_set_role, "change-role")


clients_group = AppGroup("clients", help="Manage machine clients (kiosk, calling display, city hub).")


@clients_group.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice([k.value for k in ClientKind]), required=True)
@click.option("--rooms", default="", help="Comma-separated room codes this client serves.")
def clients_add(name: str, kind: str, rooms: str) -> None:
    """Create a machine client and print its credential once."""
    try:
        client, credential = auth_services.create_api_client(db.session, name=name, kind=ClientKind(kind),
                                                             actor=CLI_ACTOR, rooms=rooms)
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        fail(error.message)
    click.echo(f"Created {kind} client {name}; credential (shown once): {credential}")
    if client.hmac_key:
        click.echo(f"HMAC key id {client.key_id}, key: {client.hmac_key}")


audit_group = AppGroup("audit", help="Check the audit trail.")


@audit_group.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain of the audit trail; exit 1 if it was tampered with."""
    report = audit.verify_chain(db.session)
    if report.ok:
        click.echo(f"audit chain OK: {report.checked} events verified")
        return
    fail(f"audit chain BROKEN at event #{report.broken_at}: {report.reason} "
         f"({report.checked} events verified before it)")


@click.command("demo")
@with_appcontext
@click.option("--patients", default=300, show_default=True, help="How many demo residents to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed (same seed, same data).")
def demo_command(patients: int, seed: int) -> None:
    """Fill the station with realistic Vietnamese demo data (never in a real station)."""
    from station import demo

    try:
        summary = demo.seed(db.session, patients=patients, seed=seed, actor=CLI_ACTOR, policy=_policy())
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        fail(error.message)
    staff = summary.pop("staff_created")
    password = summary.pop("staff_password")
    if staff:
        click.echo(f"Demo staff accounts (password {password}): {', '.join(staff)}")
    else:
        click.echo(f"Demo staff accounts exist already (password {password}).")
    if summary:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def register_commands(app: Flask) -> None:
    """Attach every station command to ``app.cli``, including each area's ``cli.commands``."""
    from station import area_modules

    for command in (init_command, serve_command, users_group, clients_group, audit_group, demo_command):
        app.cli.add_command(command)
    for module in area_modules("cli"):
        for command in module.commands:
            app.cli.add_command(command)


def _instance_path() -> str:
    from station import ROOT

    return os.environ.get("STATION_INSTANCE_PATH") or str(ROOT / "instance")


def main() -> None:
    """Entry point of the ``station`` console script."""
    from station import ConfigError, create_app

    if sys.argv[1:2] == ["init"] and ensure_secret_key(_instance_path()):
        click.echo(f"Wrote a new random SECRET_KEY to {Path(_instance_path()) / 'station.cfg'}")

    def factory() -> Flask:
        try:
            return create_app()
        except ConfigError as error:
            fail(f"configuration: {error}")
            raise

    FlaskGroup(create_app=factory, add_version_option=False, load_dotenv=False,
               help="Trạm Y tế số: the commune health-station server.").main(prog_name="station")
