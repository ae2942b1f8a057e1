"""HTTP: the reception screen API, the kiosk (bearer and device session), the display, and isolation."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from station.auth import services as auth_services
from station.auth.roles import ClientKind, Role
from station.auth.security import access_of
from station.printing.models import PrintJob
from station.reception import services
from station.reception.models import PendingScan, QueueTicket
from station.visits.models import Observation, Visit
from tests.reception.conftest import ACTOR, QR_AN, QR_AN_MOVED, QR_BICH, csrf_headers


def _client(app: Flask, kind: ClientKind, name: str, rooms: str = "") -> str:
    from station.extensions import db

    with app.app_context():
        _, credential = auth_services.create_api_client(db.session, name=name, kind=kind, actor=ACTOR, rooms=rooms)
        db.session.commit()
    return credential


def _qr(n: int) -> str:
    """A valid card QR for the n-th synthetic resident (born 1990, man)."""
    given = ["AN", "BÌNH", "CƯỜNG", "DŨNG", "ĐỨC", "GIANG", "HẢI", "HÙNG", "KHOA", "LONG", "MINH", "NAM",
             "PHONG", "QUANG", "SƠN", "TÂM", "THẮNG", "TRUNG", "TUẤN", "VIỆT"]
    return f"00109{n:07d}||NGUYỄN VĂN {given[n]}|01011990|Nam|Hà Nội|15042021"


def _register(app: Flask, qr: str) -> None:
    from station.extensions import db

    with app.app_context():
        services.register_from_qr(db.session, qr, actor=ACTOR)
        db.session.commit()


def test_reception_scan_flow(station, receptionist, client):
    headers = csrf_headers(client)
    page = client.get("/reception/")
    assert page.status_code == 200 and "autofocus" in page.get_data(as_text=True)
    unknown = client.post("/api/reception/checkin", json={"qr": QR_AN, "room": "PK1"}, headers=headers)
    assert unknown.status_code == 200 and unknown.json["status"] == "unknown_patient"
    assert unknown.json["card"]["name"] == "Nguyễn Văn An"
    created = client.post("/api/reception/register", json={"qr": QR_AN, "room": "PK1"}, headers=headers)
    assert created.status_code == 201 and created.json["ticket"]["number"] == "PK1-001"
    assert created.json["visit"]["eligibility"] == "to_verify"
    again = client.post("/api/reception/checkin", json={"qr": QR_AN_MOVED, "room": "PK1"}, headers=headers)
    assert again.status_code == 200 and again.json["status"] == "existing_visit"
    assert [c["field"] for c in again.json["changes"]] == ["card_address"]
    accepted = client.post("/api/reception/accept-changes", headers=headers,
                           json={"patient_id": again.json["patient"]["id"], "qr": QR_AN_MOVED, "fields": ["card_address"]})
    assert accepted.json == {"applied": ["card_address"]}
    bad = client.post("/api/reception/checkin", json={"qr": "001050123456|0123", "room": "PK1"}, headers=headers)
    assert bad.status_code == 422 and "Không đọc được mã QR căn cước" in bad.json["error"]
    no_csrf = client.post("/api/reception/checkin", json={"qr": QR_AN, "room": "PK1"})
    assert no_csrf.status_code == 400
    found = client.get("/api/reception/search?name=nguyen van an&dob=01/01/1950")
    assert [p["name"] for p in found.json["patients"]] == ["Nguyễn Văn An"]
    assert client.get("/api/reception/search?name=An&dob=1950").status_code == 422
    manual = client.post("/api/reception/checkin-patient", headers=headers,
                         json={"patient_id": found.json["patients"][0]["id"], "room": "PK1"})
    assert manual.json["status"] == "existing_visit"
    alerts = client.get("/api/reception/alerts").json
    assert alerts["to_verify"] == 1 and alerts["print_alerts"] == []


def test_printer_down_alerts_reception(station, receptionist, client):
    from station.extensions import db

    _register(station, QR_BICH)
    headers = csrf_headers(client)
    result = client.post("/api/reception/checkin", json={"qr": QR_BICH, "room": "PK2"}, headers=headers).json
    with station.app_context():
        job = db.session.get(PrintJob, __import__("uuid").UUID(result["print_job"]["id"]))
        job.state, job.last_error = "failed", "Máy in hết giấy"
        db.session.commit()
    alerts = client.get("/api/reception/alerts").json["print_alerts"]
    assert alerts[0]["number"] == "PK2-001" and "hết giấy" in alerts[0]["message"]


def test_serial_scan_reaches_its_screen(station, receptionist, client):
    from station.extensions import db
    from station.clock import now_utc

    with station.app_context():
        db.session.add(PendingScan(screen="reception-2", port="ttyACM0", payload=QR_BICH, received_at=now_utc()))
        db.session.commit()
    assert client.get("/api/reception/scans?screen=reception-1").status_code == 204
    assert client.get("/api/reception/scans?screen=reception-2").json == {"qr": QR_BICH}
    assert client.get("/api/reception/scans?screen=reception-2").status_code == 204


def test_queue_page_call_and_vitals(station, make_user, auth, client):
    _register(station, QR_BICH)
    make_user(Role.NURSE, username="dd.test")
    auth.login("dd.test")
    headers = csrf_headers(client)
    from station.extensions import db

    with station.app_context():
        from station.patients.models import Patient

        patient = db.session.scalar(select(Patient))
        result = services.checkin(db.session, patient, room_code="PK1", actor=ACTOR)
        db.session.commit()
        ticket_id, visit_id, version = result.ticket.id, result.visit.id, result.ticket.version
    page = client.get("/queue/?room=PK1")
    assert "PK1-001" in page.get_data(as_text=True)
    first = client.post(f"/api/queue/tickets/{ticket_id}/call", json={"version": version}, headers=headers)
    assert first.status_code == 200 and first.json["state"] == "called"
    second = client.post(f"/api/queue/tickets/{ticket_id}/call", json={"version": version}, headers=headers)
    assert second.status_code == 409 and "vừa được người khác xử lý" in second.json["error"]
    form = client.get(f"/queue/visits/{visit_id}/vitals")
    assert "Huyết áp tâm thu" in form.get_data(as_text=True)
    bad = auth.post(f"/queue/visits/{visit_id}/vitals", data={"spo2": "140"})
    assert "SpO₂ 140 % nằm ngoài khoảng hợp lý" in bad.get_data(as_text=True)
    good = auth.post(f"/queue/visits/{visit_id}/vitals", data={"pulse": "80", "height": "150", "weight": "45"},
                     follow_redirects=True)
    assert "Đã lưu chỉ số sinh tồn" in good.get_data(as_text=True) and "20,0 kg/m²" in good.get_data(as_text=True)
    with station.app_context():
        assert db.session.scalar(select(func.count()).select_from(Observation)) == 4


def test_kiosk_bearer_and_device_session(station, client):
    credential = _client(station, ClientKind.KIOSK, "kiosk-1")
    bearer = {"Authorization": f"Bearer {credential}", "Accept": "application/json"}
    _register(station, QR_BICH)
    unknown = client.post("/api/reception/checkin", json={"qr": QR_AN, "room": "PK1"}, headers=bearer)
    assert unknown.json == {"status": "unknown_patient",
                            "message": "Chưa có hồ sơ của bạn tại trạm. Vui lòng đến quầy tiếp đón."}
    done = client.post("/api/reception/checkin", json={"qr": QR_BICH, "room": "PK1"}, headers=bearer)
    assert done.status_code == 201 and done.json["ticket"]["number"] == "PK1-001"
    assert "patient" not in done.json and done.json["first_name"] == "Bích"
    assert client.get(f"/api/kiosk/jobs/{done.json['print_job']['id']}", headers=bearer).json["state"] == "queued"
    # Device session: the one-time link sets it, then the kiosk page opens without a header.
    assert client.get("/kiosk/activate/wrong.token").status_code == 404
    assert client.get(f"/kiosk/activate/{credential}").status_code == 302
    page = client.get("/kiosk/")
    assert page.status_code == 200 and "Xin mời quét mã QR" in page.get_data(as_text=True)
    identify = client.post("/api/kiosk/identify", json={"qr": QR_AN},
                           headers={"X-CSRFToken": page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]})
    assert identify.json["known"] is False


def test_display_activation_and_board(station, client):
    credential = _client(station, ClientKind.DISPLAY, "tv-1", rooms="PK1")
    assert client.get("/display/").status_code in (302, 403)
    assert client.get(f"/display/activate/{credential}").status_code == 302
    assert "MỜI NGƯỜI BỆNH CÓ SỐ" in client.get("/display/").get_data(as_text=True)
    board = client.get("/api/display/board").json
    assert [r["code"] for r in board["rooms"]] == ["PK1"] and board["rooms"][0]["current"] is None
    assert client.get("/reception/", headers={"Accept": "application/json"}).status_code in (401, 403)


def test_kiosk_credential_reaches_no_staff_route(station, client):
    """Every route not declared for kiosks refuses a kiosk credential (401/403), by header or device session."""
    credential = _client(station, ClientKind.KIOSK, "kiosk-iso")
    bearer = {"Authorization": f"Bearer {credential}", "Accept": "application/json"}
    session_client = station.test_client()
    session_client.get(f"/kiosk/activate/{credential}")
    checked = 0
    for rule in station.url_map.iter_rules():
        access = access_of(station, rule.endpoint)
        if access is None or access.public or ClientKind.KIOSK in access.clients:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", "x").replace(f"<uuid:{arg}>", "00000000-0000-0000-0000-000000000000")
            url = url.replace(f"<int:{arg}>", "1").replace(f"<path:{arg}>", "x")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for c, headers in ((client, bearer), (session_client, {"Accept": "application/json"})):
                response = c.open(url, method=method, headers=headers, json={} if method != "GET" else None)
                assert response.status_code in (400, 401, 403), (rule.rule, method, response.status_code)
                checked += 1
    assert checked > 20


# --- real server, real threads -------------------------------------------------------------------


@pytest.fixture
def live(station: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, station, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _post(url: str, body: dict, credential: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {credential}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_twenty_concurrent_checkins_never_share_a_number(station, live):
    from station.extensions import db

    credential = _client(station, ClientKind.KIOSK, "kiosk-c")
    for n in range(20):
        _register(station, _qr(n))
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda n: _post(f"{live}/api/reception/checkin",
                                                {"qr": _qr(n), "room": "PK1"}, credential), range(20)))
    assert all(status == 201 for status, _ in results), results
    numbers = [body["ticket"]["number"] for _, body in results]
    assert len(set(numbers)) == 20 and sorted(numbers) == [f"PK1-{i:03d}" for i in range(1, 21)]
    with station.app_context():
        assert db.session.scalar(select(func.count()).select_from(PrintJob)) == 20
        assert len(set(db.session.scalars(select(Visit.visit_key)))) == 20


def test_concurrent_double_scan_opens_one_visit(station, live):
    from station.extensions import db

    credential = _client(station, ClientKind.KIOSK, "kiosk-d")
    _register(station, QR_BICH)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _post(f"{live}/api/reception/checkin", {"qr": QR_BICH, "room": "PK1"},
                                                credential), range(8)))
    statuses = sorted(body["status"] for _, body in results)
    assert statuses.count("checked_in") == 1 and statuses.count("existing_visit") == 7
    assert len({body["ticket"]["number"] for _, body in results}) == 1
    with station.app_context():
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
        assert db.session.scalar(select(func.count()).select_from(QueueTicket)) == 1


def test_two_callers_on_one_number(station, live, make_user):
    from station.extensions import db

    _register(station, QR_BICH)
    with station.app_context():
        from station.patients.models import Patient

        result = services.checkin(db.session, db.session.scalar(select(Patient)), room_code="PK1", actor=ACTOR)
        db.session.commit()
        ticket_id, version = result.ticket.id, result.ticket.version
    codes = []
    barrier = threading.Barrier(2)

    def call(name: str) -> None:
        from tests.conftest import Auth

        c = station.test_client()
        Auth(c).login(name)
        headers = csrf_headers(c)
        barrier.wait()
        codes.append(c.post(f"/api/queue/tickets/{ticket_id}/call", json={"version": version}, headers=headers).status_code)

    make_user(Role.NURSE, username="dd.a")
    make_user(Role.DOCTOR, username="bs.b")
    threads = [threading.Thread(target=call, args=(n,)) for n in ("dd.a", "bs.b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
