"""Reception, queue, kiosk and calling-display pages, and their JSON API.

Thin views: input → service → one commit. The check-in API
(``POST /api/reception/checkin``) serves both the reception screen (staff
session + CSRF header) and the kiosk (KIOSK device session, or ``Authorization:
Bearer key_id.token`` which needs no CSRF token). Kiosk answers never carry
patient data beyond the first name shown on the ticket screen.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import delete, func, select

from station.auth.models import ApiClient
from station.auth.roles import ClientKind, Role
from station.auth.security import allow, current_actor, current_client, public
from station.web.readonly import read_only
from station.auth.services import authenticate_client
from station.clock import SystemClock, local_today
from station.errors import NotFound, ValidationFailed
from station.extensions import csrf, db
from station.printing.models import PrintJob
from station.reception import eligibility, queue, services
from station.reception.models import PendingScan, QueueTicket
from station.visits import services as visit_services
from station.visits.models import Visit

STAFF = (Role.RECEPTION, Role.NURSE, Role.DOCTOR)
CALLERS = (Role.NURSE, Role.DOCTOR, Role.RECEPTION)

bp = Blueprint("reception", __name__, url_prefix="/reception")
queue_bp = Blueprint("queue", __name__, url_prefix="/queue")
kiosk_bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
display_bp = Blueprint("display", __name__, url_prefix="/display")
api_bp = Blueprint("reception_api", __name__, url_prefix="/api")
BLUEPRINTS = [bp, queue_bp, kiosk_bp, display_bp, api_bp]
# The API checks CSRF itself, after the access hook: refused callers get 401/403, not a CSRF 400.
csrf.exempt(api_bp)


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Yêu cầu cần gửi dữ liệu JSON.")
    return data


def _protect_unless_bearer() -> None:
    """Cookie sessions need the CSRF token; a Bearer credential cannot be forged by another page."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        csrf.protect()


@api_bp.before_request
def _api_csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _protect_unless_bearer()


def _config() -> dict[str, Any]:
    return dict(current_app.config)


def _client_rooms(client: ApiClient | None) -> list[str]:
    if client is None or not client.rooms.strip():
        return []
    return [c.strip().upper() for c in client.rooms.split(",") if c.strip()]


def _after_commit_eligibility(visit_id: uuid.UUID) -> None:
    """Look the card up after the check-in committed (a slow portal never holds the write lock)."""
    adapter = eligibility.adapter_from_config(current_app.config)
    if adapter is None:
        return  # no portal configured: the visit stays "to_verify" for `station eligibility retry`
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.eligibility != "to_verify":
        return
    eligibility.check_visit(db.session, visit, adapter, actor=current_actor(),
                            staff_name=str(current_app.config.get("ELIGIBILITY_STAFF_NAME") or ""),
                            staff_id_number=str(current_app.config.get("ELIGIBILITY_STAFF_CCCD") or ""))
    db.session.commit()


# --- reception screen --------------------------------------------------------------------------


@bp.get("/")
@allow(*STAFF)
def index() -> str:
    """The reception screen: one focused field for the scanner, manual search, today's check-ins."""
    rooms = queue.active_rooms(db.session)
    screen = request.args.get("screen", "reception-1")[:40]
    return render_template("reception/index.html", rooms=rooms, screen=screen)


@api_bp.post("/reception/checkin")
@allow(*STAFF, clients=[ClientKind.KIOSK])
def api_checkin() -> Any:
    """Scan → visit + number + ticket job, in one commit. JSON: {qr, room, flags?, reason?, use_insurance?}."""
    data = _json()
    client = current_client()
    kiosk = client is not None and client.kind is ClientKind.KIOSK and not current_user.is_authenticated
    room = str(data.get("room") or "")
    if kiosk and _client_rooms(client) and room.upper() not in _client_rooms(client):
        raise ValidationFailed("Dịch vụ này không có ở ki-ốt này.", field="room")
    flags = [str(f) for f in data.get("flags") or []][:5] if not kiosk else []
    printer = str(current_app.config.get("KIOSK_PRINTERS", {}).get(client.name, "")) if kiosk and client else ""
    result = services.checkin_from_qr(db.session, str(data.get("qr") or ""), room_code=room, actor=current_actor(),
                                      channel="kiosk" if kiosk else "reception", reason=str(data.get("reason") or ""),
                                      flags=flags, use_insurance=bool(data.get("use_insurance", True)),
                                      config=_config(), printer_name=printer)
    if result.status == "unknown_patient":
        db.session.rollback()
        if kiosk:
            return jsonify(status="unknown_patient",
                           message="Chưa có hồ sơ của bạn tại trạm. Vui lòng đến quầy tiếp đón."), 200
        return jsonify(result.as_json()), 200
    body = result.as_json(include_patient=not kiosk)
    visit_id = result.visit.id if result.visit is not None else None
    db.session.commit()
    if kiosk and result.patient is not None:
        body["first_name"] = result.patient.full_name.split()[-1]
    if visit_id is not None and result.status == "checked_in" and not data.get("defer_eligibility"):
        _after_commit_eligibility(visit_id)
        visit = db.session.get(Visit, visit_id)
        if visit is not None and "visit" in body:
            body["visit"].update(eligibility=visit.eligibility, eligibility_note=visit.eligibility_note)
    return jsonify(body), 201 if result.status == "checked_in" else 200


@api_bp.post("/reception/register")
@allow(*STAFF)
def api_register() -> Any:
    """Confirm a new patient pre-filled from the card, and check them in: one step."""
    data = _json()
    patient = services.register_from_qr(db.session, str(data.get("qr") or ""), actor=current_actor(),
                                        phone=str(data.get("phone") or ""))
    result = services.checkin(db.session, patient, room_code=str(data.get("room") or ""), actor=current_actor(),
                              reason=str(data.get("reason") or ""), flags=[str(f) for f in data.get("flags") or []][:5],
                              use_insurance=bool(data.get("use_insurance", True)), config=_config())
    body = result.as_json()
    visit_id = result.visit.id if result.visit is not None else None
    db.session.commit()
    if visit_id is not None and result.status == "checked_in":
        _after_commit_eligibility(visit_id)
        visit = db.session.get(Visit, visit_id)
        if visit is not None:
            body["visit"].update(eligibility=visit.eligibility, eligibility_note=visit.eligibility_note)
    return jsonify(body), 201


@api_bp.post("/reception/checkin-patient")
@allow(*STAFF)
def api_checkin_patient() -> Any:
    """Manual fallback: check in a patient found by search. JSON: {patient_id, room, flags?, reason?}."""
    data = _json()
    patient = services.get_patient(db.session, str(data.get("patient_id") or ""), actor=current_actor())
    result = services.checkin(db.session, patient, room_code=str(data.get("room") or ""), actor=current_actor(),
                              reason=str(data.get("reason") or ""), flags=[str(f) for f in data.get("flags") or []][:5],
                              use_insurance=bool(data.get("use_insurance", True)), config=_config())
    body = result.as_json()
    visit_id = result.visit.id if result.visit is not None else None
    db.session.commit()
    if visit_id is not None and result.status == "checked_in":
        _after_commit_eligibility(visit_id)
    return jsonify(body), 201 if result.status == "checked_in" else 200


@api_bp.post("/reception/accept-changes")
@allow(*STAFF)
def api_accept_changes() -> Any:
    """Copy the fields the user accepted from the card into the record. JSON: {patient_id, qr, fields}."""
    data = _json()
    patient = services.get_patient(db.session, str(data.get("patient_id") or ""), actor=current_actor())
    qr = services.parse_scan(str(data.get("qr") or ""), today=local_today())
    if qr.number != patient.active_identifier("cccd"):
        raise ValidationFailed("Thẻ vừa quét không phải của hồ sơ này.")
    applied = services.accept_changes(db.session, patient, qr, [str(f) for f in data.get("fields") or []],
                                      actor=current_actor())
    db.session.commit()
    return jsonify(applied=applied)


@api_bp.get("/reception/search")
@allow(*STAFF)
def api_search() -> Any:
    """Manual search: ?cccd= | ?bhyt= | ?name=&dob=dd/mm/yyyy."""
    dob_text = request.args.get("dob", "").strip()
    dob = None
    if dob_text:
        try:
            dob = datetime.strptime(dob_text, "%d/%m/%Y").date()
        except ValueError:
            raise ValidationFailed("Ngày sinh phải có dạng dd/mm/yyyy, ví dụ 05/03/1958.", field="dob") from None
    patients = services.search_patients(db.session, actor=current_actor(), cccd=request.args.get("cccd", ""),
                                        bhyt=request.args.get("bhyt", ""), name=request.args.get("name", ""),
                                        birth_date=dob)
    db.session.commit()
    return jsonify(patients=[{"id": str(p.id), "code": p.code, "name": p.full_name,
                              "birth_date": p.birth_date.strftime("%d/%m/%Y"),
                              "sex": services.SEX_LABELS.get(p.sex, p.sex), "status": p.status,
                              "address": p.card_address} for p in patients])


@api_bp.get("/reception/scans")
@allow(*STAFF, clients=[ClientKind.KIOSK])
def api_take_scan() -> Any:
    """Take the oldest scan a serial scanner left for this screen (?screen=); 204 when none."""
    client = current_client()
    screen = client.name if client is not None and not current_user.is_authenticated else request.args.get("screen", "")
    # A scan nobody took in time (the screen was closed) is stale: never check it in later.
    cutoff = SystemClock().now() - timedelta(seconds=int(current_app.config.get("SCANNER_KEEP_SECONDS", 120)))
    db.session.execute(delete(PendingScan).where(PendingScan.received_at < cutoff))
    scan = db.session.scalar(select(PendingScan).where(PendingScan.screen == screen[:40])
                             .order_by(PendingScan.received_at).limit(1))
    if scan is None:
        db.session.commit()
        return "", 204
    payload = scan.payload
    db.session.execute(delete(PendingScan).where(PendingScan.id == scan.id))
    db.session.commit()
    return jsonify(qr=payload)


@api_bp.get("/reception/alerts")
@allow(*STAFF)
def api_alerts() -> Any:
    """Tickets that did not print and visits still waiting for the BHYT lookup."""
    day = local_today()
    jobs = services.ticket_print_alerts(db.session, day=day)
    import json as _json_mod

    alerts = []
    for job in jobs:
        try:
            number = _json_mod.loads(job.payload).get("number", "")
        except ValueError:
            number = ""
        alerts.append({"job": str(job.id), "number": number, "state": job.state, "error": job.last_error,
                       "message": f"Phiếu số {number} chưa in được"
                                  f"{' (' + job.last_error + ')' if job.last_error else ''}: kiểm tra máy in "
                                  "và in lại cho người bệnh."})
    pending = db.session.scalar(select(func.count()).select_from(Visit).where(Visit.eligibility == "to_verify")) or 0
    return jsonify(print_alerts=alerts, to_verify=int(pending))


@api_bp.post("/reception/visits/<uuid:visit_id>/eligibility")
@allow(*STAFF)
def api_recheck(visit_id: uuid.UUID) -> Any:
    """Look the visit's card up again now."""
    visit = visit_services.get_visit(db.session, visit_id, actor=current_actor())
    outcome = eligibility.check_visit(db.session, visit, eligibility.adapter_from_config(current_app.config),
                                      actor=current_actor())
    db.session.commit()
    return jsonify(eligibility=outcome.eligibility, message=outcome.message)


# --- queue -------------------------------------------------------------------------------------


@queue_bp.get("/", endpoint="index")
@allow(*CALLERS)
def queue_index() -> str:
    """Today's queue of a room with call / start / skip / absent buttons and triage links."""
    rooms = queue.active_rooms(db.session)
    room_code = (request.args.get("room") or (rooms[0].code if rooms else "")).upper()
    day = local_today()
    tickets = queue.room_queue(db.session, room_code, day=day) if room_code else []
    stats = queue.waiting_statistics(db.session, day=day, room_code=room_code or None)
    return render_template("queue/index.html", rooms=rooms, room_code=room_code, tickets=tickets, stats=stats,
                           rule_label=queue.rule_label)


def _ticket(ticket_id: uuid.UUID) -> QueueTicket:
    ticket = db.session.get(QueueTicket, ticket_id)
    if ticket is None:
        raise NotFound("Không tìm thấy số thứ tự.")
    return ticket


def _ticket_json(ticket: QueueTicket) -> dict[str, Any]:
    return {"id": str(ticket.id), "number": ticket.number, "state": ticket.state, "state_label": ticket.state_label,
            "version": ticket.version, "room": ticket.room_code, "visit_id": str(ticket.visit_id)}


@api_bp.post("/queue/<room>/call-next")
@allow(*CALLERS)
def api_call_next(room: str) -> Any:
    ticket = queue.call_next(db.session, room.upper(), actor=current_actor())
    body = _ticket_json(ticket)
    db.session.commit()
    return jsonify(body)


@api_bp.post("/queue/tickets/<uuid:ticket_id>/<action>")
@allow(*CALLERS)
def api_ticket_action(ticket_id: uuid.UUID, action: str) -> Any:
    """call | start | done | skip | no_show; JSON {version} makes the call optimistic."""
    data = request.get_json(silent=True) or {}
    ticket = _ticket(ticket_id)
    version = data.get("version")
    expected = int(version) if isinstance(version, int) or (isinstance(version, str) and version.isdigit()) else None
    actor = current_actor()
    if action == "call":
        queue.call_ticket(db.session, ticket, actor=actor, expected_version=expected)
    elif action == "start":
        queue.start_consultation(db.session, ticket, actor=actor, expected_version=expected)
    elif action == "done":
        queue.finish(db.session, ticket, actor=actor)
    elif action == "skip":
        queue.skip(db.session, ticket, actor=actor)
    elif action == "no_show":
        queue.mark_no_show(db.session, ticket, actor=actor)
    else:
        raise NotFound("Thao tác không có.")
    body = _ticket_json(ticket)
    db.session.commit()
    return jsonify(body)


@queue_bp.route("/visits/<uuid:visit_id>/vitals", methods=["GET", "POST"])
@allow(Role.NURSE, Role.DOCTOR)
def vitals(visit_id: uuid.UUID) -> Any:
    """Triage: the nurse records pulse, blood pressure, temperature, breathing, SpO₂, height and weight."""
    visit = visit_services.get_visit(db.session, visit_id, actor=current_actor())
    error = None
    values = dict(request.form) if request.method == "POST" else {}
    if request.method == "POST":
        try:
            visit_services.record_vitals(db.session, visit, request.form, actor=current_actor())
            db.session.commit()
            return redirect(url_for("queue.vitals", visit_id=visit.id, saved=1))
        except ValidationFailed as failure:
            db.session.rollback()
            visit = db.session.get(Visit, visit_id)
            error = failure
    else:
        db.session.commit()  # the audited read
    current = visit_services.latest_vitals(db.session, visit)
    return render_template("queue/vitals.html", visit=visit, specs=visit_services.VITAL_SPECS,
                           entered=visit_services.ENTERED_VITALS, error=error, values=values,
                           summary=visit_services.vitals_summary(current), saved=request.args.get("saved"),
                           ticket=queue.ticket_for_visit(db.session, visit.id))


# --- calling display ---------------------------------------------------------------------------


def _activate(kind: ClientKind, credential: str, target: str) -> Any:
    client = authenticate_client(db.session, credential, kinds={kind})
    if client is None:
        # 404, not 403: a public link that does not exist (and says nothing about valid ones).
        abort(404, description="Mã kích hoạt thiết bị không đúng hoặc đã bị thu hồi.")
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    session["client_id"] = str(client.id)
    session.permanent = False
    client.last_seen_at = SystemClock().now()
    db.session.commit()
    return redirect(url_for(target))


@display_bp.get("/activate/<credential>")
@public
def activate(credential: str) -> Any:
    """The TV opens this link once: the credential becomes a device session, then the link leaves the address bar."""
    return _activate(ClientKind.DISPLAY, credential, "display.board")


@display_bp.get("/")
@allow(*CALLERS, clients=[ClientKind.DISPLAY])
def board() -> str:
    """The calling board for the waiting-room TV: numbers only, large type, optional chime."""
    rooms = _client_rooms(current_client()) or [r.code for r in queue.active_rooms(db.session)]
    return render_template("display/board.html", rooms=rooms)


@api_bp.get("/display/board")
@allow(*CALLERS, clients=[ClientKind.DISPLAY])
@read_only
def api_board() -> Any:
    client = current_client()
    rooms = _client_rooms(client) or [r.code for r in queue.active_rooms(db.session)]
    return jsonify(queue.display_board(db.session, rooms, day=local_today()))


# --- kiosk -------------------------------------------------------------------------------------


@kiosk_bp.get("/activate/<credential>")
@public
def kiosk_activate(credential: str) -> Any:
    """The kiosk opens this link once to become a kiosk device session."""
    return _activate(ClientKind.KIOSK, credential, "kiosk.home")


@kiosk_bp.get("/")
@allow(clients=[ClientKind.KIOSK])
def home() -> str:
    """Self check-in: scan the ID card, choose the service, take the ticket."""
    client = current_client()
    allowed = _client_rooms(client)
    rooms = [r for r in queue.active_rooms(db.session, kiosk_only=True) if not allowed or r.code in allowed]
    return render_template("kiosk/index.html", rooms=rooms, screen=client.name if client else "")


@api_bp.post("/kiosk/identify")
@allow(clients=[ClientKind.KIOSK])
def api_kiosk_identify() -> Any:
    """Check a scanned card before the service choice; unknown → go to reception. No patient data returned."""
    qr = services.parse_scan(str(_json().get("qr") or ""), today=local_today())
    patient = services.find_by_cccd(db.session, qr.number)
    if patient is None:
        return jsonify(known=False, message="Chưa có hồ sơ của bạn tại trạm. Vui lòng đến quầy tiếp đón.")
    return jsonify(known=True, first_name=services.title_case(qr.full_name).split()[-1])


@api_bp.get("/kiosk/jobs/<uuid:job_id>")
@allow(clients=[ClientKind.KIOSK])
def api_kiosk_job(job_id: uuid.UUID) -> Any:
    """Print state of a kiosk ticket, so the screen can say when the printer failed."""
    job = db.session.get(PrintJob, job_id)
    if job is None or job.document != "ticket":
        raise NotFound("Không tìm thấy phiếu in.")
    return jsonify(state=job.state, error=bool(job.last_error))
