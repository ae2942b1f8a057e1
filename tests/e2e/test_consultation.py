"""The doctor calls the next patient, records a consultation with two diagnoses and a three-line
prescription, completes it, then amends it with a reason; the history shows both versions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, login

pytestmark = pytest.mark.e2e

CHECK_IN = r"""
import json
from station import create_app
from station.audit.services import Actor
from station.extensions import db
from station.patients.models import Patient
from station.text import fold
from datetime import date

app = create_app()
with app.app_context():
    actor = Actor("e2e", "e2e", "local")
    try:
        from station.reception.models import Room
        from station.reception import services as reception
    except ImportError:
        reception = None
    if reception is not None and db.session.get(Room, "E2E") is None:
        db.session.add(Room(code="E2E", name="Phòng khám thử", service_name="Khám bệnh", kind="exam"))
        db.session.flush()
    patient = Patient(code="01001-9990001", full_name="Đỗ Thị Hạnh", name_folded=fold("Đỗ Thị Hạnh"),
                      birth_date=date(1968, 3, 14), birth_year=1968, sex="female", street="5 Lý Thái Tổ")
    db.session.add(patient)
    db.session.flush()
    if reception is not None:
        visit = reception.checkin(db.session, patient, room_code="E2E", actor=actor, reason="Ho, sốt",
                                  print_ticket=False).visit
    else:
        from station.visits.services import open_visit
        visit = open_visit(db.session, patient, facility_code="01001", room_code="E2E", actor=actor, reason="Ho, sốt")
    db.session.commit()
    print(json.dumps({"patient": str(patient.id), "visit": str(visit.id)}))
"""


def _check_in(live_server) -> dict:  # type: ignore[no-untyped-def]
    done = subprocess.run([sys.executable, "-c", CHECK_IN], env=live_server["env"], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _choose_drug(form, text: str) -> None:  # type: ignore[no-untyped-def]
    value = form.locator("select[name=drug_id]").evaluate(
        "(select, text) => [...select.options].find(o => o.textContent.includes(text)).value", text)
    form.locator("select[name=drug_id]").select_option(value)


def test_doctor_records_completes_and_amends_a_consultation(live_server, page):
    ids = _check_in(live_server)
    base = live_server["base"]
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, base, "bs.hoa", live_server["password"])
    page.goto(base + "/consultation/?room=E2E")
    assert "Đỗ Thị Hạnh" in page.content()
    page.click("#call-next")
    page.wait_for_url(f"**/consultation/visits/{ids['visit']}")

    page.fill("#reason", "Ho, sốt 2 ngày")
    page.fill("#history", "Sốt 38,5 độ, ho khan, không khó thở.")
    page.fill("#examination", "Họng đỏ, phổi không ran. HA 150/90 mmHg.")
    page.fill("#vital_temperature", "38,5")
    page.fill("#main_code", "viêm mũi họng")
    page.wait_for_selector(".icd-suggest li")  # the autocomplete answers from /api/icd10
    page.fill("#main_code", "J06.9")
    page.fill("#secondary_codes", "I10")
    page.select_option("#outcome_code", "2")
    page.select_option("#discharge_code", "1")
    page.fill("#advice", "Uống nhiều nước, đo huyết áp hằng ngày.")
    page.click("#save-consultation")
    assert "Đã lưu phiếu khám." in page.content()

    for drug, dose, times, days in (("Panadol", "1", "3", "3"), ("Amlodipin", "1", "1", "30"),
                                    ("Omeprazol", "1", "2", "14")):
        form = page.locator("form.rx-add").first
        _choose_drug(form, drug)
        form.locator("input[name=dose_per_time]").fill(dose)
        form.locator("input[name=times_per_day]").fill(times)
        form.locator("input[name=days]").fill(days)
        form.locator("input[name=timing]").fill("Sau ăn")
        form.locator("button.rx-add-line").click()
        page.wait_for_load_state()
    lines = page.locator(".rx-draft table.rx-lines tbody tr, [data-status=draft] table.rx-lines tbody tr")
    assert lines.count() == 3
    assert "09 Viên" in page.content()  # leading zero under 10
    page.click("#issue-prescription")
    assert "Đã phát hành đơn thuốc 01001" in page.content()

    page.click("#complete-consultation")
    assert "Đã hoàn tất và ký phiếu khám." in page.content()

    page.fill("#main_code", "J02.9")
    page.fill("#amend_reason", "Khám lại: viêm họng cấp, không phải viêm mũi họng")
    page.click("#save-consultation")
    assert "Đã lưu sửa đổi phiếu khám." in page.content()

    page.click("#history-link")
    page.wait_for_url(f"**/consultation/patients/{ids['patient']}")
    versions = page.locator(".version")
    assert versions.count() == 2
    text = page.content()
    assert "Phiên bản 1" in text and "Phiên bản 2" in text
    assert "Khám lại: viêm họng cấp, không phải viêm mũi họng" in text
    assert "J06.9" in text and "J02.9" in text and "I10" in text
