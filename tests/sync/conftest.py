"""Fixtures for sync tests: a real reference hub on 127.0.0.1 and realistic change stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from hub.app import Faults, HubState, HubStore, RunningServer, create_app, serve_in_thread
from station.sync.client import HttpHubClient
from station.sync.protocol import Change
from station.sync.pusher import MemoryChangeStore

STATION = "tram-01"
SECRET = "bí-mật-trạm-01"
ADMIN = "admin-token"


def patient_payload(i: int) -> dict[str, object]:
    """Return a small FHIR R4 Patient resource."""
    return {
        "resourceType": "Patient",
        "id": f"p{i}",
        "identifier": [{"system": "urn:vn:cccd", "value": f"0012{i:08d}"}],
        "name": [{"family": "Nguyễn", "given": ["Văn", f"An {i}"]}],
        "gender": "male",
        "birthDate": "1980-05-17",
        "address": [{"text": "Xã Tân Phú, huyện Đồng Phú, tỉnh Bình Phước"}],
    }


def make_changes(n: int, start: int = 1, *, tag: str = "") -> list[Change]:
    """Return *n* upsert changes with seqs start..start+n-1 and deterministic entity ids."""
    out = []
    for seq in range(start, start + n):
        payload = patient_payload(seq)
        if tag:
            payload["meta"] = {"tag": [{"code": tag}]}
        out.append(Change(seq, "Patient", str(uuid.uuid5(uuid.NAMESPACE_URL, f"p{seq}{tag}")), "upsert",
                          1, payload, "2026-01-02T03:04:05+00:00"))
    return out


@dataclass
class Hub:
    """A running reference hub and handles into it."""

    store: HubStore
    state: HubState
    server: RunningServer

    @property
    def url(self) -> str:
        """Return the base URL."""
        return self.server.url

    def client(self, **kw: object) -> HttpHubClient:
        """Return a client for the test station."""
        opts: dict[str, object] = {"timeout": 5.0}
        opts.update(kw)
        return HttpHubClient(self.url, STATION, STATION, SECRET, **opts)  # type: ignore[arg-type]

    def seqs(self) -> list[int]:
        """Return the seqs the hub holds for the test station, in arrival order."""
        return self.store.station_seqs(STATION)


def start_hub(db: Path, *, window: timedelta = timedelta(seconds=300), faults: Faults | None = None,
              port: int = 0) -> Hub:
    """Start a hub on loopback with the test station registered."""
    store = HubStore(str(db))
    store.register_station(STATION, SECRET)
    app = create_app(store, window=window, admin_token=ADMIN, faults=faults, enable_test_hooks=True)
    return Hub(store, app.extensions["hub"], serve_in_thread(app, port=port))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    """Yield a running hub; stop it afterwards."""
    h = start_hub(tmp_path / "hub.sqlite")
    yield h
    h.server.stop()


@pytest.fixture
def store() -> MemoryChangeStore:
    """Return a station store holding 1,000 changes."""
    return MemoryChangeStore(make_changes(1000), db_identity="db-A")


class FakeTime:
    """A monotonic clock advanced only by its own sleep (deterministic retry tests)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the fake time."""
        self.sleeps.append(seconds)
        self.now += seconds
