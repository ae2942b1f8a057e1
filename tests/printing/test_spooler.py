"""The spooler end to end: jobs in the database, out through pyserial to a socat pty, decoded back."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import serial
from sqlalchemy import select

from printers import decode, get_profile, layout_ticket, profile_from_config
from station.audit.models import AuditEvent
from station.errors import ValidationFailed
from station.extensions import db
from station.printing import services
from station.printing.models import PrintJob
from station.printing.spooler import PortWorker, Spooler
from tests.printers.conftest import PATIENT, PtyPair
from tests.printing.conftest import ACTOR, FAST, ScriptedPrinter

ASCII_PROFILE = json.dumps({"name": "ascii-58", "base": "generic-58", "strategy": "ascii"})
TICKET = {"station_name": "Trạm Y tế phường Hoàn Kiếm", "room": "Phòng khám số 2", "number": 17,
          "patient_name": PATIENT, "issued_at": "2026-03-10T08:15:00+07:00", "visit_key": "V-2026-000123"}


def _slip(lines: int) -> dict[str, Any]:
    drug = {"drug_name": "Amoxicillin", "strength": "500mg", "quantity": 21, "unit": "viên",
            "dose": "Sáng 1 viên, trưa 1 viên, tối 1 viên sau ăn", "days": 7}
    return {"prescription_code": "01001a7k2m9q-C", "issued_at": "2026-03-10T09:30:00+07:00",
            "patient_name": PATIENT, "lines": [drug] * lines, "prescriber": "Bs. Phạm Quốc Việt",
            "diagnosis": "Viêm họng cấp (J02.9)", "follow_up_date": "2026-03-17"}


def _setup(app, url: str, profile: str = "epson-tm-t20ii", document: str = "ticket",  # type: ignore[no-untyped-def]
           data: dict[str, Any] | None = None, rooms: str = "P2") -> tuple[PortWorker, Any]:
    """Configure one printer on *url*, queue one job for its room, return a worker for its port and the job id."""
    with app.app_context():
        printer = services.save_printer(db.session, actor=ACTOR, name="quay-1", url=url, baudrate=115200,
                                        profile=profile, rooms=rooms)
        job = services.enqueue(db.session, document, data or TICKET, actor=ACTOR, room_code="P2")
        db.session.commit()
        return PortWorker(app, services.port_key(printer), FAST), job.id


def _job(app, job_id) -> PrintJob:  # type: ignore[no-untyped-def]
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        db.session.expunge(job)
        return job


@pytest.mark.parametrize("profile", ["epson-tm-t20ii", "generic-58", ASCII_PROFILE],
                         ids=["tcvn3-text", "raster-lines", "no-diacritics"])
def test_ticket_name_survives_each_strategy(app, pty_pair: PtyPair, scripted: ScriptedPrinter, profile: str) -> None:
    worker, job_id = _setup(app, f"serial://{pty_pair.host}", profile)
    assert worker.run_once() is True
    job = _job(app, job_id)
    assert job.state == "done" and job.printed_at is not None and job.attempts == 1
    resolved = get_profile(profile) if not profile.startswith("{") else profile_from_config(json.loads(profile))
    expected = layout_ticket(services_ticket(), resolved).to_bytes()
    received = scripted.wait_for(len(expected) + 9)
    printed = scripted.job_bytes()
    assert printed == expected, "the ticket must arrive byte for byte"
    decoded = decode(printed, resolved)
    if resolved.strategy == "tcvn3":
        assert PATIENT in decoded.text
    elif resolved.strategy == "raster_lines":
        assert PATIENT not in decoded.text and decoded.images  # the name travels as a picture
    else:
        assert "Nguyen Thi Hong Nhung" in decoded.text
    assert decoded.qr_payloads == (["V-2026-000123"] if resolved.native_qr else []) and decoded.cut
    assert len(received) >= len(expected)
    worker.stop()


def services_ticket():  # type: ignore[no-untyped-def]
    from printers import TicketData
    from station.printing.forms_data import build

    return build(TicketData, dict(TICKET))


def test_paper_out_waits_then_prints_once(app, pty_pair: PtyPair) -> None:
    printer_end = ScriptedPrinter(pty_pair.printer, paper=False)
    try:
        worker, job_id = _setup(app, f"serial://{pty_pair.host}")
        assert worker.run_once() is True
        job = _job(app, job_id)
        assert job.state == "queued" and job.attempts == 1
        assert "hết giấy" in job.last_error and job.next_attempt_at is not None
        assert worker.run_once() is False, "not due yet: backoff"
        printer_end.load_paper()
        time.sleep(FAST.retry_base_seconds + 0.02)
        assert worker.run_once() is True
        job = _job(app, job_id)
        assert job.state == "done" and job.last_error == "" and job.attempts == 2
        printer_end.wait_for(len(printer_end.received) + 1, timeout=0.3)
        assert decode(printer_end.job_bytes(), get_profile("epson-tm-t20ii")).text.count(PATIENT) == 1
        # nothing printed during the paper-out attempt: only status queries went out before
        assert bytes(printer_end.received).count(b"PHI") <= 1
        worker.stop()
    finally:
        printer_end.close()


def test_unplugged_mid_job_needs_reprint(app, pty_pair: PtyPair) -> None:
    printer_end = ScriptedPrinter(pty_pair.printer, read_limit=2048)
    try:
        worker, job_id = _setup(app, f"serial://{pty_pair.host}", document="prescription_slip", data=_slip(3000))
        thread = threading.Thread(target=worker.run_once)
        thread.start()
        assert printer_end.stalled.wait(10), "the job should start going out"
        time.sleep(0.2)
        pty_pair.kill()  # cable pulled: the pty closes mid-job
        thread.join(15)
        assert not thread.is_alive()
        job = _job(app, job_id)
        assert job.state == "needs_reprint"
        assert "in dở" in job.last_error
        worker.stop()
    finally:
        printer_end.close()


def test_missing_port_waits_with_clear_error_and_spooler_keeps_running(app, tmp_path) -> None:
    with app.app_context():
        services.save_printer(db.session, actor=ACTOR, name="quay-1", url=f"serial://{tmp_path}/ttyNONE",
                              rooms="P2")
        job_id = services.enqueue(db.session, "ticket", TICKET, actor=ACTOR, room_code="P2").id
        db.session.commit()
    spooler = Spooler(app, FAST)
    spooler.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _job(app, job_id).attempts < 3:
            time.sleep(0.05)
        job = _job(app, job_id)
        assert job.state == "queued" and job.attempts >= 3, "a missing port never fails the job"
        assert "Không tìm thấy máy in" in job.last_error
        assert all(worker.alive for worker in spooler.workers.values()) and len(spooler.workers) == 1
    finally:
        spooler.stop()


def test_port_taken_by_another_program_waits(app, pty_pair: PtyPair) -> None:
    other = serial.Serial(pty_pair.host, exclusive=True)
    try:
        worker, job_id = _setup(app, f"serial://{pty_pair.host}")
        assert worker.run_once() is True
        job = _job(app, job_id)
        assert job.state == "queued" and "đang được chương trình khác sử dụng" in job.last_error
    finally:
        other.close()
    scripted = ScriptedPrinter(pty_pair.printer)
    try:
        time.sleep(FAST.retry_base_seconds + 0.02)
        assert worker.run_once() is True
        assert _job(app, job_id).state == "done"
        worker.stop()
    finally:
        scripted.close()


def test_500_line_prescription_slip_prints(app, pty_pair: PtyPair, scripted: ScriptedPrinter) -> None:
    worker, job_id = _setup(app, f"serial://{pty_pair.host}", document="prescription_slip", data=_slip(500))
    assert worker.run_once() is True
    assert _job(app, job_id).state == "done"
    time.sleep(0.2)
    decoded = decode(scripted.job_bytes(), get_profile("epson-tm-t20ii"))
    assert decoded.text.count("Dùng trong 7 ngày") == 500
    assert decoded.qr_payloads == ["01001a7k2m9q-C"] and decoded.cut
    assert "Trạm Y tế" in decoded.text.upper() or "TRẠM Y TẾ" in decoded.text  # station name filled in
    worker.stop()


def test_foreign_name_is_not_a_render_error(app, pty_pair: PtyPair, scripted: ScriptedPrinter) -> None:
    worker, job_id = _setup(app, f"serial://{pty_pair.host}", data={**TICKET, "patient_name": "王小明 (Wang Xiaoming)"})
    assert worker.run_once() is True
    job = _job(app, job_id)
    assert job.state == "done", job.last_error
    time.sleep(0.1)
    assert decode(scripted.job_bytes(), get_profile("epson-tm-t20ii")).images  # the line was rasterised
    worker.stop()


def test_reprint_needs_a_reason_is_audited_and_says_ban_in_lai(app, pty_pair: PtyPair, scripted: ScriptedPrinter) -> None:
    worker, job_id = _setup(app, f"serial://{pty_pair.host}")
    assert worker.run_once() is True
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        with pytest.raises(ValidationFailed, match="lý do"):
            services.reprint(db.session, job, reason="  ", actor=ACTOR)
        copy = services.reprint(db.session, job, reason="Giấy bị kẹt, chữ mờ", actor=ACTOR)
        db.session.commit()
        copy_id = copy.id
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "print.reprint")).one()
        assert event.entity_id == str(job_id) and "Giấy bị kẹt" in event.detail
    before = len(scripted.received)
    assert worker.run_once() is True
    assert _job(app, copy_id).state == "done"
    time.sleep(0.1)
    text = decode(bytes(scripted.received[before:]).rsplit(b"\x10\x04\x04", 1)[-1], get_profile("epson-tm-t20ii")).text
    assert "BẢN IN LẠI" in text and PATIENT in text
    worker.stop()


def test_bad_payload_fails_only_after_max_attempts(app, pty_pair: PtyPair, scripted: ScriptedPrinter) -> None:
    worker, job_id = _setup(app, f"serial://{pty_pair.host}", data={"room": "P2"})
    for attempt in range(1, FAST.max_attempts + 1):
        assert worker.run_once() is True
        job = _job(app, job_id)
        assert "Thiếu trường bắt buộc" in job.last_error
        assert job.state == ("failed" if attempt == FAST.max_attempts else "queued")
        time.sleep(FAST.retry_cap_seconds + 0.02)
    assert worker.run_once() is False
    worker.stop()


def test_job_interrupted_by_a_crash_is_marked_for_reprint(app, tmp_path) -> None:
    worker, job_id = _setup(app, f"file://{tmp_path}/out.bin")
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        job.state = "printing"
        db.session.commit()
    worker.run_once()
    job = _job(app, job_id)
    assert job.state == "needs_reprint" and "in dở" in job.last_error


def test_routing_by_printer_name_and_room(app, tmp_path) -> None:
    with app.app_context():
        services.save_printer(db.session, actor=ACTOR, name="thu-ngan", url=f"file://{tmp_path}/a.bin",
                              rooms="TN", documents="receipt")
        services.save_printer(db.session, actor=ACTOR, name="tiep-don", url=f"file://{tmp_path}/b.bin", rooms="*",
                              documents="ticket")
        printers = services.active_printers(db.session)
        named = services.enqueue(db.session, "test_page", {}, actor=ACTOR, printer_name="thu-ngan")
        ticket = services.enqueue(db.session, "ticket", TICKET, actor=ACTOR, room_code="P9")
        orphan = services.enqueue(db.session, "followup_slip", {}, actor=ACTOR, room_code="P9")
        assert services.printer_for_job(named, printers).name == "thu-ngan"
        assert services.printer_for_job(ticket, printers).name == "tiep-don"
        assert services.printer_for_job(orphan, printers) is None
        assert "Chưa có máy in nào" in services.route_hint(orphan, printers)
        db.session.commit()

