"""A station push run in its own process (used by test_kill.py): ``python -m tests.sync.station_child``."""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from station.sync.client import HttpHubClient
from station.sync.pusher import MemoryChangeStore, push_all


class JsonFileChangeStore(MemoryChangeStore):
    """A MemoryChangeStore that durably rewrites its JSON file on every cursor move."""

    path: Path

    @classmethod
    def open(cls, path: Path) -> JsonFileChangeStore:
        """Load the store from *path*."""
        base = MemoryChangeStore.from_snapshot(json.loads(path.read_text(encoding="utf-8")))
        store = cls(base.changes(), acked_seq=base.acked_seq(), db_identity=base.db_identity(),
                    set_aside=base.set_aside_rows())
        store.path = path
        return store

    def save(self) -> None:
        """Write the snapshot atomically (write, fsync, rename)."""
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(self.snapshot(), fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def advance(self, to_seq: int) -> None:
        """Advance and persist."""
        super().advance(to_seq)
        self.save()

    def set_aside(self, seq: int, reason: str) -> None:
        """Set aside and persist."""
        super().set_aside(seq, reason)
        self.save()


def main() -> None:
    """Push the store at argv to the hub and print the report as JSON."""
    p = argparse.ArgumentParser()
    p.add_argument("store", type=Path)
    p.add_argument("url")
    p.add_argument("--station", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--no-cursor-check", action="store_true")
    args = p.parse_args()
    store = JsonFileChangeStore.open(args.store)
    client = HttpHubClient(args.url, args.station, args.station, args.secret, timeout=10)
    report = push_all(store, client, batch_size=args.batch_size, deadline=time.monotonic() + 60,
                      rng=random.Random(0), check_cursor=not args.no_cursor_check)
    print(json.dumps({"outcome": report.outcome, "acked_seq": report.acked_seq,
                      "batches": report.batches, "duplicates": report.duplicates}), flush=True)
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
