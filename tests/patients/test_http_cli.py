"""HTTP (search, record page audited, roles, registration with duplicate warning) and CLI (identify, import)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from station.audit.models import AuditEvent
from station.auth.roles import Role
from station.patients.models import Patient, PatientIdentifier
from tests.conftest import Auth
from tests.patients.conftest import make_patient


@pytest.fixture
def patient_id(app):  # type: ignore[no-untyped-def]
    from station.extensions import db

    with app.app_context():
        p = make_patient(db.session, "Nguyễn Văn A", "05/03/1956", cccd="001056012345")
        from station.patients import services
        from tests.patients.conftest import ACTOR
        services.add_allergy(db.session, p, category="drug", substance="Penicillin", actor=ACTOR)
        db.session.commit()
        return str(p.id)


def _login(client, make_user, role: Role) -> Auth:  # type: ignore[no-untyped-def]
    make_user(role)
    auth = Auth(client)
    assert auth.login(f"{role.value}.test").status_code == 302
    return auth


def test_record_page_shows_alerts_completeness_and_is_audited(app, client, make_user, patient_id):
    _login(client, make_user, Role.NURSE)
    page = client.get(f"/patients/{patient_id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Dị ứng Penicillin" in body and "/46" in body and "Còn thiếu" in body
    with app.app_context():
        from station.extensions import db
        views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "patient.view",
                                                            AuditEvent.entity_id == patient_id)).all()
        assert len(views) == 1 and views[0].actor_label == "nurse.test"


@pytest.mark.parametrize("role", [Role.HEAD, Role.CASHIER])
def test_head_and_cashier_never_open_individual_records(client, make_user, patient_id, role):
    _login(client, make_user, role)
    assert client.get(f"/patients/{patient_id}").status_code == 403
    assert client.get("/patients/?q=nguyen").status_code == 403
    assert client.get("/api/patients/search?q=nguyen").status_code == 403
    expected = 200 if role == Role.HEAD else 403
    stats = client.get("/patients/completeness?commune=all")
    assert stats.status_code == expected
    if role == Role.HEAD:
        assert "Nguyễn Văn A" not in stats.get_data(as_text=True)


def test_search_page_and_json_api(client, make_user, patient_id):
    _login(client, make_user, Role.RECEPTION)
    page = client.get("/patients/?q=nguyen+van+a")
    assert page.status_code == 200 and "Nguyễn Văn A" in page.get_data(as_text=True) and "1956" in page.get_data(as_text=True)
    redirect = client.get("/patients/?q=001056012345")
    assert redirect.status_code == 302 and redirect.headers["Location"].endswith(f"/patients/{patient_id}")
    data = client.get("/api/patients/search?q=NGUYEN VAN A").get_json()
    assert data["mode"] == "name" and data["hits"][0]["full_name"] == "Nguyễn Văn A"
    assert data["hits"][0]["cccd"] == "001056012345"
    client.get("/auth/logout")


def test_api_requires_a_staff_session(client, patient_id):
    response = client.get("/api/patients/search?q=nguyen")
    assert response.status_code == 401 and "đăng nhập" in response.get_json()["error"]


def test_registration_warns_about_duplicates_and_can_create_anyway(app, client, make_user, patient_id):
    auth = _login(client, make_user, Role.RECEPTION)
    form = {"full_name": "NGUYEN VAN A", "birth": "05/03/1956", "sex": "male", "nationality_code": "000",
            "province_code": "01", "commune_code": "00070"}
    first = auth.post("/patients/new", form)
    body = first.get_data(as_text=True)
    assert first.status_code == 422 and "Có thể đã có hồ sơ" in body and f"/patients/{patient_id}" in body
    second = auth.post("/patients/new", {**form, "confirm_duplicate": "1"})
    assert second.status_code == 302
    bad = auth.post("/patients/new", {**form, "birth": "31/02/1990", "confirm_duplicate": "1"})
    assert bad.status_code == 422 and "không có ngày 31" in bad.get_data(as_text=True)
    with app.app_context():
        from station.extensions import db
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 2


def test_merged_record_redirects_to_the_survivor(app, client, make_user, patient_id):
    with app.app_context():
        from station.extensions import db
        dup = make_patient(db.session, "Nguyen Van A", "1956")
        db.session.commit()
        dup_id, dup_code = str(dup.id), dup.code
    auth = _login(client, make_user, Role.ADMIN)
    response = auth.post(f"/patients/{patient_id}/merge", {"other_code": dup_code, "reason": "Cùng một người",
                                                           "confirm": "y"})
    assert response.status_code == 302
    follow = client.get(f"/patients/{dup_id}")
    assert follow.status_code == 302 and follow.headers["Location"].endswith(f"/patients/{patient_id}")
    assert "Cùng một người" in client.get("/patients/merges").get_data(as_text=True)


def test_identify_command_json_and_exit_status(runner):
    ok = runner.invoke(args=["identify", "HS4010120878811"])
    assert ok.exit_code == 0 and json.loads(ok.output)["fields"]["bhxh_number"] == "0120878811"
    qr = runner.invoke(args=["identify", "001090123456||NGUYỄN VĂN A|01011990|Nam|Hà Nội|15042021"])
    assert qr.exit_code == 0 and json.loads(qr.output)["kind"] == "cccd_qr"
    bad = runner.invoke(args=["identify", "12345"])
    assert bad.exit_code == 2 and "Không nhận ra" in bad.output


HEADER = "Họ và tên,Ngày sinh,Giới tính,Số CCCD,Mã thẻ BHYT,Số điện thoại,Địa chỉ\n"
ROWS = ("Nguyễn Văn Bình,12/05/1960,Nam,001060012345,HT3010120000001,0912000001,Số 3 Hàng Bạc\n"
        "Trần Thị Cúc,1948,Nữ,,,,Tổ 5\n"
        "Lê Văn Sai,31/02/1990,Nam,,,,\n"
        "Phạm Thị Dung,01/01/1995,Nữ,12345,,,\n")


def _count(app, model=Patient) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        from station.extensions import db
        return db.session.scalar(select(func.count()).select_from(model))


TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: letters with ^, ˘, horn precomposed, tone marks combining."""
    import unicodedata

    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out += base.encode("cp1258") + "".join(c for c in parts if c in TONES).encode("cp1258")
    return bytes(out)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258"])
def test_import_csv_encodings_rejects_and_idempotent_rerun(app, runner, tmp_path: Path, encoding):
    text = HEADER + ROWS
    path = tmp_path / "ds.csv"
    path.write_bytes(to_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(args=["patients", "import", str(path), "--reject-file", str(rejects)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    label = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (có BOM)", "cp1258": "Windows-1258"}[encoding]
    assert report["encoding"] == label and (report["created"], report["rejected"]) == (2, 2)
    rejected = rejects.read_text(encoding="utf-8-sig")
    assert "không có ngày 31" in rejected and "12 chữ số" in rejected and "Lê Văn Sai" in rejected
    with app.app_context():
        from station.extensions import db
        names = set(db.session.scalars(select(Patient.full_name)))
        assert names == {"Nguyễn Văn Bình", "Trần Thị Cúc"}
    again = runner.invoke(args=["patients", "import", str(path), "--reject-file", str(rejects)])
    report = json.loads(again.output[again.output.index("{"):])
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    assert _count(app) == 2 and _count(app, PatientIdentifier) == 2  # CCCD + BHXH of Bình


def test_import_dry_run_writes_nothing_and_xlsx_with_mapping(app, runner, tmp_path: Path):
    from openpyxl import Workbook

    path = tmp_path / "ds.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    dry = runner.invoke(args=["patients", "import", str(path), "--dry-run"])
    report = json.loads(dry.output[dry.output.index("{"):])
    assert report["dry_run"] and report["created"] == 2 and _count(app) == 0
    book = Workbook()
    sheet = book.active
    sheet.append(["Tên người bệnh", "NS", "Giới", "CCCD"])
    import datetime
    sheet.append(["Đặng Văn Em", datetime.datetime(1970, 4, 2), "Nam", "001070012345"])
    sheet.append(["Bùi Thị Gấm", "1980", "Nữ", None])
    xlsx = tmp_path / "ds.xlsx"
    book.save(xlsx)
    missing = runner.invoke(args=["patients", "import", str(xlsx)])
    assert missing.exit_code == 2 and "Họ và tên" in missing.output
    ok = runner.invoke(args=["patients", "import", str(xlsx), "--mapping", "Tên người bệnh=full_name,NS=birth"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        from station.extensions import db
        p = db.session.scalar(select(Patient).where(Patient.name_folded == "dang van em"))
        assert p.birth_date == datetime.date(1970, 4, 2) and p.active_identifier("cccd") == "001070012345"


def test_import_resumes_after_a_crash_without_duplicates(app, tmp_path: Path, monkeypatch):
    from station.patients import importer
    from tests.patients.conftest import ACTOR

    lines = [f"Người Số{chr(65 + i % 26)}{'x' * (i // 26)},01/01/19{50 + i % 40},Nam,0010{50 + i % 40}{i:06d},,,\n"
             for i in range(25)]
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    calls = {"n": 0}
    real = importer.Importer._write

    def crash_on_third_chunk(self, valid, existing):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real(self, valid, existing)

    monkeypatch.setattr(importer.Importer, "_write", crash_on_third_chunk)
    with app.app_context():
        from station.extensions import db
        with pytest.raises(RuntimeError):
            importer.import_file(db.session, path, actor=ACTOR, chunk=10)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 20  # two whole chunks, nothing half
        monkeypatch.setattr(importer.Importer, "_write", real)
        report = importer.import_file(db.session, path, actor=ACTOR, chunk=10)
        assert report.skipped_resumed == 20 and report.created == 5
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 25


def test_opening_edit_and_history_pages_is_audited(app, client, make_user, auth):
    from sqlalchemy import func, select

    from station.audit.models import AuditEvent
    from station.audit.services import Actor
    from station.auth.roles import Role
    from station.extensions import db
    from station.patients import services

    make_user(Role.NURSE, "dd.test")
    with app.app_context():
        patient = services.register_patient(db.session, {
            "full_name": "Lê Thị Mai", "birth_date": "12/03/1980", "sex": "female"}, actor=Actor.system("test"))
        db.session.commit()
        pid = str(patient.id)
    auth.login("dd.test")
    for path in (f"/patients/{pid}/edit", f"/patients/{pid}/section/allergies", f"/patients/{pid}/history/risk"):
        assert client.get(path).status_code == 200, path
    with app.app_context():
        views = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "patient.view", AuditEvent.entity_id == pid))
    assert views == 3


def test_a_search_result_list_is_audited_without_the_query(app, client, make_user, auth):
    import json

    from sqlalchemy import select

    from station.audit.models import AuditEvent
    from station.audit.services import Actor
    from station.auth.roles import Role
    from station.extensions import db
    from station.patients import services

    make_user(Role.RECEPTION, "tt.test")
    with app.app_context():
        patient = services.register_patient(db.session, {
            "full_name": "Đỗ Văn Tâm", "birth_date": "01/02/1970", "sex": "male"}, actor=Actor.system("test"))
        db.session.commit()
        pid = str(patient.id)
    auth.login("tt.test")
    assert client.get("/api/patients/search", query_string={"q": "do van tam"}).get_json()["hits"]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.search"))
        assert event is not None and pid in json.loads(event.detail)["shown"]
        assert "tam" not in event.detail.lower()
