"""``station catalog ...``: import the Ministry's ICD-10 titles, the drug list and the service list."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from station.audit.services import Actor
from station.catalog import services
from station.errors import StationError
from station.extensions import db

CLI_ACTOR = Actor(id="cli", label="cli", address="cli")

catalog_group = AppGroup("catalog", help="Catalogues: ICD-10, drugs, services.")
import_group = AppGroup("import", help="Import a catalogue file (all-or-nothing).")
catalog_group.add_command(import_group)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(1)


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} must be YYYY-MM-DD, got {value!r}")
        raise


@import_group.command("icd10")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--version", "version_name", default=None, help='Version name, e.g. "TT 06/2026/TT-BYT".')
@click.option("--effective-from", default=None, help="First day the version applies (YYYY-MM-DD).")
@click.option("--effective-to", default=None, help="Last day the version applies (YYYY-MM-DD), open if omitted.")
def import_icd10(file: Path, version_name: str | None, effective_from: str | None, effective_to: str | None) -> None:
    """Import Vietnamese ICD-10 titles (CSV: code, title[, cột 26, cột 27]; UTF-8 or Windows-1258)."""
    try:
        row = services.import_icd10_titles(db.session, file, actor=CLI_ACTOR, version_name=version_name,
                                           effective_from=_day(effective_from, "--effective-from"),
                                           effective_to=_day(effective_to, "--effective-to"))
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        _fail(error.message)
        return
    services.clear_index_cache()
    to = row.effective_to.isoformat() if row.effective_to else "open"
    click.echo(f"Imported {row.title_count} Vietnamese titles into {row.name} ({row.effective_from.isoformat()} to {to}).")


def _import_file(kind: str, file: Path) -> None:
    function = services.import_drugs if kind == "drugs" else services.import_services
    try:
        result = function(db.session, file.read_bytes(), actor=CLI_ACTOR)
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        _fail(error.message)
        return
    click.echo(f"Imported {kind}: {result.created} created, {result.updated} updated ({result.encoding}).")


@import_group.command("drugs")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_drugs(file: Path) -> None:
    """Import the drug formulary (CSV with a header row: code, inn, brand_name, strength, ..., price, prescription_type)."""
    _import_file("drugs", file)


@import_group.command("services")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_services(file: Path) -> None:
    """Import the service list (CSV with a header row: code, name, kind, bhyt_code, unit, price)."""
    _import_file("services", file)


commands = [catalog_group]
