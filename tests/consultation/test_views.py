"""The consultation pages over HTTP: access, ICD search, draft restore after expiry, conflict, full flow."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import csrf_from


def _visit_page(client, world):  # type: ignore[no-untyped-def]
    return client.get(f"/consultation/visits/{world.visit}")


def test_worklist_is_for_doctors_only(client, auth, world):
    auth.login("dd.test")
    assert client.get("/consultation/").status_code == 403
    auth.logout()
    auth.login("bs.test")
    page = client.get("/consultation/")
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.get_data(as_text=True) and "Dị ứng: Amoxicillin" in page.get_data(as_text=True)


def test_icd10_search_endpoint_is_diacritic_insensitive(client, auth, world):
    auth.login("bs.test")
    body = client.get("/api/icd10?q=j06.9").get_json()
    assert body["results"][0]["code"] == "J06.9" and body["version"]
    body = client.get("/api/icd10?q=viem hong").get_json()
    assert any(r["code"].startswith("J02") for r in body["results"])
    assert any("Viêm họng" in r["title"] for r in body["results"])
    assert client.get("/api/icd10?q=x&on=31-12-2026").status_code == 400
    # Speed is measured by bench/bench_consultation.py (icd_search_p95_ms), not asserted here.
    for query, code in (("tang huyet ap", "I1"), ("E11", "E11"), ("đái tháo đường", "E1"), ("fever", "")):
        results = client.get("/api/icd10?q=" + query).get_json()["results"]
        assert results and results[0]["code"].startswith(code)


def test_a_nurse_may_search_but_an_anonymous_client_may_not(client, auth, world):
    assert client.get("/api/icd10?q=I10").status_code == 401
    auth.login("dd.test")
    assert client.get("/api/icd10?q=I10").status_code == 200


def test_draft_survives_a_session_expiry_and_is_restored_after_login(client, auth, world):
    auth.login("bs.test")
    _visit_page(client, world)
    token = csrf_from(client, f"/consultation/visits/{world.visit}")
    saved = client.post(f"/consultation/visits/{world.visit}/draft", json={
        "version": "0", "fields": {"history": "Sốt cao 3 ngày, ho khan về đêm", "main_code": "J06.9"}},
        headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    with client.session_transaction() as session:
        session["last_seen"] = int(time.time()) - 3600
    expired = client.post(f"/consultation/visits/{world.visit}/draft", json={"fields": {"history": "x"}},
                          headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert expired.status_code == 401 and "hết hạn" in expired.get_json()["error"]
    assert client.get(f"/consultation/visits/{world.visit}").status_code == 302
    auth.login("bs.test")
    page = _visit_page(client, world).get_data(as_text=True)
    assert "Sốt cao 3 ngày, ho khan về đêm" in page and "Đã khôi phục bản nháp" in page


def _form(client, world, **fields):  # type: ignore[no-untyped-def]
    page = _visit_page(client, world).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d*)"', page).group(1)
    data = {"reason": "Ho, sốt", "history": "", "examination": "Họng đỏ", "main_code": "J06.9",
            "secondary_codes": "I10", "outcome_code": "1", "discharge_code": "1", "advice": "Uống nhiều nước",
            "version": version, **fields}
    return data


def test_saved_twice_from_two_tabs_gives_a_conflict_and_keeps_the_typed_text(client, auth, world):
    auth.login("bs.test")
    first = auth.post(f"/consultation/visits/{world.visit}/save", _form(client, world))
    assert first.status_code == 303
    tab_a = _form(client, world, examination="Tab A: họng đỏ, amidan sưng")
    tab_b = _form(client, world, examination="Tab B: phổi ran ẩm")
    assert auth.post(f"/consultation/visits/{world.visit}/save", tab_a).status_code == 303
    refused = auth.post(f"/consultation/visits/{world.visit}/save", tab_b)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "vừa được lưu ở nơi khác" in text and "Tab B: phổi ran ẩm" in text and "Tab A: họng đỏ" in text


def test_bad_input_is_refused_with_the_rule_and_the_text_kept(client, auth, world):
    auth.login("bs.test")
    refused = auth.post(f"/consultation/visits/{world.visit}/save",
                        _form(client, world, main_code="Q99.99", history="Bệnh sử dài"))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "không có trong danh mục" in text and "Bệnh sử dài" in text


def test_full_flow_prescription_completion_amendment_and_history(client, auth, world, app):
    auth.login("bs.test")
    assert auth.post(f"/consultation/visits/{world.visit}/save", _form(client, world)).status_code == 303
    for code, dose, times, days in (("PARA500", "1", "3", "3"), ("AMLO5", "1", "1", "5")):
        response = auth.post(f"/prescriptions/visits/{world.visit}/lines", {
            "drug_id": str(world.drugs[code]), "dose_per_time": dose, "times_per_day": times, "days": days,
            "timing": "Sau ăn"})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
    refused = auth.post(f"/prescriptions/visits/{world.visit}/lines", {
        "drug_id": str(world.drugs["PARA500"]), "dose_per_time": "0", "times_per_day": "3", "days": "3"})
    assert refused.status_code == 422 and "Liều mỗi lần phải lớn hơn 0" in refused.get_data(as_text=True)
    page = _visit_page(client, world).get_data(as_text=True)
    assert "09 Viên" in page and "05 Viên" in page
    rx_id = re.search(r'/prescriptions/([0-9a-f-]{36})/issue', page).group(1)
    issued = auth.post(f"/prescriptions/{rx_id}/issue", {"advice": "Uống nhiều nước"})
    assert issued.status_code == 303
    page = _visit_page(client, world).get_data(as_text=True)
    assert re.search(r"Đơn thuốc 01001[0-9a-z]{7}-C", page)
    version = re.search(r'id="complete-consultation"', page) and re.findall(r'name="version" value="(\d+)"', page)[-1]
    assert auth.post(f"/consultation/visits/{world.visit}/complete", {"version": version}).status_code == 303
    no_reason = auth.post(f"/consultation/visits/{world.visit}/save", _form(client, world, main_code="J02.9"))
    assert no_reason.status_code == 422 and "cần ghi lý do" in no_reason.get_data(as_text=True)
    amended = auth.post(f"/consultation/visits/{world.visit}/save",
                        _form(client, world, main_code="J02.9", amend_reason="Khám lại thấy viêm họng"))
    assert amended.status_code == 303
    history = client.get(f"/consultation/patients/{world.patient}").get_data(as_text=True)
    assert "Phiên bản 1" in history and "Phiên bản 2" in history and "Khám lại thấy viêm họng" in history
    assert "J06.9" in history and "J02.9" in history


@pytest.mark.parametrize("path", ["/catalog/drugs", "/catalog/services", "/catalog/drugs/new"])
def test_catalogue_pages_are_for_the_admin(client, auth, world, make_user, path):
    from station.auth.roles import Role

    make_user(Role.ADMIN, username="qt.test")
    auth.login("bs.test")
    assert client.get(path).status_code == 403
    auth.logout()
    auth.login("qt.test")
    assert client.get(path).status_code == 200
