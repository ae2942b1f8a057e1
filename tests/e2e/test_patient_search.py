"""A receptionist scans a CCCD QR into the search box (keyboard-wedge scanner) and lands on the record."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _resident_with_cccd(instance) -> tuple[str, str, str, str, str]:  # type: ignore[no-untyped-def]
    with sqlite3.connect(instance / "station.sqlite") as conn:
        return conn.execute(
            "SELECT p.id, p.full_name, p.birth_date, p.sex, i.value FROM patients p "
            "JOIN patient_identifiers i ON i.patient_id = p.id AND i.kind = 'cccd' AND i.status = 'active' "
            "WHERE p.birth_precision = 'day' ORDER BY p.code LIMIT 1").fetchone()


def test_scanning_a_cccd_qr_opens_the_record(live_server, page):
    patient_id, name, birth, sex, number = _resident_with_cccd(live_server["instance"])
    yyyy, mm, dd = birth.split("-")
    qr = f"{number}||{name.upper()}|{dd}{mm}{yyyy}|{'Nữ' if sex == 'female' else 'Nam'}|Phường Hoàn Kiếm, Hà Nội|15042021"
    login(page, live_server["base"], "tt.ngoc", live_server["password"])
    page.goto(live_server["base"] + "/patients/")
    box = page.locator("input[name=q]")
    box.click()
    box.press_sequentially(qr, delay=2)  # a scanner in keyboard mode types every character...
    box.press("Enter")  # ...and ends with Enter
    page.wait_for_url(f"**/patients/{uuid.UUID(patient_id)}")
    assert page.locator("#identity h1").inner_text() == name
    assert "/46" in page.locator("#completeness").inner_text()
    # A name typed without diacritics finds the same person among namesakes.
    page.goto(live_server["base"] + "/patients/")
    from station.text import fold
    page.fill("input[name=q]", f"{fold(name)} {yyyy}")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("#results")
    assert name in page.locator("#results").inner_text()
