"""The sync page (admin, head of station) and the hub's signed pull endpoints under /api/sync.

Pull endpoints are authenticated with the hub's HMAC key (an ``ApiClient`` of kind HUB:
``key_id`` + ``hmac_key``), RFC 9421-style signatures verified by ``protocol.Verifier`` with the
database nonce store (``nonces.SqlNonceStore``), so a replay is refused across restarts and
threads. They are all GET requests, so CSRF protection does not apply to them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import (Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from station.admin.forms import ActionForm
from station.audit import services as audit
from station.auth.models import ApiClient
from station.auth.roles import ClientKind, Role
from station.auth.security import allow, allow_signed, current_actor
from station.clock import now_utc
from station.errors import StationError
from station.extensions import db
from station.sync import fhir, service
from station.sync.models import ChangeLog
from station.sync.nonces import SqlNonceStore
from station.sync.protocol import SignatureError, Verifier
from station.sync.store import iter_snapshot, list_set_aside, oldest_retained_seq, read_feed

bp = Blueprint("sync", __name__)

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


class RebaselineForm(FlaskForm):
    """The admin's explicit re-baseline after a restored backup."""

    reason = StringField("Lý do", validators=[DataRequired("Cần ghi lý do."), Length(min=5, max=500,
                                                                                    message="Lý do từ 5 đến 500 ký tự.")])
    to_seq = IntegerField("Gửi lại từ sau seq (để trống: theo máy chủ tổng hợp)",
                          validators=[Optional(), NumberRange(min=0, message="Seq không được âm.")])
    confirm = BooleanField("Tôi hiểu: trạm sẽ gửi lại mọi thay đổi sau mốc này",
                           validators=[DataRequired("Cần xác nhận trước khi đồng bộ lại mốc.")])


# ---------------------------------------------------------------------- the sync page


@bp.get("/sync/")
@allow(Role.ADMIN, Role.HEAD)
def index():  # type: ignore[no-untyped-def]
    """Last run, acknowledged seq, pending and set-aside changes, next run, restored-backup warning."""
    info = service.status(current_app, db.session)
    state = service.current_state(db.session)
    runs = service.recent_runs(db.session)
    aside = list_set_aside(db.session)
    db.session.commit()  # get_state may have created the row
    config = service.SyncConfig.from_app(current_app)
    next_run = service.next_scheduled(now_utc(), config.push_at) if config.enabled else None
    return render_template("sync/index.html", info=info, state=state, runs=runs, aside=aside, next_run=next_run,
                           labels=service.RESULT_LABELS, can_act=current_user.role is Role.ADMIN,
                           action_form=ActionForm(), rebaseline_form=RebaselineForm())


@bp.post("/sync/push")
@allow(Role.ADMIN)
def push():  # type: ignore[no-untyped-def]
    """Start a push now, in the background (the page shows its progress on reload)."""
    if not ActionForm().validate_on_submit():
        flash("Phiên biểu mẫu đã hết hạn, vui lòng thử lại.", "danger")
        return redirect(url_for("sync.index"))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        config = service.SyncConfig.from_app(app)
        station_id, _, _ = service.station_identity(db.session, config)
        service.build_client(config, station_id)
    except StationError as error:
        flash(error.message, "danger")
        return redirect(url_for("sync.index"))
    from station.sync.background import run_job

    threading.Thread(target=run_job, args=(app, "page"), name="sync-page-push", daemon=True).start()
    audit.record(db.session, current_actor(), "sync.push_requested", entity_type="sync_state")
    db.session.commit()
    flash("Đã bắt đầu đồng bộ. Tải lại trang để xem kết quả.", "success")
    return redirect(url_for("sync.index"))


@bp.post("/sync/rebaseline")
@allow(Role.ADMIN)
def rebaseline():  # type: ignore[no-untyped-def]
    """Accept this database after a restored backup and restart sending from a point (audited)."""
    form = RebaselineForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
        return redirect(url_for("sync.index"))
    try:
        result = service.rebaseline(current_app, db.session, reason=form.reason.data or "",
                                    actor=current_actor(), to_seq=form.to_seq.data)
    except StationError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("sync.index"))
    db.session.commit()
    source = {"hub": "theo máy chủ tổng hợp", "chosen": "theo mốc đã chọn", "station": "theo mốc của trạm"}
    flash(f"Đã đồng bộ lại mốc: trạm sẽ gửi mọi thay đổi sau seq {result.to_seq} "
          f"({source[result.source]}).", "success")
    return redirect(url_for("sync.index"))


@bp.post("/sync/set-aside/<seq_text>/retry")
@allow(Role.ADMIN)
def retry(seq_text: str):  # type: ignore[no-untyped-def]
    """Re-queue a set-aside change after its data or mapping was fixed."""
    if not ActionForm().validate_on_submit():
        flash("Phiên biểu mẫu đã hết hạn, vui lòng thử lại.", "danger")
        return redirect(url_for("sync.index"))
    if not seq_text.isdigit():
        flash(f"Số thứ tự thay đổi không hợp lệ: {seq_text}", "danger")
        return redirect(url_for("sync.index"))
    seq = int(seq_text)
    new_seq = service.retry_set_aside(db.session, seq, actor=current_actor())
    db.session.commit()
    if new_seq is None:
        flash(f"Không có thay đổi #{seq} đang bị tạm gác (hoặc đã xử lý).", "warning")
    else:
        flash(f"Đã xếp lại thay đổi #{seq} để gửi trong lần đồng bộ tới (seq mới {new_seq}).", "success")
    return redirect(url_for("sync.index"))


# ---------------------------------------------------------------------- signed pull API


def _hub_key(key_id: str) -> str | None:
    client = db.session.scalar(select(ApiClient).where(ApiClient.key_id == key_id,
                                                       ApiClient.kind == ClientKind.HUB,
                                                       ApiClient.active.is_(True)))
    key = client.hmac_key if client is not None else None
    # End the read transaction: on SQLite every transaction holds the write lock (BEGIN IMMEDIATE)
    # and the nonce store writes through its own connection next.
    db.session.commit()
    if client is None or not key:
        return None
    g.api_client = client
    return key


def _refuse(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"code": code, "message": message, **extra})
    response.status_code = status
    return response


def _authenticate(*, staff_ok: bool = False) -> Response | None:
    """Verify the hub's signature (or accept a staff session when *staff_ok*); a Response refuses."""
    if not request.headers.get("Signature-Input"):
        if staff_ok and current_user.is_authenticated:
            return None  # the access hook already checked the role
        return _refuse(401, "missing_signature", "thiếu chữ ký yêu cầu (Signature/Signature-Input/Content-Digest)")
    config = service.SyncConfig.from_app(current_app)
    verifier = Verifier(_hub_key, window=timedelta(seconds=config.pull_window),
                        nonces=SqlNonceStore(service.session_factory()))
    try:
        verifier.verify(request.method, request.script_root + request.path,
                        request.query_string.decode("latin-1"), dict(request.headers), request.get_data(cache=True))
    except SignatureError as exc:
        g.pop("api_client", None)
        return _refuse(401, exc.code, str(exc))
    return None


def _int_arg(name: str, default: int | None, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise ValueError(f"thiếu tham số {name}")
        return default
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} phải nằm trong {low}..{high if high is not None else '∞'}")
    return value


@bp.get("/api/sync/changes")
@allow_signed(clients=[ClientKind.HUB])
def api_changes():  # type: ignore[no-untyped-def]
    """The change feed: ``seq > after`` in seq order, FHIR payloads; 410 when after is compacted."""
    refused = _authenticate()
    if refused is not None:
        return refused
    try:
        after = _int_arg("after", None, 0)
        limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    except ValueError as exc:
        return _refuse(400, "bad_request", f"tham số không hợp lệ: {exc}")
    config = service.SyncConfig.from_app(current_app)
    oldest = oldest_retained_seq(db.session, config.retain_from)
    if after < oldest - 1:
        high = int(db.session.scalar(select(func.max(ChangeLog.seq))) or 0)
        return _refuse(410, "cursor_expired",
                       f"con trỏ {after} cũ hơn nhật ký còn lưu (từ seq {oldest}); tải bản chụp toàn bộ rồi "
                       "tiếp tục với after = high_water_seq",
                       oldest_seq=oldest, snapshot={"href": url_for("sync.api_snapshot"), "high_water_seq": high})
    settings = service.fhir_settings(db.session, config)
    changes, next_after, has_more = read_feed(db.session, after, limit, fhir.builders(), settings)
    audit.record(db.session, current_actor(), "sync.pull", entity_type="change_log",
                 detail={"after": after, "next_after": next_after, "count": len(changes)})
    db.session.commit()
    return jsonify({"changes": [c.to_dict() for c in changes], "next_after": next_after, "has_more": has_more})


@bp.get("/api/sync/snapshot")
@allow_signed(clients=[ClientKind.HUB])
def api_snapshot():  # type: ignore[no-untyped-def]
    """Every current synced record as NDJSON FHIR, after a header line with the high-water seq."""
    refused = _authenticate()
    if refused is not None:
        return refused
    config = service.SyncConfig.from_app(current_app)
    station_id, _, identity = service.station_identity(db.session, config)
    settings = service.fhir_settings(db.session, config)
    high = int(db.session.scalar(select(func.max(ChangeLog.seq))) or 0)  # read first: see iter_snapshot
    audit.record(db.session, current_actor(), "sync.snapshot", entity_type="change_log",
                 detail={"high_water_seq": high})
    db.session.commit()
    factory = service.session_factory()
    builders = fhir.builders()
    header = {"station_id": station_id, "db_identity": identity, "high_water_seq": high,
              "generated_at": now_utc().isoformat()}

    def lines() -> Iterator[bytes]:
        yield json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for resource in iter_snapshot(factory, builders, settings):
            yield json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    response = Response(stream_with_context(lines()), mimetype="application/x-ndjson")
    response.headers["X-High-Water-Seq"] = str(high)
    return response


@bp.get("/api/sync/status")
@allow_signed(Role.ADMIN, clients=[ClientKind.HUB])
def api_status():  # type: ignore[no-untyped-def]
    """The station's sync state, for the hub (signed) or a logged-in admin."""
    refused = _authenticate(staff_ok=True)
    if refused is not None:
        return refused
    info = service.status(current_app, db.session)
    db.session.commit()
    return jsonify(info)
