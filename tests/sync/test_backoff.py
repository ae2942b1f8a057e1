"""Backoff: full jitter, cap, determinism."""

from __future__ import annotations

import random

import pytest

from station.sync.backoff import Backoff, full_jitter


def test_deterministic_with_seeded_rng() -> None:
    a = [Backoff(rng=random.Random(7)).delay(i) for i in range(10)]
    b = [Backoff(rng=random.Random(7)).delay(i) for i in range(10)]
    assert a == b


def test_delays_stay_within_exponential_ceiling_and_cap() -> None:
    bo = Backoff(base=0.5, cap=10.0, rng=random.Random(1))
    assert [bo.ceiling(i) for i in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    for attempt in range(200):
        assert 0.0 <= bo.delay(attempt) <= min(10.0, 0.5 * 2**attempt)
    assert bo.ceiling(10_000) == 10.0


def test_full_jitter_spreads_and_rejects_negative_attempts() -> None:
    rng = random.Random(3)
    samples = [full_jitter(5, base=1.0, cap=100.0, rng=rng) for _ in range(500)]
    assert min(samples) < 5 and max(samples) > 27
    with pytest.raises(ValueError):
        Backoff().delay(-1)
