"""Wire format and request signing (RFC 9421 structure, HMAC-SHA256)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.app import HubStore, SqliteNonceStore
from station.sync.protocol import (
    BatchFormatError,
    Change,
    MemoryNonceStore,
    NonceStore,
    SignatureError,
    Verifier,
    decode_batch,
    idempotency_key,
    make_batch,
    sign_request,
    validate_change,
)
from tests.sync.conftest import make_changes

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
PATH = "/stations/tram-01/batches"


def at(t: datetime):  # noqa: ANN201 - tiny clock factory
    """Return a clock frozen at *t*."""
    return lambda: t


def signed(body: bytes = b"abc", *, clock_at: datetime = T0, secret: str = "k", nonce: str | None = None,
           ) -> dict[str, str]:
    """Return signature headers for a POST to PATH."""
    return sign_request("POST", PATH, "", body, key_id="tram-01", secret=secret, clock=at(clock_at),
                        nonce=nonce)


def verifier(now: datetime = T0, window_s: float = 300, nonces: NonceStore | None = None) -> Verifier:
    """Return a verifier that knows the test key and sees *now*."""
    return Verifier({"tram-01": "k"}, window=timedelta(seconds=window_s), clock=at(now), nonces=nonces)


def test_batch_round_trip_is_deterministic_gzip_ndjson() -> None:
    changes = make_changes(5, start=11)
    batch = make_batch("tram-01", "db-A", 10, changes)
    assert batch.body == make_batch("tram-01", "db-A", 10, changes).body
    raw = gzip.decompress(batch.body).split(b"\n")
    header = json.loads(raw[0])
    assert header["from_seq"] == 11 and header["to_seq"] == 15 and header["count"] == 5
    assert header["acked_seq"] == 10 and len(header["sha256"]) == 64
    decoded = decode_batch(batch.body)
    assert decoded.changes == tuple(changes) and decoded.header == batch.header
    assert batch.key == idempotency_key("tram-01", 11, 15) == "tram-01:11-15"


def _regzip(batch_body: bytes, edit) -> bytes:  # noqa: ANN001
    """Return the batch with its uncompressed text edited."""
    return gzip.compress(edit(gzip.decompress(batch_body)))


@pytest.mark.parametrize("edit, fragment", [
    (lambda raw: raw.replace(b"Nguy", b"Ngoy", 1), "sha256"),
    (lambda raw: raw.split(b"\n", 1)[1], "header"),
    (lambda raw: raw.replace(b'"count":3', b'"count":4'), "count"),
    (lambda raw: raw.replace(b'"from_seq":1', b'"from_seq":2'), "from_seq"),
])
def test_decode_rejects_inconsistent_batches(edit, fragment: str) -> None:  # noqa: ANN001
    body = make_batch("tram-01", "db-A", 0, make_changes(3)).body
    with pytest.raises(BatchFormatError, match=fragment):
        decode_batch(_regzip(body, edit))


def test_decode_rejects_non_gzip_truncated_and_oversized() -> None:
    body = make_batch("tram-01", "db-A", 0, make_changes(50)).body
    for bad in (b"not gzip", body[:-10], body + b"junk"):
        with pytest.raises(BatchFormatError):
            decode_batch(bad)
    with pytest.raises(BatchFormatError, match="too large"):
        decode_batch(body, max_uncompressed=1000)


def test_validate_change_minimal_rules() -> None:
    good = make_changes(1)[0]
    assert validate_change(good) is None
    assert validate_change(Change(2, "Patient", good.entity_id, "delete", 2, None, "x")) is None
    no_type = Change(3, "Patient", good.entity_id, "upsert", 1, {"id": "x"}, "x")
    bad_id = Change(4, "Patient", "không-phải-uuid", "upsert", 1, {"resourceType": "Patient"}, "x")
    bad_op = Change(5, "Patient", good.entity_id, "merge", 1, None, "x")
    assert [validate_change(c).code for c in (no_type, bad_id, bad_op)] == [  # type: ignore[union-attr]
        "missing_resource_type", "bad_entity_id", "bad_op"]


def test_signature_verifies_and_covers_the_components() -> None:
    headers = signed(b"abc")
    assert headers["Content-Digest"].startswith("sha-256=:")
    assert '("@method" "@path" "@query" "content-digest");created=' in headers["Signature-Input"]
    result = verifier().verify("POST", PATH, "", headers, b"abc")
    assert result.key_id == "tram-01" and result.created == T0


@pytest.mark.parametrize("method, path, query, code", [
    ("PUT", PATH, "", "bad_signature"),
    ("POST", "/stations/tram-02/batches", "", "bad_signature"),
    ("POST", PATH, "x=1", "bad_signature"),
])
def test_changing_a_covered_component_breaks_the_signature(method: str, path: str, query: str,
                                                           code: str) -> None:
    with pytest.raises(SignatureError) as err:
        verifier().verify(method, path, query, signed(b"abc"), b"abc")
    assert err.value.code == code


def test_tampered_body_is_a_digest_mismatch() -> None:
    with pytest.raises(SignatureError) as err:
        verifier().verify("POST", PATH, "", signed(b"abc"), b"abd")
    assert err.value.code == "digest_mismatch"


def test_tampered_digest_header_breaks_the_signature() -> None:
    headers = signed(b"abc")
    headers["Content-Digest"] = signed(b"abd")["Content-Digest"]
    with pytest.raises(SignatureError) as err:
        verifier().verify("POST", PATH, "", headers, b"abd")
    assert err.value.code == "bad_signature"


def test_wrong_secret_unknown_key_missing_and_malformed_headers() -> None:
    cases = [
        (signed(secret="other"), "bad_signature"),
        ({k: v.replace('keyid="tram-01"', 'keyid="ghost"') for k, v in signed().items()}, "unknown_key"),
        ({"Content-Digest": signed()["Content-Digest"]}, "missing_signature"),
        ({**signed(), "Signature": "sig1=not-base64"}, "malformed_signature"),
        ({**signed(), "Signature-Input": 'sig1=("@method");created=1;nonce="n";keyid="tram-01"'},
         "malformed_signature"),
    ]
    for headers, code in cases:
        with pytest.raises(SignatureError) as err:
            verifier().verify("POST", PATH, "", headers, b"abc")
        assert err.value.code == code


def test_replayed_request_is_refused() -> None:
    v = verifier()
    headers = signed(b"abc")
    v.verify("POST", PATH, "", headers, b"abc")
    with pytest.raises(SignatureError) as err:
        v.verify("POST", PATH, "", headers, b"abc")
    assert err.value.code == "replayed_nonce"


def test_bad_signature_does_not_consume_the_nonce() -> None:
    v = verifier()
    forged = signed(b"abc", secret="other", nonce="n-1")
    with pytest.raises(SignatureError):
        v.verify("POST", PATH, "", forged, b"abc")
    v.verify("POST", PATH, "", signed(b"abc", nonce="n-1"), b"abc")


@pytest.mark.parametrize("skew", [timedelta(minutes=10), timedelta(minutes=-10)])
def test_clock_skew_of_ten_minutes(skew: timedelta) -> None:
    headers = signed(b"abc", clock_at=T0 + skew)
    with pytest.raises(SignatureError) as err:
        verifier(window_s=300).verify("POST", PATH, "", headers, b"abc")
    assert err.value.code == "stale_timestamp"
    assert verifier(window_s=900).verify("POST", PATH, "", headers, b"abc").key_id == "tram-01"
    inside = signed(b"abc", clock_at=T0 + skew / 2.5)  # 4 minutes: inside the default window
    assert verifier().verify("POST", PATH, "", inside, b"abc").key_id == "tram-01"


def test_memory_nonce_store_expires_and_stays_bounded_without_reopening_replays() -> None:
    s = MemoryNonceStore(max_entries=3)
    exp = T0 + timedelta(seconds=300)
    assert s.check_and_store("k", "a", exp, T0) and not s.check_and_store("k", "a", exp, T0)
    assert s.check_and_store("k", "a", exp + timedelta(seconds=400), exp)  # "a" expired meanwhile
    for i, n in enumerate("bcd"):
        assert s.check_and_store("k", n, exp + timedelta(seconds=401 + i), exp)
    assert len(s) == 3
    # "a" (second use) was evicted unexpired: replaying it must still fail (horizon).
    assert not s.check_and_store("k", "a", exp + timedelta(seconds=400), exp)
    assert s.check_and_store("k", "e", exp + timedelta(seconds=500), exp)


def test_sqlite_nonce_store_detects_replays_across_instances(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.sqlite")
    HubStore(db)
    headers = signed(b"abc")
    verifier(nonces=SqliteNonceStore(db)).verify("POST", PATH, "", headers, b"abc")
    with pytest.raises(SignatureError, match="phát lại"):
        verifier(nonces=SqliteNonceStore(db)).verify("POST", PATH, "", headers, b"abc")
