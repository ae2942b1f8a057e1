"""Staff log in through a real browser and see their role's navigation."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_nurse_and_doctor_see_their_navigation_and_a_nurse_is_refused_doctor_pages(live_server, page):
    base, password = live_server["base"], live_server["password"]
    login(page, base, "dd.lan", password)
    assert page.locator(".user").get_attribute("data-role") == "nurse"
    nurse_nav = page.locator(".mainnav a").all_inner_texts()
    assert "Trang chủ" in nurse_nav and "Nhân viên" not in nurse_nav
    response = page.goto(base + DOCTOR_ONLY_PAGE)
    assert response.status == 403
    assert "Không có quyền truy cập" in page.content()
    page.click("text=Đăng xuất")
    login(page, base, "bs.hoa", password)
    assert page.locator(".user").get_attribute("data-role") == "doctor"
    doctor_nav = page.locator(".mainnav a").all_inner_texts()
    assert "Nhân viên" not in doctor_nav
    assert page.goto(base + DOCTOR_ONLY_PAGE).status == 200


def test_wrong_password_shows_a_vietnamese_error(live_server, page):
    login(page, live_server["base"], "dd.lan", "khong-dung-123")
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in page.content()


DOCTOR_ONLY_PAGE = "/consultation/"
