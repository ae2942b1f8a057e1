"""Shared helpers for benchmark scripts: percentiles and the merged results file."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def p95(samples: list[float]) -> float:
    """Return the 95th percentile of *samples* (nearest-rank)."""
    ordered = sorted(samples)
    rank = max(0, int(round(0.95 * len(ordered) + 0.5)) - 1)
    return ordered[min(rank, len(ordered) - 1)]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def record(figures: dict[str, float]) -> None:
    """Merge *figures* into bench/results.json (one flat object) and print them."""
    current: dict[str, float] = {}
    if RESULTS.exists():
        current = json.loads(RESULTS.read_text(encoding="utf-8"))
    for key, value in figures.items():
        current[key] = round(float(value), 3)
        print(f"{key:32s} {current[key]:>12}")
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
