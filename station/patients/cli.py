"""Commands of the patients area: ``station identify TEXT`` and ``station patients import FILE``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from station.audit.services import Actor
from station.extensions import db

CLI_ACTOR = Actor(id="cli", label="cli", address="cli")


@click.command("identify")
@click.argument("text")
def identify_command(text: str) -> None:
    """Say what a scanned TEXT is (CCCD QR, BHYT code, CCCD/CMND/BHXH number, phone) as JSON.

    Exit status 0 with the parsed fields, or 2 with the Vietnamese reason (support staff use
    it to check a station's scanner settings).
    """
    from station.clock import local_today
    from station.identify import IdentifyError, identify

    try:
        result = identify(text, today=local_today())
    except IdentifyError as error:
        click.echo(f"Lỗi: {error}", err=True)
        sys.exit(2)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


patients_group = AppGroup("patients", help="Patient records: import.")


@patients_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read and check every row, report, write nothing.")
@click.option("--mapping", default="", help='Column mapping, e.g. "Họ tên=full_name,Năm sinh=birth".')
@click.option("--reject-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV file for the rows not imported, with the reason (default: FILE.rejects.csv).")
def import_command(file: Path, dry_run: bool, mapping: str, reject_file: Path | None) -> None:
    """Import residents from a CSV (UTF-8, UTF-8 BOM, Windows-1258) or XLSX FILE; re-runs are idempotent."""
    from station.errors import StationError
    from station.patients.importer import FIELDS, Importer

    reject = reject_file or file.with_name(file.name + ".rejects.csv")
    try:
        importer = Importer(db.session, file, actor=CLI_ACTOR, mapping=mapping, dry_run=dry_run, reject_path=reject)
    except StationError as error:
        db.session.rollback()
        click.echo(f"Lỗi: {error.message}", err=True)
        sys.exit(2)
    click.echo(f"Tệp {file.name}: bảng mã {importer.report.encoding}; cột: "
               + ", ".join(f"{k} → {v}" for k, v in importer.report.mapping.items()), err=True)
    unused = [f for f in FIELDS if f not in importer.report.mapping.values()]
    if unused:
        click.echo("Không có cột cho: " + ", ".join(unused), err=True)
    try:
        with click.progressbar(length=importer.total, label="Đang nhập", file=sys.stderr) as bar:
            report = importer.run(bar.update)
    except StationError as error:
        db.session.rollback()
        click.echo(f"Lỗi: {error.message} (các phần đã ghi được giữ; chạy lại để tiếp tục)", err=True)
        sys.exit(1)
    if report.skipped_resumed:
        click.echo(f"Tiếp tục sau {report.skipped_resumed} dòng đã nhập ở lần chạy trước.", err=True)
    if report.rejected:
        click.echo(f"{report.rejected} dòng không nhập được, xem {reject}", err=True)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))


commands = [identify_command, patients_group]
