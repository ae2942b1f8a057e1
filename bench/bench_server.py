"""Login page latency under 20 concurrent clients, and server memory after 1,000+ requests."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import record
from bench.server import run_station, rss_mb, serving, wrk_p95


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        run_station(instance, "init")
        with serving(instance) as (process, base):
            wrk_p95(base + "/auth/login", connections=4, seconds=1)  # warm up
            result = wrk_p95(base + "/auth/login", connections=20, seconds=5)
            assert result["requests"] >= 1000, result
            record({"login_page_p95_ms": result["p95_ms"], "server_rss_mb": rss_mb(process.pid)})


if __name__ == "__main__":
    main()
