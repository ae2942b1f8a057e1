"""The whole reception path in a real browser against a real server.

Scan at the kiosk → ticket job queued → number on the TV → nurse records vitals → doctor calls the number.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, STATION, login

pytestmark = pytest.mark.e2e

KNOWN_QR = "001068024680||PHẠM THỊ HẠNH|12031968|Nữ|Phường Hoàn Kiếm, Hà Nội|01072021"
UNKNOWN_QR = "001199013579||ĐỖ MINH KHÔI|05051999|Nam|Phường Ba Đình, Hà Nội|09092022"
REGISTER = (
    "from station import create_app; from station.extensions import db; "
    "from station.audit.services import Actor; from station.reception import services; "
    "app = create_app()\n"
    "with app.app_context():\n"
    "    services.register_from_qr(db.session, {qr!r}, actor=Actor.system('e2e'))\n"
    "    db.session.commit()\n"
)


def _credential(env: dict, name: str, kind: str, rooms: str = "") -> str:
    done = subprocess.run([*STATION, "clients", "add", name, "--kind", kind, "--rooms", rooms], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True)
    match = re.search(r"credential \(shown once\): (\S+)", done.stdout)
    assert match, done.stdout
    return match.group(1)


def _scan(page, text: str) -> None:  # type: ignore[no-untyped-def]
    """A keyboard-wedge scanner: types the QR into the focused field and presses Enter."""
    page.focus("#kiosk-scan")
    page.keyboard.insert_text(text)
    page.keyboard.press("Enter")


def test_kiosk_to_display_to_vitals_to_call(live_server, browser):
    base, env, password = live_server["base"], live_server["env"], live_server["password"]
    subprocess.run([*STATION[:-1], REGISTER.format(qr=KNOWN_QR)], env=env, cwd=ROOT, check=True, capture_output=True)
    kiosk_credential = _credential(env, "kiosk-sanh", "kiosk")
    display_credential = _credential(env, "tv-phong-cho", "display", "PK1")

    def new_page():  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN",
                                      timezone_id="Asia/Ho_Chi_Minh")
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    # The TV activates once with its credential and shows the board.
    tv = new_page()
    tv.goto(f"{base}/display/activate/{display_credential}")
    assert tv.url.endswith("/display/")
    expect(tv.locator("body")).to_contain_text("MỜI NGƯỜI BỆNH CÓ SỐ")

    # The kiosk: an unknown card is sent to reception, a known one gets a number.
    kiosk = new_page()
    kiosk.goto(f"{base}/kiosk/activate/{kiosk_credential}")
    expect(kiosk.locator("#step-scan")).to_be_visible()
    _scan(kiosk, UNKNOWN_QR)
    expect(kiosk.locator("#kiosk-message")).to_have_text("Chưa có hồ sơ của bạn tại trạm. Vui lòng đến quầy tiếp đón.")
    kiosk.reload()
    _scan(kiosk, KNOWN_QR)
    expect(kiosk.locator("#kiosk-name")).to_have_text("Hạnh")
    kiosk.click(".kiosk-room[data-room=PK1]")
    number_box = kiosk.locator("#kiosk-number")
    expect(number_box).to_have_text(re.compile(r"^PK1-\d{3}$"))
    number = number_box.inner_text()

    # The ticket job was committed with the visit.
    with sqlite3.connect(live_server["instance"] / "station.sqlite") as db:
        payloads = [json.loads(p) for (p,) in db.execute("SELECT payload FROM print_jobs WHERE document = 'ticket'")]
    ticket = next(p for p in payloads if p["number"] == number)
    assert ticket["patient_name"] == "Phạm Thị Hạnh" and ticket["room"] == "Phòng khám 1"

    # The nurse records the vital signs from the queue.
    nurse = new_page()
    login(nurse, base, "dd.lan", password)
    nurse.goto(f"{base}/queue/?room=PK1")
    row = nurse.locator(f"tr[data-number='{number}']")
    row.locator("text=Sinh hiệu").click()
    for field, value in {"pulse": "82", "bp_systolic": "135", "bp_diastolic": "85", "temperature": "37,0",
                         "resp_rate": "18", "spo2": "98", "height": "155", "weight": "52"}.items():
        nurse.fill(f"#{field}", value)
    nurse.click("button[type=submit]:has-text('Lưu sinh hiệu')")
    expect(nurse.locator(".flash-success")).to_have_text("Đã lưu chỉ số sinh tồn.")
    expect(nurse.locator("#vitals-summary")).to_contain_text("135/85 mmHg")
    expect(nurse.locator("#vitals-summary")).to_contain_text("21,6 kg/m²")

    # The doctor calls this number; the TV shows it within a second or two.
    doctor = new_page()
    login(doctor, base, "bs.hoa", password)
    doctor.goto(f"{base}/queue/?room=PK1")
    doctor.locator(f"tr[data-number='{number}'] button[data-action=call]").click()
    expect(doctor.locator("#queue-message")).to_have_text(f"Số {number}: Đã gọi")
    expect(tv.locator("[data-room=PK1] .current")).to_have_text(number, timeout=3000)
