"""Jinja filters: dates in dd/mm/yyyy at Asia/Ho_Chi_Minh, money in đồng."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask

from station.clock import to_local


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return to_local(value).strftime("%d/%m/%Y %H:%M")


def format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return to_local(value).strftime("%H:%M")


def format_money(value: int | Decimal | None) -> str:
    if value is None:
        return ""
    return f"{int(value):,}".replace(",", ".") + " đ"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["money"] = format_money
