"""``station printers list`` and ``station printers test NAME``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from printers import PrinterError, open_printer
from station.errors import StationError
from station.extensions import db
from station.printing import services
from station.printing.models import PrinterConfig
from station.printing.render import RenderError, render_document

printers_group = AppGroup("printers", help="Thermal printers: list them, print a test page.")


@printers_group.command("list")
def printers_list() -> None:
    """List configured printers."""
    rows = db.session.scalars(select(PrinterConfig).order_by(PrinterConfig.name)).all()
    if not rows:
        click.echo("No printers configured (add them on /printing/printers).")
    for p in rows:
        state = "active" if p.active else "inactive"
        profile = p.profile if len(p.profile) <= 30 else "custom"
        click.echo(f"{p.name:20s} {state:8s} {p.url:36s} {p.baudrate:>6d} {p.flow_control:7s} {profile:20s} "
                   f"rooms={p.rooms or '-'} documents={p.documents or 'all'}")


@printers_group.command("test")
@click.argument("name")
@click.option("--no-status", is_flag=True, help="Do not ask DLE EOT status first (printers without a return line).")
def printers_test(name: str, no_status: bool) -> None:
    """Print a test page on printer NAME directly (not through the queue); exit 1 on failure."""
    try:
        printer = services.get_printer(db.session, name)
        profile = services.parse_profile(printer.profile)
        document = render_document("test_page", {"printer_name": printer.name, "requested_by": "cli"}, profile,
                                   defaults={"station_name": "Trạm Y tế số"})
    except (StationError, RenderError) as error:
        click.echo(f"error: {getattr(error, 'message', error)}", err=True)
        sys.exit(1)
    url = services.printer_url(printer)
    try:
        with open_printer(url, profile) as device:
            status = device.status()
            click.echo(f"Trạng thái / status: {status.message}")
            if not no_status:
                status.raise_for_fault()
            size = device.print(document, check_status=False)
    except PrinterError as error:
        click.echo(f"error: {error.message} ({type(error).__name__})", err=True)
        sys.exit(1)
    except (ValueError, OSError) as error:
        click.echo(f"error: cannot open {printer.url}: {error}", err=True)
        sys.exit(1)
    click.echo(f"Đã in trang thử / test page printed: {size} bytes to {printer.name} ({printer.url})")


commands = [printers_group]
