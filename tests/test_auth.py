"""Login, lockout, session expiry, CSRF, one-time passwords and logout."""

from __future__ import annotations

import time

from sqlalchemy import select

from station.audit.models import AuditEvent
from station.auth.models import User
from station.auth.roles import Role
from tests.conftest import TEST_PASSWORD, Auth, csrf_from


def _actions(app) -> list[str]:  # type: ignore[no-untyped-def]
    from station.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_login_page_is_vietnamese(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Đăng nhập" in page and "Mật khẩu" in page and 'lang="vi"' in page


def test_wrong_password_is_refused_in_vietnamese_and_audited(app, client, make_user):
    make_user(Role.NURSE, "dd.lan")
    response = Auth(client).login("dd.lan", "sai-mat-khau-1")
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert "auth.login_failed" in _actions(app)


def test_account_locks_after_repeated_failures(app, client, make_user):
    make_user(Role.NURSE, "dd.lan")
    auth = Auth(client)
    for _ in range(5):
        auth.login("dd.lan", "sai-mat-khau-1")
    response = auth.login("dd.lan", TEST_PASSWORD)
    assert response.status_code == 401
    assert "bị khóa" in response.get_data(as_text=True)
    from station.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "dd.lan"))
        assert user.locked_until is not None


def test_login_logout_and_roles_navigation(client, make_user):
    make_user(Role.DOCTOR, "bs.hoa")
    auth = Auth(client)
    assert auth.login("bs.hoa").status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert 'data-role="doctor"' in home
    assert "Nhân viên" not in home  # the admin-only menu item is not shown to a doctor
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_forged_csrf_token_is_refused_with_a_vietnamese_page(client, make_user):
    make_user(Role.NURSE, "dd.lan")
    client.get("/auth/login")
    response = client.post("/auth/login", data={"username": "dd.lan", "password": TEST_PASSWORD,
                                                 "csrf_token": "forged"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True) and "chưa được lưu" in response.get_data(as_text=True)


def test_session_expires_after_inactivity(app, client, make_user):
    make_user(Role.NURSE, "dd.lan")
    Auth(client).login("dd.lan")
    with client.session_transaction() as session:
        session["last_seen"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert "hết hạn" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_one_time_password_must_be_changed_first(app, client, runner):
    result = runner.invoke(args=["users", "add", "tt.ngoc", "--name", "Vũ Bảo Ngọc", "--role", "reception"])
    assert result.exit_code == 0, result.output
    otp = result.output.strip().rsplit(" ", 1)[-1]
    auth = Auth(client)
    response = auth.login("tt.ngoc", otp)
    assert response.headers["Location"].endswith("/auth/password")
    assert client.get("/").headers["Location"].endswith("/auth/password")
    token = csrf_from(client, "/auth/password")
    weak = client.post("/auth/password", data={"current": otp, "password": "ngan", "confirm": "ngan", "csrf_token": token})
    assert weak.status_code == 422 and "ít nhất" in weak.get_data(as_text=True)
    done = client.post("/auth/password", data={"current": otp, "password": "MatKhauMoi2026", "confirm": "MatKhauMoi2026",
                                               "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/").status_code == 200


def test_disabling_a_user_ends_their_session(app, client, make_user, runner):
    make_user(Role.NURSE, "dd.lan")
    Auth(client).login("dd.lan")
    assert client.get("/").status_code == 200
    assert runner.invoke(args=["users", "disable", "dd.lan"]).exit_code == 0
    assert client.get("/").status_code == 302


def test_open_redirect_is_not_followed(client, make_user):
    make_user(Role.NURSE, "dd.lan")
    token = csrf_from(client)
    response = client.post("/auth/login?next=https://evil.example/", data={
        "username": "dd.lan", "password": TEST_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_cookie_flags(client, make_user):
    make_user(Role.NURSE, "dd.lan")
    response = Auth(client).login("dd.lan")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_json_errors_under_api(client):
    response = client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.is_json and "error" in response.get_json()


def test_a_concurrent_change_is_a_clear_conflict_not_a_crash(app, client, make_user):
    from sqlalchemy.orm.exc import StaleDataError

    from station.auth.security import allow_all_staff

    @allow_all_staff
    def clash():  # type: ignore[no-untyped-def]
        raise StaleDataError("UPDATE statement on table 'invoices' expected to update 1 row(s); 0 were matched.")

    app.add_url_rule("/test-clash", "test_clash", clash)
    make_user(Role.CASHIER, "tn.test")
    Auth(client).login("tn.test")
    response = client.get("/test-clash")
    assert response.status_code == 409
    assert "người khác thay đổi" in response.get_data(as_text=True)
