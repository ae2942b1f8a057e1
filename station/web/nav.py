"""The navigation bar, filtered by what each view declares (station.auth.security)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_login import current_user

from station.auth.security import access_of


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    icon: str = ""


#: The whole menu in display order; each user sees the items their role may open.
NAV: list[NavItem] = [
    NavItem("Trang chủ", "main.index"),
    NavItem("Tiếp đón", "reception.index"),
    NavItem("Hàng đợi", "queue.index"),
    NavItem("Bệnh nhân", "patients.index"),
    NavItem("Khám bệnh", "consultation.worklist"),
    NavItem("Thu ngân", "billing.index"),
    NavItem("Hồ sơ XML 130", "claims.index"),
    NavItem("In ấn", "printing.index"),
    NavItem("Độ đầy đủ hồ sơ", "patients.completeness_page"),
    NavItem("Đồng bộ", "sync.index"),
    NavItem("Nhân viên", "admin.users"),
    NavItem("Trạm", "admin.facility"),
    NavItem("Nhật ký truy cập", "admin.audit"),
]


def visible_items() -> list[NavItem]:
    """Return the items the current user's role may open."""
    if not current_user.is_authenticated:
        return []
    items = []
    for item in NAV:
        if item.endpoint not in current_app.view_functions:
            continue
        access = access_of(current_app, item.endpoint)
        if access is not None and current_user.role in access.roles:
            items.append(item)
    return items


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_items"] = visible_items
