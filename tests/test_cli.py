"""The station command: init, users, clients, demo."""

from __future__ import annotations

from sqlalchemy import func, select

from station.admin.models import Facility
from station.auth.models import User


def test_init_creates_identity_and_one_time_admin(app, runner):
    result = runner.invoke(args=["init", "--name", "Trạm Y tế xã Thanh Trì", "--facility-code", "01002"])
    assert result.exit_code == 0, result.output
    assert "username: admin" in result.output and "password:" in result.output
    again = runner.invoke(args=["init"])
    assert again.exit_code == 0 and "exists already" in again.output
    from station.extensions import db

    with app.app_context():
        facility = db.session.scalar(select(Facility))
        assert facility.name == "Trạm Y tế xã Thanh Trì" and facility.db_identity is not None
        assert db.session.scalar(select(func.count()).select_from(Facility)) == 1
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        assert admin.must_change_password


def test_init_rejects_unknown_administrative_unit(runner):
    result = runner.invoke(args=["init", "--province", "01", "--commune", "99999"])
    assert result.exit_code == 1 and "xã/phường" in result.output


def test_users_commands(app, runner):
    assert runner.invoke(args=["users", "add", "bs.hoa", "--name", "Nguyễn Thị Hòa", "--role", "doctor",
                               "--cert", "001234/HNO-CCHN"]).exit_code == 0
    bad = runner.invoke(args=["users", "add", "x.y", "--name", "X", "--role", "surgeon"])
    assert bad.exit_code == 2 and "unknown role" in bad.output
    dup = runner.invoke(args=["users", "add", "bs.hoa", "--name", "Khác", "--role", "nurse"])
    assert dup.exit_code == 1 and "đã có" in dup.output
    assert runner.invoke(args=["users", "set-role", "bs.hoa", "head"]).exit_code == 0
    assert runner.invoke(args=["users", "change-role", "bs.hoa", "doctor"]).exit_code == 0
    assert runner.invoke(args=["users", "change-role", "bs.hoa", "head"]).exit_code == 0
    reset = runner.invoke(args=["users", "reset-password", "bs.hoa"])
    assert reset.exit_code == 0 and "One-time password" in reset.output
    listing = runner.invoke(args=["users", "list"]).output
    assert "bs.hoa" in listing and "head" in listing
    assert runner.invoke(args=["users", "disable", "nobody"]).exit_code == 1


def test_clients_add_prints_credential_once(runner):
    result = runner.invoke(args=["clients", "add", "Ki-ốt sảnh", "--kind", "kiosk"])
    assert result.exit_code == 0 and "credential (shown once): kiosk-" in result.output


def test_demo_creates_staff_of_every_role(app, runner):
    result = runner.invoke(args=["demo", "--patients", "20"])
    assert result.exit_code == 0, result.output
    from station.extensions import db

    with app.app_context():
        roles = set(db.session.scalars(select(User.role)))
    assert {r.value for r in roles} >= {"doctor", "nurse", "reception", "cashier", "head"}
