"""Reference hub receiver: verifies signed batches and applies them idempotently to SQLite.

Status codes of ``POST /stations/<id>/batches`` (bodies are JSON ``{"code", "message", ...}``):

* 200 ack ``{"batch_key", "acked_to", "applied", "duplicate"}``; a re-sent batch that was
  already applied gets the stored ack again, with header ``Idempotent-Replayed: true``.
* 400 ``malformed_batch`` / ``station_mismatch`` / ``bad_idempotency_key``.
* 401 signature failures (``code`` from ``SignatureError``); 403 ``key_station_mismatch``.
* 409 ``gap`` with ``expected_seq``; 409 ``restored_backup`` when the db identity differs from
  the registered one, or a batch overlaps already-acknowledged seqs with different content.
  Only ``POST /stations/<id>/rebaseline`` (admin bearer token) lifts it.
* 422 ``invalid_records`` with ``invalid: [{seq, code, message}]``; nothing was applied.
* 500 only from injected faults or bugs; the station retries.

Fault injection (tests only, off by default): ``Faults`` passed to ``create_app`` or set through
``POST /_test/faults`` when ``enable_test_hooks`` is on.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from station.sync.protocol import (
    DEFAULT_WINDOW,
    STATION_ID_RE,
    Ack,
    Batch,
    BatchFormatError,
    Clock,
    HubCursor,
    NonceStore,
    SignatureError,
    Verifier,
    decode_batch,
    utc_now,
    validate_change,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS stations (
    station_id     TEXT PRIMARY KEY,
    secret         TEXT NOT NULL,
    db_identity    TEXT,                       -- NULL: adopt the first identity seen
    acked_seq      INTEGER NOT NULL DEFAULT 0,
    rebaselined_at TEXT
);
CREATE TABLE IF NOT EXISTS changes (
    id          INTEGER PRIMARY KEY,
    station_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    payload     TEXT,
    changed_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (station_id, seq)
);
CREATE TABLE IF NOT EXISTS changes_archive (
    station_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    payload     TEXT,
    changed_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    db_identity TEXT,
    archived_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    station_id  TEXT NOT NULL,
    batch_key   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    from_seq    INTEGER NOT NULL,
    to_seq      INTEGER NOT NULL,
    ack         TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, batch_key)
);
CREATE TABLE IF NOT EXISTS nonces (
    key_id     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
"""


class HubError(Exception):
    """A refusal with an HTTP status, a stable code and a Vietnamese message."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error body."""
        return {"code": self.code, "message": str(self), **self.extra}


@dataclass
class Applied:
    """Result of applying one batch."""

    ack: Ack
    replayed: bool


class HubStore:
    """The hub's SQLite database (stdlib sqlite3, one connection per operation)."""

    def __init__(self, path: str, *, clock: Clock = utc_now) -> None:
        self.path = path
        self.clock = clock
        self._write_lock = threading.Lock()
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """Yield a fresh autocommit-mode connection and close it afterwards."""
        with closing(sqlite3.connect(self.path, isolation_level=None, timeout=5.0)) as conn:
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside one BEGIN IMMEDIATE transaction (commit or roll back)."""
        with self._write_lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def register_station(self, station_id: str, secret: str, db_identity: str | None = None) -> None:
        """Create a station or replace its secret (identity and cursor are kept)."""
        if not STATION_ID_RE.match(station_id):
            raise ValueError(f"invalid station id: {station_id!r}")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO stations (station_id, secret, db_identity) VALUES (?, ?, ?)"
                " ON CONFLICT (station_id) DO UPDATE SET secret = excluded.secret",
                (station_id, secret, db_identity))

    def secret_for(self, key_id: str) -> str | None:
        """Return the secret of *key_id* (the reference hub uses the station id as key id)."""
        with self._connect() as conn:
            row = conn.execute("SELECT secret FROM stations WHERE station_id = ?", (key_id,)).fetchone()
        return row[0] if row else None

    def cursor(self, station_id: str) -> HubCursor:
        """Return the station's acked seq and registered identity."""
        with self._connect() as conn:
            row = conn.execute("SELECT acked_seq, db_identity FROM stations WHERE station_id = ?",
                               (station_id,)).fetchone()
        if row is None:
            raise HubError(404, "unknown_station", "trạm không được đăng ký")
        return HubCursor(station_id, row[0], row[1])

    def apply_batch(self, station_id: str, batch: Batch) -> Applied:
        """Apply *batch* in one transaction, idempotently; raise HubError on refusal."""
        h = batch.header
        now = self.clock().isoformat()
        with self._write() as conn:
            row = conn.execute("SELECT db_identity, acked_seq FROM stations WHERE station_id = ?",
                               (station_id,)).fetchone()
            if row is None:
                raise HubError(404, "unknown_station", "trạm không được đăng ký")
            identity, acked = row
            if identity is None:
                conn.execute("UPDATE stations SET db_identity = ? WHERE station_id = ?",
                             (h.db_identity, station_id))
            elif identity != h.db_identity:
                raise HubError(409, "restored_backup",
                               "định danh cơ sở dữ liệu của trạm đã thay đổi (khôi phục từ bản sao lưu?);"
                               " cần quản trị viên đặt lại mốc đồng bộ", reason="db_identity",
                               acked_seq=acked)
            seen = conn.execute("SELECT sha256, ack FROM inbox WHERE station_id = ? AND batch_key = ?",
                                (station_id, batch.key)).fetchone()
            if seen is not None:
                if seen[0] == h.sha256:
                    return Applied(Ack.from_dict(json.loads(seen[1])), replayed=True)
                raise HubError(409, "restored_backup",
                               "lô đã nhận với cùng khoá nhưng nội dung khác", reason="content_differs",
                               acked_seq=acked)
            if h.from_seq > acked + 1:
                raise HubError(409, "gap", f"thiếu dữ liệu: máy chủ chờ seq {acked + 1}",
                               expected_seq=acked + 1)
            overlap = [c for c in batch.changes if c.seq <= acked]
            if overlap:
                stored = {r[0]: r[1:] for r in conn.execute(
                    "SELECT seq, entity, entity_id, op, version, payload FROM changes"
                    " WHERE station_id = ? AND seq BETWEEN ? AND ?",
                    (station_id, overlap[0].seq, overlap[-1].seq))}
                for c in overlap:
                    s = stored.get(c.seq)
                    if s is None or s[:4] != (c.entity, c.entity_id, c.op, c.version) or (
                            (json.loads(s[4]) if s[4] is not None else None) != c.payload):
                        raise HubError(409, "restored_backup",
                                       f"seq {c.seq} đã được xác nhận với nội dung khác"
                                       " (trạm khôi phục từ bản sao lưu?)", reason="content_differs",
                                       acked_seq=acked)
            fresh = [c for c in batch.changes if c.seq > acked]
            invalid = [r for r in map(validate_change, fresh) if r is not None]
            if invalid:
                raise HubError(422, "invalid_records", f"{len(invalid)} bản ghi không hợp lệ",
                               invalid=[asdict(r) for r in invalid])
            conn.executemany(
                "INSERT INTO changes (station_id, seq, entity, entity_id, op, version, payload,"
                " changed_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(station_id, c.seq, c.entity, c.entity_id, c.op, c.version,
                  None if c.payload is None else json.dumps(c.payload, ensure_ascii=False,
                                                            separators=(",", ":")),
                  c.changed_at, now) for c in fresh])
            new_acked = max(acked, h.to_seq)
            conn.execute("UPDATE stations SET acked_seq = ? WHERE station_id = ?", (new_acked, station_id))
            ack = Ack(batch.key, new_acked, len(fresh), duplicate=not fresh and bool(overlap))
            conn.execute("INSERT INTO inbox VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (station_id, batch.key, h.sha256, h.from_seq, h.to_seq,
                          json.dumps(ack.to_dict()), now))
            return Applied(ack, replayed=False)

    def rebaseline(self, station_id: str, db_identity: str | None, acked_seq: int) -> dict[str, Any]:
        """Accept a new db identity and move the cursor back to *acked_seq*, archiving later rows."""
        now = self.clock().isoformat()
        with self._write() as conn:
            row = conn.execute("SELECT db_identity, acked_seq FROM stations WHERE station_id = ?",
                               (station_id,)).fetchone()
            if row is None:
                raise HubError(404, "unknown_station", "trạm không được đăng ký")
            if not 0 <= acked_seq <= row[1]:
                raise HubError(400, "bad_rebaseline",
                               f"acked_seq phải nằm trong 0..{row[1]} (mốc máy chủ đang giữ)")
            conn.execute(
                "INSERT INTO changes_archive SELECT station_id, seq, entity, entity_id, op, version,"
                " payload, changed_at, received_at, ?, ? FROM changes WHERE station_id = ? AND seq > ?",
                (row[0], now, station_id, acked_seq))
            archived = conn.execute("DELETE FROM changes WHERE station_id = ? AND seq > ?",
                                    (station_id, acked_seq)).rowcount
            conn.execute("DELETE FROM inbox WHERE station_id = ? AND to_seq > ?", (station_id, acked_seq))
            conn.execute("UPDATE stations SET db_identity = ?, acked_seq = ?, rebaselined_at = ?"
                         " WHERE station_id = ?", (db_identity, acked_seq, now, station_id))
        return {"station_id": station_id, "db_identity": db_identity, "acked_seq": acked_seq,
                "archived": archived}

    def station_seqs(self, station_id: str) -> list[int]:
        """Return the station's stored seqs in arrival order (tests and audits)."""
        with self._connect() as conn:
            return [r[0] for r in conn.execute(
                "SELECT seq FROM changes WHERE station_id = ? ORDER BY id", (station_id,))]

    def station_changes(self, station_id: str) -> list[dict[str, Any]]:
        """Return the station's stored changes in seq order."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT seq, entity, entity_id, op, version, payload FROM changes"
                " WHERE station_id = ? ORDER BY seq", (station_id,)).fetchall()
        return [{"seq": r[0], "entity": r[1], "entity_id": r[2], "op": r[3], "version": r[4],
                 "payload": None if r[5] is None else json.loads(r[5])} for r in rows]


class SqliteNonceStore:
    """A NonceStore kept in the hub database, for hubs running several processes."""

    def __init__(self, path: str) -> None:
        self.path = path

    def check_and_store(self, key_id: str, nonce: str, expires_at: datetime, now: datetime) -> bool:
        """Record the nonce and return True, or return False if it is a replay."""
        with closing(sqlite3.connect(self.path, isolation_level=None, timeout=5.0)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM nonces WHERE expires_at <= ?", (now.timestamp(),))
            inserted = conn.execute("INSERT OR IGNORE INTO nonces VALUES (?, ?, ?)",
                                    (key_id, nonce, expires_at.timestamp())).rowcount
            conn.execute("COMMIT")
        return inserted == 1


@dataclass
class Faults:
    """Test-only fault injection; batch numbers count signed batch POSTs from 1."""

    fail_batches: set[int] = field(default_factory=set)
    drop_after_commit: set[int] = field(default_factory=set)
    sleep_seconds: float = 0.0
    sleep_batches: set[int] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """Build faults from JSON."""
        sb = data.get("sleep_batches")
        return cls(set(data.get("fail_batches", ())), set(data.get("drop_after_commit", ())),
                   float(data.get("sleep_seconds", 0.0)), None if sb is None else set(sb))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"fail_batches": sorted(self.fail_batches), "drop_after_commit": sorted(self.drop_after_commit),
                "sleep_seconds": self.sleep_seconds,
                "sleep_batches": None if self.sleep_batches is None else sorted(self.sleep_batches)}


@dataclass
class HubState:
    """Everything the hub's views need."""

    store: HubStore
    verifier: Verifier
    faults: Faults
    admin_token: str | None
    batch_count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_batch_number(self) -> int:
        """Count one batch request and return its number."""
        with self.lock:
            self.batch_count += 1
            return self.batch_count


def create_app(store: HubStore, *, window: timedelta = DEFAULT_WINDOW, clock: Clock = utc_now,
               admin_token: str | None = None, faults: Faults | None = None,
               enable_test_hooks: bool = False, nonces: NonceStore | None = None) -> Flask:
    """Build the hub WSGI application."""
    app = Flask("hub")
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    state = HubState(store, Verifier(store.secret_for, window=window, clock=clock, nonces=nonces),
                     faults or Faults(), admin_token)
    app.extensions["hub"] = state

    @app.errorhandler(HubError)
    def hub_error(exc: HubError) -> tuple[Response, int]:
        return jsonify(exc.to_dict()), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify({"code": exc.name.lower().replace(" ", "_"), "message": exc.description}), exc.code or 500

    def authenticate(station_id: str) -> bytes:
        """Verify the signature and return the request body."""
        body = request.get_data(cache=True)
        try:
            verified = state.verifier.verify(request.method, request.script_root + request.path,
                                             request.query_string.decode("latin-1"), request.headers, body)
        except SignatureError as exc:
            raise HubError(401, exc.code, str(exc)) from None
        if verified.key_id != station_id:
            raise HubError(403, "key_station_mismatch", "khoá ký không thuộc trạm này")
        return body

    @app.post("/stations/<station_id>/batches")
    def post_batch(station_id: str) -> Response:
        body = authenticate(station_id)
        n = state.next_batch_number()
        f = state.faults
        if f.sleep_seconds and (f.sleep_batches is None or n in f.sleep_batches):
            time.sleep(f.sleep_seconds)
        if n in f.fail_batches:
            raise HubError(500, "injected_failure", "lỗi giả lập của máy chủ")
        try:
            batch = decode_batch(body)
        except BatchFormatError as exc:
            raise HubError(400, "malformed_batch", f"lô dữ liệu hỏng: {exc}") from None
        if batch.header.station_id != station_id:
            raise HubError(400, "station_mismatch", "mã trạm trong lô khác mã trạm trên đường dẫn")
        if request.headers.get("Idempotency-Key", batch.key) != batch.key:
            raise HubError(400, "bad_idempotency_key", f"Idempotency-Key phải là {batch.key}")
        applied = state.store.apply_batch(station_id, batch)
        if n in f.drop_after_commit:
            _drop_connection()
        resp = jsonify(applied.ack.to_dict())
        if applied.replayed:
            resp.headers["Idempotent-Replayed"] = "true"
        return resp

    @app.get("/stations/<station_id>/cursor")
    def get_cursor(station_id: str) -> Response:
        authenticate(station_id)
        c = state.store.cursor(station_id)
        return jsonify({"station_id": c.station_id, "acked_seq": c.acked_seq, "db_identity": c.db_identity})

    @app.post("/stations/<station_id>/rebaseline")
    def rebaseline(station_id: str) -> Response:
        if not state.admin_token or request.headers.get("Authorization") != f"Bearer {state.admin_token}":
            raise HubError(403, "admin_required", "cần quyền quản trị máy chủ tổng hợp")
        data = request.get_json(silent=True) or {}
        acked = data.get("acked_seq")
        identity = data.get("db_identity")
        if not isinstance(acked, int) or isinstance(acked, bool) or not (identity is None or isinstance(identity, str)):
            raise HubError(400, "bad_rebaseline", "cần acked_seq (số nguyên) và db_identity (chuỗi hoặc null)")
        return jsonify(state.store.rebaseline(station_id, identity, acked))

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"ok": True})

    if enable_test_hooks:
        @app.route("/_test/faults", methods=["GET", "POST"])
        def test_faults() -> Response:
            if request.method == "POST":
                state.faults = Faults.from_dict(request.get_json(force=True))
            return jsonify({"faults": state.faults.to_dict(), "batch_count": state.batch_count})

    return app


def _drop_connection() -> None:
    """Close the client connection without a response (werkzeug), else fail with 500 (waitress)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        sock.shutdown(socket.SHUT_RDWR)
        return
    raise HubError(500, "injected_drop", "mất kết nối giả lập sau khi ghi")


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip per-request access logging."""


@dataclass
class RunningServer:
    """A hub served from a background thread (tests, bench)."""

    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve *app* with werkzeug's threaded server in a daemon thread and return it."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="hub-server", daemon=True)
    thread.start()
    return RunningServer(server, thread)
