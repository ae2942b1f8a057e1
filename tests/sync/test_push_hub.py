"""Pushing through HttpHubClient to the reference hub over real loopback HTTP."""

from __future__ import annotations

import gzip
import http.client
import json
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.app import Faults
from station.sync.backoff import Backoff
from station.sync.client import HttpHubClient, HubUnavailable, InvalidRecords
from station.sync.protocol import Change, make_batch, sign_request
from station.sync.pusher import MemoryChangeStore, PushReport, push_all
from tests.sync.conftest import ADMIN, SECRET, STATION, FakeTime, Hub, make_changes, start_hub


def push(store: MemoryChangeStore, client: HttpHubClient, *, fake: FakeTime | None = None,
         **kw: object) -> PushReport:
    """Run push_all with test-friendly defaults (fake time if given, fast real backoff otherwise)."""
    opts: dict[str, object] = {"batch_size": 500, "max_bytes": 1_500_000, "rng": random.Random(0)}
    if fake is not None:
        opts.update(deadline=fake.now + 60, sleep=fake.sleep, monotonic=fake.monotonic)
    else:
        opts.update(deadline=time.monotonic() + 30, backoff=Backoff(base=0.02, cap=0.1,
                                                                      rng=random.Random(0)))
    opts.update(kw)
    return push_all(store, client, **opts)  # type: ignore[arg-type]


def rebaseline(hub: Hub, body: dict[str, object], token: str | None = ADMIN) -> tuple[int, dict]:
    """POST the admin re-baseline action."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.server.server.server_port, timeout=5)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request("POST", f"/stations/{STATION}/rebaseline", json.dumps(body), headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def signed_post(hub: Hub, body: bytes, extra: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    """POST raw bytes as a signed batch and return status, JSON body and headers."""
    path = f"/stations/{STATION}/batches"
    headers = {**sign_request("POST", path, "", body, key_id=STATION, secret=SECRET),
               "Content-Encoding": "gzip", **(extra or {})}
    conn = http.client.HTTPConnection("127.0.0.1", hub.server.server.server_port, timeout=5)
    try:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read()), dict(resp.getheaders())
    finally:
        conn.close()


def test_push_5000_changes_exactly_once_in_order(hub: Hub) -> None:
    store = MemoryChangeStore(make_changes(5000), db_identity="db-A")
    seen: list[int] = []
    report = push(store, hub.client(), progress=lambda r: seen.append(r.acked_seq))
    assert report.ok and report.batches == 10 and report.changes == 5000 and report.retries == 0
    assert seen == list(range(500, 5001, 500))
    assert hub.seqs() == list(range(1, 5001))
    assert store.acked_seq() == 5000 and store.pending_count() == 0
    assert hub.store.station_changes(STATION)[4321]["payload"] == store.changes()[4321].payload
    again = push(store, hub.client())
    assert again.ok and again.batches == 0 and hub.seqs() == list(range(1, 5001))


def test_max_bytes_caps_batches(hub: Hub, store: MemoryChangeStore) -> None:
    report = push(store, hub.client(), max_bytes=20_000)
    line = len(store.changes()[0].to_line())
    assert report.ok and report.batches >= 1000 * line // 20_000
    assert hub.seqs() == list(range(1, 1001))


def test_hub_down_does_not_advance_then_recovers(tmp_path: Path, store: MemoryChangeStore) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HttpHubClient(f"http://127.0.0.1:{port}", STATION, STATION, SECRET, timeout=2)
    fake = FakeTime()
    report = push(store, client, fake=fake, deadline=30.0, backoff=Backoff(base=0.5, cap=8,
                                                                           rng=random.Random(1)))
    assert report.outcome == "deadline" and report.retries >= 3 and "kết nối" in (report.error or "")
    assert store.acked_seq() == 0 and store.pending_count() == 1000
    assert fake.now <= 30.0 and all(d <= 8 for d in fake.sleeps)

    started: list[Hub] = []
    retries = 0

    def sleep_then_start(seconds: float) -> None:
        nonlocal retries
        fake.sleep(seconds)
        retries += 1
        if retries == 5:  # the hub comes back while the station is backing off
            started.append(start_hub(tmp_path / "hub.sqlite", port=port))

    try:
        second = push(store, client, fake=fake, sleep=sleep_then_start)
        assert second.ok and second.retries == 5 and started
        assert started[0].seqs() == list(range(1, 1001)) and store.acked_seq() == 1000
    finally:
        for h in started:
            h.server.stop()


def test_500_in_the_middle_is_retried(hub: Hub, store: MemoryChangeStore) -> None:
    hub.state.faults = Faults(fail_batches={2})
    fake = FakeTime()
    report = push(store, hub.client(), fake=fake, batch_size=200)
    assert report.ok and report.retries == 1 and len(fake.sleeps) == 1
    assert hub.seqs() == list(range(1, 1001)) and hub.state.batch_count == 6


def test_connection_dropped_after_commit_resend_is_deduplicated(hub: Hub, store: MemoryChangeStore) -> None:
    hub.state.faults = Faults(drop_after_commit={2, 4})
    report = push(store, hub.client(), fake=FakeTime(), batch_size=300)
    assert report.ok and report.retries == 2 and report.duplicates == 2
    assert hub.seqs() == list(range(1, 1001))


def test_slow_hub_times_out_then_succeeds(hub: Hub, store: MemoryChangeStore) -> None:
    hub.state.faults = Faults(sleep_seconds=0.6, sleep_batches={1})
    t0 = time.monotonic()
    report = push(store, hub.client(timeout=0.2), batch_size=250)
    assert report.ok and report.retries >= 1 and store.acked_seq() == 1000
    time.sleep(max(0.0, 0.8 - (time.monotonic() - t0)))  # let the slow request finish on the hub
    assert hub.seqs() == list(range(1, 1001))


@pytest.mark.parametrize("skew", [timedelta(minutes=10), timedelta(minutes=-10)])
def test_station_clock_ten_minutes_off(tmp_path: Path, hub: Hub, store: MemoryChangeStore,
                                       skew: timedelta) -> None:
    def skewed() -> datetime:
        return datetime.now(UTC) + skew

    report = push(store, hub.client(clock=skewed), fake=FakeTime())
    assert report.outcome == "refused" and report.error_code == "stale_timestamp"
    assert store.acked_seq() == 0 and hub.seqs() == []
    tolerant = start_hub(tmp_path / "tolerant.sqlite", window=timedelta(minutes=15))
    try:
        assert push(store, tolerant.client(clock=skewed), fake=FakeTime()).ok
        assert tolerant.seqs() == list(range(1, 1001))
    finally:
        tolerant.server.stop()


def test_wrong_secret_is_refused(hub: Hub, store: MemoryChangeStore) -> None:
    client = HttpHubClient(hub.url, STATION, STATION, "sai-khoá", timeout=5)
    report = push(store, client, fake=FakeTime())
    assert report.outcome == "refused" and report.error_code == "bad_signature" and report.retries == 0


def poisoned_store() -> MemoryChangeStore:
    """Return 1,000 changes where seqs 1, 17, 503 and 1000 are invalid for the hub."""
    changes = make_changes(1000)
    bad = {
        1: {"payload": {"id": "no-type"}},
        17: {"payload": None},
        503: {"entity_id": "không-phải-uuid"},
        1000: {"payload": {"resourceType": ""}},
    }
    for seq, fields in bad.items():
        c = changes[seq - 1]
        d = {**c.to_dict(), **fields}
        changes[seq - 1] = Change.from_dict(d)
    return MemoryChangeStore(changes, db_identity="db-A")


def test_poison_records_are_set_aside_and_do_not_block(hub: Hub) -> None:
    store = poisoned_store()
    report = push(store, hub.client(), fake=FakeTime(), batch_size=200)
    assert report.ok
    assert sorted(r.seq for r in report.set_aside) == [1, 17, 503, 1000]
    assert sorted(store.set_aside_rows()) == [1, 17, 503, 1000]
    assert "resourceType" in store.set_aside_rows()[17]
    assert hub.seqs() == [s for s in range(1, 1001) if s not in (1, 17, 503, 1000)]
    assert store.acked_seq() == 999 and store.pending_count() == 0
    assert hub.store.cursor(STATION).acked_seq == 999


def test_422_response_lists_records_and_applies_nothing(hub: Hub) -> None:
    store = poisoned_store()
    batch = make_batch(STATION, "db-A", 0, store.read_after(0, 20))
    with pytest.raises(InvalidRecords) as err:
        hub.client().push_batch(batch)
    assert [(r.seq, r.code) for r in err.value.invalid] == [(1, "missing_resource_type"),
                                                           (17, "missing_resource_type")]
    assert hub.seqs() == [] and hub.store.cursor(STATION).acked_seq == 0


def test_restored_backup_is_refused_until_rebaselined(hub: Hub) -> None:
    live = MemoryChangeStore(make_changes(100), db_identity="db-A")
    assert push(live, hub.client(), fake=FakeTime(), batch_size=30).ok
    # The disk dies; a backup taken at seq 60 (acked 50) is restored: it gets a new identity
    # and then writes new, different changes 61..80.
    restored = MemoryChangeStore(make_changes(60) + make_changes(20, start=61, tag="sau-khôi-phục"),
                                 acked_seq=50, db_identity="db-B")
    refused = push(restored, hub.client(), fake=FakeTime(), batch_size=30)
    assert refused.outcome == "refused" and refused.error_code == "restored_backup"
    assert restored.acked_seq() == 50 and hub.store.cursor(STATION).db_identity == "db-A"

    assert rebaseline(hub, {"db_identity": "db-B", "acked_seq": 60}, token=None)[0] == 403
    assert rebaseline(hub, {"db_identity": "db-B", "acked_seq": 101})[0] == 400
    status, body = rebaseline(hub, {"db_identity": "db-B", "acked_seq": 60})
    assert status == 200 and body["archived"] == 40
    report = push(restored, hub.client(), fake=FakeTime(), batch_size=30)
    assert report.ok and restored.acked_seq() == 80
    held = hub.store.station_changes(STATION)
    assert [c["seq"] for c in held] == list(range(1, 81))
    assert held[59]["payload"] == make_changes(60)[59].payload  # 51..60 were identical duplicates
    assert held[60]["payload"]["meta"]["tag"][0]["code"] == "sau-khôi-phục"


def test_restored_backup_keeping_its_identity_is_caught_by_content(hub: Hub) -> None:
    live = MemoryChangeStore(make_changes(100), db_identity="db-A")
    assert push(live, hub.client(), fake=FakeTime()).ok
    restored = MemoryChangeStore(make_changes(60) + make_changes(50, start=61, tag="khác"),
                                 acked_seq=50, db_identity="db-A")
    report = push(restored, hub.client(), fake=FakeTime(), batch_size=30, check_cursor=False)
    assert report.outcome == "refused" and report.error_code == "restored_backup"
    assert hub.seqs() == list(range(1, 101))
    # With the cursor check the station notices the hub holds more than its log, first.
    short = MemoryChangeStore(make_changes(60), acked_seq=50, db_identity="db-A")
    ahead = push(short, hub.client(), fake=FakeTime())
    assert ahead.outcome == "refused" and ahead.error_code == "hub_ahead_of_log"


def test_hub_behind_answers_409_and_station_rewinds(hub: Hub) -> None:
    store = MemoryChangeStore(make_changes(300), db_identity="db-A")
    assert push(store, hub.client(), fake=FakeTime(), batch_size=100).ok
    assert rebaseline(hub, {"db_identity": "db-A", "acked_seq": 100})[0] == 200  # hub lost 101..300
    for c in make_changes(50, start=301):
        store.append(c.entity, c.entity_id, c.op, c.payload)
    report = push(store, hub.client(), fake=FakeTime(), batch_size=100, check_cursor=False)
    assert report.ok and store.acked_seq() == 350
    assert hub.seqs() == list(range(1, 351))


def test_lost_local_cursor_is_healed_from_the_hub(hub: Hub) -> None:
    store = MemoryChangeStore(make_changes(400), db_identity="db-A")
    assert push(store, hub.client(), fake=FakeTime()).ok
    copy = MemoryChangeStore(make_changes(450), acked_seq=0, db_identity="db-A")
    report = push(copy, hub.client(), fake=FakeTime())
    assert report.ok and report.batches == 1 and report.changes == 50 and copy.acked_seq() == 450
    assert hub.seqs() == list(range(1, 451))


def test_resend_with_other_batch_boundaries_is_deduplicated(hub: Hub) -> None:
    store = MemoryChangeStore(make_changes(500), db_identity="db-A")
    assert push(store, hub.client(), fake=FakeTime(), batch_size=100).ok
    copy = MemoryChangeStore(make_changes(520), db_identity="db-A")
    report = push(copy, hub.client(), fake=FakeTime(), batch_size=170, check_cursor=False)
    assert report.ok and report.duplicates == 2 and copy.acked_seq() == 520
    assert hub.seqs() == list(range(1, 521))


def test_replayed_batch_gets_the_same_ack_and_bad_input_is_refused(hub: Hub) -> None:
    batch = make_batch(STATION, "db-A", 0, make_changes(10))
    first = signed_post(hub, batch.body, {"Idempotency-Key": batch.key})
    second = signed_post(hub, batch.body, {"Idempotency-Key": batch.key})
    assert first[0] == second[0] == 200 and first[1] == second[1]
    assert first[1]["acked_to"] == 10 and second[2].get("Idempotent-Replayed") == "true"
    assert signed_post(hub, b"garbage")[1]["code"] == "malformed_batch"
    later = make_batch(STATION, "db-A", 10, make_changes(5, start=11))
    assert signed_post(hub, later.body, {"Idempotency-Key": "tram-01:1-2"})[1]["code"] == "bad_idempotency_key"
    gap = make_batch(STATION, "db-A", 20, make_changes(5, start=21))
    status, body, _ = signed_post(hub, gap.body)
    assert status == 409 and body == {"code": "gap", "expected_seq": 11, "message": body["message"]}
    other = make_batch("tram-02", "db-A", 10, make_changes(5, start=11))
    assert signed_post(hub, other.body)[1]["code"] == "station_mismatch"
    assert hub.seqs() == list(range(1, 11))


def test_cursor_endpoint_and_unreachable_errors(hub: Hub) -> None:
    cursor = hub.client().get_cursor()
    assert (cursor.station_id, cursor.acked_seq, cursor.db_identity) == (STATION, 0, None)
    with pytest.raises(HubUnavailable):
        HttpHubClient("http://127.0.0.1:9", STATION, STATION, SECRET, timeout=1).get_cursor()
    raw = gzip.compress(b"{}")
    assert signed_post(hub, raw)[0] == 400
