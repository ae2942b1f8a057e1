"""``station billing …`` and ``station payments …`` commands.

``station billing import-prices FILE``  import a dated price list (CSV, see station.billing.prices).
``station payments vietqr --bin BIN --account ACC --amount N --purpose TEXT``
                                        print the VietQR payload so a station can check its bank settings.

Bad input exits with status 2 and a Vietnamese message naming the rule.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from station.audit.services import Actor
from station.billing import prices
from station.billing.money import MoneyError, parse_vnd
from station.billing.vietqr import VietQrError, build_vietqr
from station.errors import StationError
from station.extensions import db

CLI_ACTOR = Actor(id="cli", label="cli", address="cli")

billing_group = AppGroup("billing", help="Price lists of services, drugs and supplies (bảng giá).")
payments_group = AppGroup("payments", help="Payments: check the VietQR payload of the station's bank account.")


def _fail(message: str, code: int = 2) -> None:
    """Print a Vietnamese error and exit with *code*."""
    click.echo(f"Lỗi: {message}", err=True)
    sys.exit(code)


@billing_group.command("import-prices")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_prices_command(file: Path) -> None:
    """Nhập bảng giá từ tệp CSV (loai, ma, ten, gia_bv, gia_bh, ngay_ap_dung …)."""
    if not file.exists():
        _fail(f"Không tìm thấy tệp {file}.")
    try:
        report = prices.import_csv(db.session, file.read_bytes(), actor=CLI_ACTOR)
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        _fail(error.message)
    click.echo(f"Đã nhập bảng giá: {report.created} dòng mới, {report.updated} dòng cập nhật.")


@payments_group.command("vietqr")
@click.option("--bin", "bank_bin", required=True, help="Mã BIN ngân hàng (6 chữ số), ví dụ 970436.")
@click.option("--account", required=True, help="Số tài khoản nhận tiền.")
@click.option("--amount", default=None, help="Số tiền (số nguyên đồng); bỏ trống để tạo mã tĩnh.")
@click.option("--purpose", default=None, help="Nội dung chuyển khoản (tối đa 25 ký tự), ví dụ số biên lai.")
def vietqr_command(bank_bin: str, account: str, amount: str | None, purpose: str | None) -> None:
    """In chuỗi VietQR (EMVCo, CRC-16/CCITT-FALSE) để kiểm tra cấu hình ngân hàng."""
    value: int | None = None
    if amount is not None:
        try:
            value = parse_vnd(amount)
        except MoneyError:
            _fail(f"Số tiền phải là số nguyên đồng, không có phần lẻ (nhận được {amount!r}; ví dụ 150000 "
                  "hoặc 150.000).")
    try:
        payload = build_vietqr(bank_bin, account, amount=value, purpose=purpose)
    except VietQrError as error:
        _fail(str(error))
    click.echo(payload)


commands = [billing_group, payments_group]
