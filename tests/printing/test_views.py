"""HTTP: printer administration, the print queue, previews, reprints, form downloads, CLI."""

from __future__ import annotations

import io
import json

from pypdf import PdfReader
from sqlalchemy import select

from station.audit.models import AuditEvent
from station.auth.roles import Role
from station.extensions import db
from station.printing import services
from station.printing.models import PrintJob, PrinterConfig
from tests.conftest import Auth
from tests.printing.conftest import ACTOR
from tests.printing.test_spooler import TICKET

BAD_PROFILE = json.dumps({"name": "xp-q200", "base": "xprinter-80", "code_pages": {"0": "CP437", "27": "TCVN-9"}})


def _login(client, make_user, role: Role) -> Auth:  # type: ignore[no-untyped-def]
    auth = Auth(client)
    assert auth.login(make_user(role)).status_code == 302
    return auth


def _printer_form(**changes: str) -> dict[str, str]:
    form = {"name": "quay-tiep-don", "url": "serial:///dev/ttyUSB0", "baudrate": "19200", "flow_control": "rtscts",
            "profile": "epson-tm-t20ii", "rooms": "P1, P2", "documents": "ticket", "active": "y"}
    form.update(changes)
    return form


def test_admin_page_rejects_an_unknown_code_page_with_a_clear_message(app, client, make_user) -> None:
    auth = _login(client, make_user, Role.ADMIN)
    response = auth.post("/printing/printers", _printer_form(profile=BAD_PROFILE))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "TCVN-9" in page and "không được hỗ trợ" in page
    response = auth.post("/printing/printers", _printer_form(profile="{not json"))
    assert response.status_code == 422 and "không phải JSON hợp lệ" in response.get_data(as_text=True)
    response = auth.post("/printing/printers", _printer_form())
    assert response.status_code == 302
    with app.app_context():
        printer = db.session.scalars(select(PrinterConfig)).one()
        assert (printer.rooms, printer.flow_control, printer.baudrate) == ("P1,P2", "rtscts", 19200)
        assert services.printer_url(printer) == "serial:///dev/ttyUSB0?baudrate=19200&rtscts=1&xonxoff=0"
        printer_id = printer.id
    assert "quay-tiep-don" in client.get("/printing/printers").get_data(as_text=True)
    assert auth.post(f"/printing/printers/{printer_id}/test").status_code == 302
    with app.app_context():
        job = db.session.scalars(select(PrintJob)).one()
        assert (job.document, job.printer_name, job.state) == ("test_page", "quay-tiep-don", "queued")


def test_print_queue_shows_state_and_reason_in_vietnamese(app, client, make_user) -> None:
    with app.app_context():
        job = services.enqueue(db.session, "ticket", TICKET, actor=ACTOR, room_code="P7")
        job.last_error = "Máy in hết giấy. Hãy thay cuộn giấy mới rồi in lại."
        db.session.commit()
    _login(client, make_user, Role.NURSE)
    page = client.get("/printing/").get_data(as_text=True)
    assert "Đang chờ in" in page and "Máy in hết giấy" in page
    assert "Chưa có máy in nào được cấu hình cho phòng P7" in page


def test_preview_png_and_reprint_over_http(app, client, make_user) -> None:
    with app.app_context():
        job = services.enqueue(db.session, "ticket", TICKET, actor=ACTOR, room_code="P2")
        job.state = "done"
        db.session.commit()
        job_id = job.id
    auth = _login(client, make_user, Role.RECEPTION)
    response = client.get(f"/printing/jobs/{job_id}/preview.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    response = auth.post(f"/printing/jobs/{job_id}/reprint", {"reason": ""})
    assert response.status_code == 422
    response = auth.post(f"/printing/jobs/{job_id}/reprint", {"reason": "Khách làm mất phiếu"})
    assert response.status_code == 302
    with app.app_context():
        copy = db.session.scalars(select(PrintJob).where(PrintJob.reprint_of_id == job_id)).one()
        assert json.loads(copy.payload)["reprint"] is True and copy.reprint_reason == "Khách làm mất phiếu"
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"print.preview", "print.reprint"} <= actions
    assert auth.post(f"/printing/jobs/{copy.id}/cancel").status_code == 302
    with app.app_context():
        assert db.session.get(PrintJob, copy.id).state == "cancelled"


def test_form_download_and_recorded_form(app, client, make_user) -> None:
    _login(client, make_user, Role.DOCTOR)
    response = client.get("/printing/forms/prescription/sample.pdf?download=1")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 1
    assert client.get("/printing/forms/unknown/sample.pdf").status_code == 404
    from station.printing import pdf
    from station.printing.forms_data import sample_context

    with app.test_request_context():
        pdf.form_response(db.session, "prescription", sample_context("prescription"), actor=ACTOR,
                          subject_type="prescription", subject_id="01001a7k2m9q-C")
        db.session.commit()
        recorded = db.session.scalars(select(PrintJob).where(PrintJob.document == "a4_prescription")).one()
        assert recorded.state == "done" and recorded.subject_id == "01001a7k2m9q-C"
        recorded_id = recorded.id
    again = client.get(f"/printing/jobs/{recorded_id}/document.pdf")
    assert again.status_code == 200 and again.headers["Content-Disposition"].startswith("inline")


def test_cli_lists_and_tests_printers(app, runner, tmp_path) -> None:
    with app.app_context():
        services.save_printer(db.session, actor=ACTOR, name="file-printer", url=f"file://{tmp_path}/out.bin")
        services.save_printer(db.session, actor=ACTOR, name="missing", url=f"serial://{tmp_path}/ttyNONE")
        db.session.commit()
    listed = runner.invoke(args=["printers", "list"])
    assert listed.exit_code == 0 and "file-printer" in listed.output and "missing" in listed.output
    ok = runner.invoke(args=["printers", "test", "file-printer"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "out.bin").stat().st_size > 200
    failed = runner.invoke(args=["printers", "test", "missing"])
    assert failed.exit_code == 1 and "Không tìm thấy máy in" in failed.output
    unknown = runner.invoke(args=["printers", "test", "nope"])
    assert unknown.exit_code == 1
