"""Station-side HTTP client of the hub, using only the standard library.

Exceptions::

    SyncError
    ├── HubUnavailable        connection refused/reset, timeout, 5xx or 429: retry later
    ├── BatchRejected         4xx the station cannot fix by retrying (``status``, ``code``)
    │   └── InvalidRecords    422: ``invalid`` lists the refused records by seq
    ├── GapDetected           409 "gap": ``expected_seq`` is the seq the hub wants next
    └── StationRefused        the hub refuses this station (``code``)
        └── AuthenticationFailed   401/403: bad key, signature, clock skew or replay
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

from station.sync.protocol import (
    STATION_ID_RE,
    Ack,
    Batch,
    Clock,
    HubCursor,
    InvalidRecord,
    sign_request,
    utc_now,
)


class SyncError(Exception):
    """Base class of sync client errors."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class HubUnavailable(SyncError):
    """The hub could not be reached or failed transiently; the request may be retried."""


class BatchRejected(SyncError):
    """The hub rejected the request for a reason retrying will not fix."""


class InvalidRecords(BatchRejected):
    """The hub refused named records of the batch (HTTP 422); nothing was applied."""

    def __init__(self, message: str, invalid: list[InvalidRecord]) -> None:
        super().__init__(message, status=422, code="invalid_records")
        self.invalid = invalid


class GapDetected(SyncError):
    """The batch does not start where the hub expects (HTTP 409 "gap")."""

    def __init__(self, message: str, expected_seq: int) -> None:
        super().__init__(message, status=409, code="gap")
        self.expected_seq = expected_seq


class StationRefused(SyncError):
    """The hub refuses this station, e.g. a restored backup (HTTP 409 "restored_backup")."""


class AuthenticationFailed(StationRefused):
    """The hub refused the request signature (HTTP 401/403)."""


class HubClient(Protocol):
    """What the pusher needs from a hub connection."""

    station_id: str

    def push_batch(self, batch: Batch) -> Ack:
        """Send one batch and return the hub's acknowledgement."""
        ...

    def get_cursor(self) -> HubCursor:
        """Return what the hub holds for this station."""
        ...


@dataclass
class _Response:
    """A raw HTTP response."""

    status: int
    body: Any
    replayed: bool = False


class HttpHubClient:
    """Talk to the hub over HTTP(S) with HMAC-signed requests (one connection per request)."""

    def __init__(self, base_url: str, station_id: str, key_id: str, secret: str | bytes,
                 timeout: float = 30.0, clock: Clock = utc_now) -> None:
        if not STATION_ID_RE.match(station_id):
            raise ValueError(f"invalid station id: {station_id!r}")
        url = urllib.parse.urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"invalid hub URL: {base_url!r}")
        self._url = url
        self._prefix = url.path.rstrip("/")
        self.station_id = station_id
        self.key_id = key_id
        self._secret = secret
        self.timeout = timeout
        self.clock = clock

    def push_batch(self, batch: Batch) -> Ack:
        """POST one batch; return the ack or raise a SyncError subclass."""
        headers = {
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
            "Idempotency-Key": batch.key,
        }
        resp = self._request("POST", f"/stations/{self.station_id}/batches", batch.body, headers)
        try:
            ack = Ack.from_dict(resp.body)
        except (KeyError, TypeError, ValueError):
            raise HubUnavailable("phản hồi xác nhận của máy chủ không hợp lệ", status=resp.status) from None
        if resp.replayed and not ack.duplicate:
            ack = Ack(ack.batch_key, ack.acked_to, ack.applied, duplicate=True)
        return ack

    def get_cursor(self) -> HubCursor:
        """GET the hub's cursor for this station."""
        resp = self._request("GET", f"/stations/{self.station_id}/cursor", b"", {})
        try:
            b = resp.body
            return HubCursor(str(b["station_id"]), int(b["acked_seq"]), b.get("db_identity"))
        except (KeyError, TypeError, ValueError):
            raise HubUnavailable("phản hồi con trỏ của máy chủ không hợp lệ", status=resp.status) from None

    def _request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> _Response:
        """Sign and send one request; map failures onto the exception tree."""
        full_path = self._prefix + path
        headers = {**headers, **sign_request(method, full_path, "", body, key_id=self.key_id,
                                              secret=self._secret, clock=self.clock)}
        headers["Content-Length"] = str(len(body))
        headers["Accept"] = "application/json"
        conn_cls = http.client.HTTPSConnection if self._url.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(self._url.hostname or "", self._url.port, timeout=self.timeout)
        try:
            conn.request(method, full_path, body=body, headers=headers)
            raw = conn.getresponse()
            status, data = raw.status, raw.read()
            replayed = raw.getheader("Idempotent-Replayed", "").lower() == "true"
        except (OSError, socket.timeout, http.client.HTTPException) as exc:
            raise HubUnavailable(f"không kết nối được máy chủ tổng hợp: {exc!r}") from exc
        finally:
            conn.close()
        try:
            parsed: Any = json.loads(data) if data else {}
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        if 200 <= status < 300:
            return _Response(status, parsed, replayed)
        raise _error_for(status, parsed)


def _error_for(status: int, body: dict[str, Any]) -> SyncError:
    """Return the exception matching an error response."""
    code = body.get("code") if isinstance(body.get("code"), str) else None
    message = str(body.get("message") or f"máy chủ trả lỗi HTTP {status}")
    if status >= 500 or status == 429:
        return HubUnavailable(message, status=status, code=code)
    if status in (401, 403):
        return AuthenticationFailed(message, status=status, code=code)
    if status == 409 and code == "gap":
        try:
            return GapDetected(message, int(body["expected_seq"]))
        except (KeyError, TypeError, ValueError):
            return BatchRejected(message, status=status, code=code)
    if status == 409:
        return StationRefused(message, status=status, code=code)
    if status == 422:
        invalid: list[InvalidRecord] = []
        for item in body.get("invalid") or []:
            try:
                invalid.append(InvalidRecord(int(item["seq"]), str(item.get("code", "invalid")),
                                             str(item.get("message", ""))))
            except (KeyError, TypeError, ValueError):
                continue
        return InvalidRecords(message, invalid)
    return BatchRejected(message, status=status, code=code)
