"""Reception commands: ``station eligibility retry`` and ``station rooms list|add``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from station.audit import services as audit
from station.audit.services import Actor
from station.extensions import db
from station.reception import eligibility
from station.reception.models import Room

CLI_ACTOR = Actor.system("cli")

eligibility_group = AppGroup("eligibility", help="BHYT card lookups on the BHXH portal.")


@eligibility_group.command("retry")
@click.option("--limit", default=200, show_default=True, help="At most this many visits per run.")
def eligibility_retry(limit: int) -> None:
    """Look up again the visits still marked "to verify" (portal was down at check-in)."""
    adapter = eligibility.adapter_from_config(current_app.config)
    if adapter is None:
        raise click.ClickException("ELIGIBILITY_URL is not configured: nothing can be looked up")
    counts = eligibility.retry_pending(db.session, adapter, actor=CLI_ACTOR, limit=limit,
                                       staff_name=str(current_app.config.get("ELIGIBILITY_STAFF_NAME") or ""),
                                       staff_id_number=str(current_app.config.get("ELIGIBILITY_STAFF_CCCD") or ""))
    db.session.commit()
    if not counts:
        click.echo("no visit waiting for verification")
        return
    click.echo(", ".join(f"{state}: {n}" for state, n in sorted(counts.items())))
    if counts.get("to_verify"):
        raise SystemExit(1)


rooms_group = AppGroup("rooms", help="Rooms and services patients queue for.")


@rooms_group.command("list")
def rooms_list() -> None:
    """List rooms (code, name, service, kiosk)."""
    for room in db.session.scalars(select(Room).order_by(Room.sort_order, Room.code)):
        flags = ("" if room.active else " [inactive]") + (" [kiosk]" if room.on_kiosk else "")
        click.echo(f"{room.code:6s} {room.name} - {room.service_name}{flags}")


@rooms_group.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Room name, e.g. \"Phòng khám 1\".")
@click.option("--service", "service_name", default="", help="Service as shown on the kiosk.")
@click.option("--kind", default="exam", type=click.Choice(["exam", "vaccination", "antenatal", "other"]))
@click.option("--no-kiosk", is_flag=True, help="Do not offer this room on the kiosk.")
def rooms_add(code: str, name: str, service_name: str, kind: str, no_kiosk: bool) -> None:
    """Add or update a room."""
    code = code.strip().upper()
    if not code.isalnum() or len(code) > 6:
        raise click.ClickException("room code: letters and digits only, at most 6 characters")
    room = db.session.get(Room, code) or Room(code=code)
    room.name, room.service_name, room.kind = name.strip(), service_name.strip(), kind
    room.on_kiosk, room.active = not no_kiosk, True
    db.session.add(room)
    audit.record(db.session, CLI_ACTOR, "room.save", entity_type="room", entity_id=code)
    db.session.commit()
    click.echo(f"room {code} saved")


commands = [eligibility_group, rooms_group]
