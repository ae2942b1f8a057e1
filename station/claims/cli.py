"""``station xml130 …``: write and send the QĐ 130 claim files.

``station xml130 export --date YYYY-MM-DD [--visit MA_LK] [--out DIR]`` writes one
GIAMDINHHS envelope per exportable visit (``<MA_LK>.xml``) and a summary
``tong-hop-<date>.json``; visits not yet exportable are printed with their reasons.
``station xml130 submit --date YYYY-MM-DD [--visit MA_LK]`` posts them to the configured portal.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from station.admin.models import Facility
from station.audit.services import Actor
from station.claims import export, services
from station.errors import StationError
from station.extensions import db

CLI_ACTOR = Actor(id="cli", label="cli", address="cli")

xml130_group = AppGroup("xml130", help="BHYT claim files of QĐ 130 (XML): export and submit.")


def _fail(message: str, code: int = 2) -> None:
    """Print a Vietnamese error and exit with *code*."""
    click.echo(f"Lỗi: {message}", err=True)
    sys.exit(code)


def _day(text: str) -> date:
    """Parse YYYY-MM-DD or exit 2."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        _fail(f"Ngày phải có dạng YYYY-MM-DD (nhận được {text!r}).")
        raise


@xml130_group.command("export")
@click.option("--date", "day_text", required=True, help="Ngày khám (YYYY-MM-DD).")
@click.option("--visit", "visit_key", default=None, help="Chỉ xuất một lượt khám (MA_LK).")
@click.option("--out", "out_dir", default="xml130-out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Thư mục ghi tệp.")
def export_command(day_text: str, visit_key: str | None, out_dir: Path) -> None:
    """Xuất hồ sơ XML 130 của một ngày (mỗi lượt khám một tệp GIAMDINHHS)."""
    day = _day(day_text)
    try:
        signer = services.signer_from_config(current_app.config)
        result = services.export_day(db.session, day, out_dir, signer, visit_key=visit_key, actor=CLI_ACTOR)
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        _fail(error.message)
    for key, path in result.written:
        click.echo(f"Đã xuất {key}: {path}")
    for key, reasons in result.skipped:
        click.echo(f"Chưa xuất {key}: " + "; ".join(reasons))
    click.echo(f"Tổng hợp: {len(result.written)} hồ sơ đã xuất, {len(result.skipped)} chưa xuất "
               f"({result.summary_path}).")


@xml130_group.command("submit")
@click.option("--date", "day_text", required=True, help="Ngày khám (YYYY-MM-DD).")
@click.option("--visit", "visit_key", default=None, help="Chỉ gửi một lượt khám (MA_LK).")
@click.option("--resend", is_flag=True, help="Send again visits the portal already accepted (a corrected file).")
def submit_command(day_text: str, visit_key: str | None, resend: bool) -> None:
    """Gửi hồ sơ XML 130 lên cổng BHXH đã cấu hình."""
    day = _day(day_text)
    facility = db.session.query(Facility).first()
    if facility is None:
        _fail("Chưa khai báo thông tin trạm (station init).")
    assert facility is not None
    try:
        submitter = services.submitter_from_config(current_app.config, facility.province_code, facility.facility_code)
        signer = services.signer_from_config(current_app.config)
    except StationError as error:
        _fail(error.message)
        raise
    visits = [export.find_visit(db.session, visit_key)] if visit_key else export.visits_of_day(db.session, day)
    for visit in visits:
        if visit is None:
            _fail(f"Không tìm thấy lượt khám {visit_key}.")
            return
        try:
            row = services.submit_visit(db.session, visit, submitter, signer, actor=CLI_ACTOR, resend=resend)
            db.session.commit()
        except StationError as error:
            db.session.rollback()
            click.echo(f"Chưa gửi {visit.visit_key}: {error.message}")
            continue
        click.echo(f"{visit.visit_key}: {row.status} {row.portal_code} {row.transaction_id} {row.message}".rstrip())


commands = [xml130_group]
