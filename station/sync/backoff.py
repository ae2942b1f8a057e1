"""Exponential backoff with full jitter ("AWS full jitter"): delay = uniform(0, min(cap, base * factor**n))."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Compute retry delays; deterministic when given a seeded ``random.Random``."""

    base: float = 0.5
    cap: float = 60.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)

    def ceiling(self, attempt: int) -> float:
        """Return the upper bound of the delay before retry number *attempt* (0-based)."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        # Cap the exponent too, so huge attempt counts never overflow a float.
        return min(self.cap, self.base * self.factor ** min(attempt, 64))

    def delay(self, attempt: int) -> float:
        """Return a jittered delay in seconds for retry number *attempt* (0-based)."""
        return self.rng.uniform(0.0, self.ceiling(attempt))


def full_jitter(attempt: int, *, base: float = 0.5, cap: float = 60.0,
                rng: random.Random | None = None) -> float:
    """Return one full-jitter delay for retry number *attempt*."""
    return Backoff(base=base, cap=cap, rng=rng or random.Random()).delay(attempt)
