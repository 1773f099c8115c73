"""How long to wait before trying again: the one back-off rule every PlantOS retry follows
(connectors, the gateway's upstream, the supervised bus consumers), so a plant full of
devices does not retry in lock-step after a network outage."""

from __future__ import annotations

import random


def backoff_delay(
    failures: int, *, initial_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Back-off after ``failures`` consecutive failures: doubling, capped, +0-10 % jitter."""
    base = min(initial_s * 2.0 ** max(failures - 1, 0), max_s)
    return float(base * (1 + 0.1 * (rng or random).random()))
