"""Application logs carry no patient data: check-in, search and the record page, logged at DEBUG."""

from __future__ import annotations

import logging

from tests.reception.conftest import QR_AN, csrf_headers


def test_a_whole_check_in_leaves_no_patient_data_in_the_logs(station, client, receptionist, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.post("/api/reception/checkin", json={"qr": QR_AN, "room": "PK1"}, headers=csrf_headers(client))
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    data = response.get_json()
    assert client.get("/api/patients/search", query_string={"q": "nguyen van an"}).status_code == 200
    assert client.get("/patients/", query_string={"q": "001050123456"}).status_code in (200, 302)
    garbage = client.post("/api/reception/checkin", json={"qr": "001050123456|0123", "room": "PK1"},
                          headers=csrf_headers(client))
    assert garbage.status_code in (400, 422)
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in ("001050123456", "012345678", "NGUYỄN VĂN AN", "Nguyễn Văn An", "nguyen van an", "Hàng Bạc"):
        assert secret not in logged, f"{secret!r} found in the application log"
    assert data  # the check-in answered with the visit, so the flow really ran
