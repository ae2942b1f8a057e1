"""Wire format shared by the station and the hub: changes, batches, acks and request signing.

Batch body (``Content-Type: application/x-ndjson``, ``Content-Encoding: gzip``)::

    gzip( header-line "\\n" change-line "\\n" change-line "\\n" ... )

The first line is the header object ``{"station_id", "db_identity", "from_seq", "to_seq",
"count", "acked_seq", "sha256"}``; ``sha256`` is the hex digest of the uncompressed bytes that
follow the header line (the change lines, each ending in ``\\n``). A batch *covers* the range
``from_seq..to_seq`` (``from_seq == acked_seq + 1``); rows of that range the station set aside
are simply absent, so ``count`` may be smaller than the range.

Request signing follows the structure of RFC 9421 (HTTP Message Signatures) with HMAC-SHA256::

    Content-Digest: sha-256=:<base64 sha-256 of the body>:
    Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=<unix>;nonce="<n>";keyid="<id>";alg="hmac-sha256"
    Signature: sig1=:<base64 hmac>:

Exceptions::

    ProtocolError
    ├── BatchFormatError      the body is not a well-formed batch (gzip, JSON, counts, sha256)
    └── SignatureError        the request signature does not verify (``code`` says why)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import heapq
import json
import re
import secrets
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

Clock = Callable[[], datetime]

SIGNATURE_LABEL = "sig1"
SIGNATURE_ALG = "hmac-sha256"
COVERED_COMPONENTS: tuple[str, ...] = ("@method", "@path", "@query", "content-digest")
DEFAULT_WINDOW = timedelta(seconds=300)
MAX_UNCOMPRESSED = 64 * 1024 * 1024
STATION_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
OPS = frozenset({"upsert", "delete"})


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class ProtocolError(Exception):
    """Base class of wire-format errors."""


class BatchFormatError(ProtocolError):
    """The batch body is malformed (gzip, JSON, header, counts or checksum)."""


class SignatureError(ProtocolError):
    """A request signature failed verification; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- changes and batches


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the station's change log, as sent on the wire."""

    seq: int
    entity: str
    entity_id: str
    op: str
    version: int
    payload: dict[str, Any] | None
    changed_at: str

    def to_dict(self) -> dict[str, Any]:
        """Return the wire representation."""
        return {
            "seq": self.seq,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "op": self.op,
            "version": self.version,
            "payload": self.payload,
            "changed_at": self.changed_at,
        }

    def to_line(self) -> bytes:
        """Return the change as one compact NDJSON line ending in a newline."""
        return _dumps(self.to_dict()) + b"\n"

    @classmethod
    def from_dict(cls, data: Any) -> Change:
        """Build a change from its wire form; raise BatchFormatError if fields are missing or mistyped."""
        if not isinstance(data, dict):
            raise BatchFormatError("change line is not a JSON object")
        seq, version = data.get("seq"), data.get("version")
        if not _is_int(seq) or not _is_int(version):
            raise BatchFormatError("change seq/version must be integers")
        strings = [data.get(k) for k in ("entity", "entity_id", "op", "changed_at")]
        if not all(isinstance(s, str) for s in strings):
            raise BatchFormatError(f"change {seq}: entity, entity_id, op, changed_at must be strings")
        payload = data.get("payload")
        if payload is not None and not isinstance(payload, dict):
            raise BatchFormatError(f"change {seq}: payload must be an object or null")
        return cls(seq, data["entity"], data["entity_id"], data["op"], version, payload, data["changed_at"])


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A change the hub refused to apply, named by seq (HTTP 422)."""

    seq: int
    code: str
    message: str


def validate_change(change: Change) -> InvalidRecord | None:
    """Return why the hub's minimal validation refuses *change*, or None if it is acceptable."""
    if change.op not in OPS:
        return InvalidRecord(change.seq, "bad_op", f"op không hợp lệ: {change.op!r}")
    if not change.entity:
        return InvalidRecord(change.seq, "missing_entity", "thiếu tên thực thể (entity)")
    try:
        uuid.UUID(change.entity_id)
    except ValueError:
        return InvalidRecord(change.seq, "bad_entity_id", f"entity_id không phải UUID: {change.entity_id!r}")
    if change.op == "upsert":
        rtype = change.payload.get("resourceType") if change.payload is not None else None
        if not isinstance(rtype, str) or not rtype:
            return InvalidRecord(change.seq, "missing_resource_type", "payload thiếu resourceType")
    return None


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """First NDJSON line of a batch."""

    station_id: str
    db_identity: str
    from_seq: int
    to_seq: int
    count: int
    acked_seq: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """Return the wire representation."""
        return {
            "station_id": self.station_id,
            "db_identity": self.db_identity,
            "from_seq": self.from_seq,
            "to_seq": self.to_seq,
            "count": self.count,
            "acked_seq": self.acked_seq,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """A decoded or ready-to-send batch: header, changes and the gzip body sent on the wire."""

    header: BatchHeader
    changes: tuple[Change, ...]
    body: bytes = field(repr=False)

    @property
    def key(self) -> str:
        """Return the idempotency key of this batch."""
        return idempotency_key(self.header.station_id, self.header.from_seq, self.header.to_seq)


def idempotency_key(station_id: str, from_seq: int, to_seq: int) -> str:
    """Return the batch idempotency key ``station_id:from_seq-to_seq``."""
    return f"{station_id}:{from_seq}-{to_seq}"


def make_batch(
    station_id: str,
    db_identity: str,
    acked_seq: int,
    changes: Sequence[Change],
    *,
    lines: Sequence[bytes] | None = None,
    to_seq: int | None = None,
    compresslevel: int = 1,
) -> Batch:
    """Encode *changes* (seq ascending, all > acked_seq) as a gzip NDJSON batch.

    *lines* may carry the changes' already-encoded NDJSON lines (``Change.to_line``) to avoid
    encoding twice; *to_seq* defaults to the last change's seq.
    """
    if not changes and to_seq is None:
        raise ValueError("an empty batch needs an explicit to_seq")
    body_lines = list(lines) if lines is not None else [c.to_line() for c in changes]
    body = b"".join(body_lines)
    header = BatchHeader(
        station_id=station_id,
        db_identity=db_identity,
        from_seq=acked_seq + 1,
        to_seq=to_seq if to_seq is not None else changes[-1].seq,
        count=len(changes),
        acked_seq=acked_seq,
        sha256=hashlib.sha256(body).hexdigest(),
    )
    raw = _dumps(header.to_dict()) + b"\n" + body
    # mtime=0 keeps the encoding deterministic, so a re-sent batch is byte-identical.
    return Batch(header, tuple(changes), _gzip(raw, compresslevel))


def decode_batch(data: bytes, *, max_uncompressed: int = MAX_UNCOMPRESSED) -> Batch:
    """Decode a gzip NDJSON batch and check its header against its body; raise BatchFormatError."""
    raw = _gunzip(data, max_uncompressed)
    head, sep, body = raw.partition(b"\n")
    if not sep:
        raise BatchFormatError("batch has no header line")
    try:
        h = json.loads(head)
    except ValueError as exc:
        raise BatchFormatError(f"header is not JSON: {exc}") from None
    if not isinstance(h, dict):
        raise BatchFormatError("header is not a JSON object")
    try:
        header = BatchHeader(
            station_id=_typed(h, "station_id", str),
            db_identity=_typed(h, "db_identity", str),
            from_seq=_typed(h, "from_seq", int),
            to_seq=_typed(h, "to_seq", int),
            count=_typed(h, "count", int),
            acked_seq=_typed(h, "acked_seq", int),
            sha256=_typed(h, "sha256", str),
        )
    except KeyError as exc:
        raise BatchFormatError(f"header field missing or mistyped: {exc.args[0]}") from None
    if hashlib.sha256(body).hexdigest() != header.sha256:
        raise BatchFormatError("sha256 of the body does not match the header")
    if header.from_seq != header.acked_seq + 1 or header.to_seq < header.acked_seq:
        raise BatchFormatError("from_seq must be acked_seq + 1 and to_seq >= acked_seq")
    changes: list[Change] = []
    previous = header.acked_seq
    for line in body.splitlines():
        if not line:
            continue
        try:
            change = Change.from_dict(json.loads(line))
        except ValueError as exc:
            raise BatchFormatError(f"change line is not JSON: {exc}") from None
        if not previous < change.seq <= header.to_seq:
            raise BatchFormatError(f"change seq {change.seq} out of order or outside from_seq..to_seq")
        previous = change.seq
        changes.append(change)
    if len(changes) != header.count:
        raise BatchFormatError(f"header count {header.count} != {len(changes)} changes")
    return Batch(header, tuple(changes), data)


@dataclass(frozen=True, slots=True)
class Ack:
    """The hub's acknowledgement of a batch."""

    batch_key: str
    acked_to: int
    applied: int
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the wire representation."""
        return {"batch_key": self.batch_key, "acked_to": self.acked_to, "applied": self.applied,
                "duplicate": self.duplicate}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ack:
        """Build an ack from its wire form."""
        return cls(str(data["batch_key"]), int(data["acked_to"]), int(data["applied"]),
                   bool(data.get("duplicate", False)))


@dataclass(frozen=True, slots=True)
class HubCursor:
    """What the hub holds for a station: last acknowledged seq and registered database identity."""

    station_id: str
    acked_seq: int
    db_identity: str | None


# --------------------------------------------------------------------------- signing (RFC 9421 style)


def content_digest(body: bytes) -> str:
    """Return the RFC 9530 ``Content-Digest`` value (sha-256) of *body*."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def signature_base(components: Mapping[str, str], covered: Sequence[str], params: str) -> bytes:
    """Return the RFC 9421 signature base for the covered component values and the params string."""
    lines = [f'"{name}": {components[name]}' for name in covered]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


def sign_request(
    method: str,
    path: str,
    query: str,
    body: bytes,
    *,
    key_id: str,
    secret: str | bytes,
    clock: Clock = utc_now,
    nonce: str | None = None,
) -> dict[str, str]:
    """Return the ``Content-Digest``, ``Signature-Input`` and ``Signature`` headers for a request.

    *query* is the raw query string without ``?`` ("" when there is none).
    """
    nonce = nonce or secrets.token_urlsafe(16)
    created = int(clock().timestamp())
    digest = content_digest(body)
    inner = " ".join(f'"{c}"' for c in COVERED_COMPONENTS)
    params = f'({inner});created={created};nonce="{nonce}";keyid="{key_id}";alg="{SIGNATURE_ALG}"'
    components = {"@method": method.upper(), "@path": path, "@query": "?" + query,
                  "content-digest": digest}
    mac = hmac.new(_key_bytes(secret), signature_base(components, COVERED_COMPONENTS, params),
                   hashlib.sha256).digest()
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{SIGNATURE_LABEL}={params}",
        "Signature": f"{SIGNATURE_LABEL}=:{base64.b64encode(mac).decode()}:",
    }


class NonceStore(Protocol):
    """Remembers nonces until they expire; a DB-backed implementation may replace the memory one."""

    def check_and_store(self, key_id: str, nonce: str, expires_at: datetime, now: datetime) -> bool:
        """Record the nonce and return True, or return False if it was already seen (a replay)."""
        ...


class MemoryNonceStore:
    """Bounded in-memory nonce cache with expiry.

    When full of unexpired nonces it evicts the one expiring first and raises a horizon: any
    request expiring at or before an evicted nonce is then refused, so eviction never reopens
    a replay window (it can only refuse some old-but-valid requests under overload).
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._seen: dict[tuple[str, str], datetime] = {}
        self._heap: list[tuple[datetime, str, str]] = []
        self._horizon: datetime | None = None
        self._lock = threading.Lock()

    def check_and_store(self, key_id: str, nonce: str, expires_at: datetime, now: datetime) -> bool:
        """Record the nonce and return True, or return False for a replay (or one behind the horizon)."""
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                exp, k, n = heapq.heappop(self._heap)
                if self._seen.get((k, n)) == exp:
                    del self._seen[(k, n)]
            if (key_id, nonce) in self._seen:
                return False
            if self._horizon is not None and expires_at <= self._horizon:
                return False
            while len(self._seen) >= self.max_entries and self._heap:
                exp, k, n = heapq.heappop(self._heap)
                if self._seen.pop((k, n), None) is not None:
                    self._horizon = exp if self._horizon is None else max(self._horizon, exp)
            self._seen[(key_id, nonce)] = expires_at
            heapq.heappush(self._heap, (expires_at, key_id, nonce))
            return True

    def __len__(self) -> int:
        """Return the number of remembered nonces."""
        return len(self._seen)


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """The authenticated facts of a verified request."""

    key_id: str
    created: datetime
    nonce: str


_SIG_INPUT_RE = re.compile(
    r'^(?P<label>[a-z*][a-z0-9_.*-]*)=(?P<params>\((?P<items>[^()]*)\)'
    r'(?:;[a-z*][a-z0-9_.*-]*=(?:"[^"\\]*"|-?\d{1,15}))*)$'
)
_PARAM_RE = re.compile(r';(?P<name>[a-z*][a-z0-9_.*-]*)=(?:"(?P<s>[^"\\]*)"|(?P<i>-?\d{1,15}))')
_SIG_RE = re.compile(r'^(?P<label>[a-z*][a-z0-9_.*-]*)=:(?P<b64>[A-Za-z0-9+/=]+):$')
_DIGEST_RE = re.compile(r'(?:^|,)\s*sha-256=:(?P<b64>[A-Za-z0-9+/=]+):')


class Verifier:
    """Verify signed requests: signature, body digest, timestamp window and nonce replay."""

    def __init__(
        self,
        keys: Mapping[str, str | bytes] | Callable[[str], str | bytes | None],
        *,
        window: timedelta = DEFAULT_WINDOW,
        clock: Clock = utc_now,
        nonces: NonceStore | None = None,
    ) -> None:
        self._keys = keys
        self.window = window
        self.clock = clock
        self.nonces: NonceStore = nonces if nonces is not None else MemoryNonceStore()

    def _lookup(self, key_id: str) -> str | bytes | None:
        """Return the secret for *key_id*, or None."""
        if callable(self._keys):
            return self._keys(key_id)
        return self._keys.get(key_id)

    def verify(self, method: str, path: str, query: str, headers: Mapping[str, str],
               body: bytes) -> VerifiedRequest:
        """Return the verified request facts or raise SignatureError.

        The nonce is recorded only after the signature verifies, so unsigned traffic cannot
        fill the cache.
        """
        h = {k.lower(): v for k, v in headers.items()}
        sig_input, sig, digest = h.get("signature-input"), h.get("signature"), h.get("content-digest")
        if not sig_input or not sig or not digest:
            raise SignatureError("missing_signature", "thiếu chữ ký yêu cầu (Signature/Signature-Input/Content-Digest)")
        m, s = _SIG_INPUT_RE.match(sig_input.strip()), _SIG_RE.match(sig.strip())
        if m is None or s is None or m["label"] != s["label"]:
            raise SignatureError("malformed_signature", "chữ ký không đúng định dạng")
        covered = re.findall(r'"([^"]*)"', m["items"])
        params = {p["name"]: (p["s"] if p["s"] is not None else int(p["i"]))
                  for p in _PARAM_RE.finditer(m["params"][m["params"].index(")") + 1:])}
        created, nonce, key_id = params.get("created"), params.get("nonce"), params.get("keyid")
        if (set(covered) != set(COVERED_COMPONENTS) or len(covered) != len(COVERED_COMPONENTS)
                or not isinstance(created, int) or not isinstance(nonce, str) or not nonce
                or not isinstance(key_id, str) or params.get("alg", SIGNATURE_ALG) != SIGNATURE_ALG):
            raise SignatureError("malformed_signature", "chữ ký thiếu thành phần bắt buộc")
        secret = self._lookup(key_id)
        if secret is None:
            raise SignatureError("unknown_key", "khoá không được đăng ký")
        components = {"@method": method.upper(), "@path": path, "@query": "?" + query,
                      "content-digest": digest}
        expected = hmac.new(_key_bytes(secret), signature_base(components, covered, m["params"]),
                            hashlib.sha256).digest()
        try:
            given = base64.b64decode(s["b64"], validate=True)
        except ValueError:
            raise SignatureError("malformed_signature", "chữ ký không đúng định dạng") from None
        if not hmac.compare_digest(expected, given):
            raise SignatureError("bad_signature", "chữ ký không hợp lệ")
        d = _DIGEST_RE.search(digest)
        if d is None or not hmac.compare_digest(d["b64"], content_digest(body)[len("sha-256=:"):-1]):
            raise SignatureError("digest_mismatch", "nội dung không khớp Content-Digest")
        now = self.clock()
        created_at = datetime.fromtimestamp(created, UTC)
        if abs(now - created_at) > self.window:
            raise SignatureError("stale_timestamp", "thời điểm ký lệch quá giới hạn cho phép; kiểm tra đồng hồ máy")
        if not self.nonces.check_and_store(key_id, nonce, created_at + self.window, now):
            raise SignatureError("replayed_nonce", "yêu cầu bị phát lại (nonce đã dùng)")
        return VerifiedRequest(key_id, created_at, nonce)


# --------------------------------------------------------------------------- helpers


def _dumps(obj: Any) -> bytes:
    """Encode JSON compactly as UTF-8."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _is_int(value: Any) -> bool:
    """Return True for a real int (not bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _typed(data: Mapping[str, Any], name: str, kind: type) -> Any:
    """Return data[name] if it has type *kind*, else raise KeyError(name)."""
    value = data.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise KeyError(name)
    return value


def _key_bytes(secret: str | bytes) -> bytes:
    """Return the HMAC key bytes."""
    return secret.encode() if isinstance(secret, str) else secret


def _gzip(raw: bytes, level: int) -> bytes:
    """Gzip *raw* with a zero mtime (deterministic output)."""
    comp = zlib.compressobj(level, zlib.DEFLATED, 31)
    return comp.compress(raw) + comp.flush()


def _gunzip(data: bytes, limit: int) -> bytes:
    """Gunzip *data*, refusing more than *limit* bytes of output (gzip bombs)."""
    d = zlib.decompressobj(31)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BatchFormatError(f"body is not gzip: {exc}") from None
    if len(out) > limit:
        raise BatchFormatError("batch too large once decompressed")
    if not d.eof or d.unused_data:
        raise BatchFormatError("gzip stream truncated or followed by garbage")
    return out


def iter_lines(changes: Iterable[Change]) -> list[bytes]:
    """Return the NDJSON lines of *changes*."""
    return [c.to_line() for c in changes]
