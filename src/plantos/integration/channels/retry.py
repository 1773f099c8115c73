"""When to try a message again: capped exponential back-off with jitter (the same rule
as every PlantOS link, :func:`plantos.core.backoff.backoff_delay`), stretched to the
receiver's own ``Retry-After`` when it asks for longer. Pure: the dispatcher stores the
failure count and asks."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from plantos.core.backoff import backoff_delay


@dataclass(frozen=True)
class RetryPolicy:
    """``initial_s`` after the first failure, doubling to ``max_s``. ``max_attempts``
    None (the default) retries for ever: an ERP outage must fill the outbox, not lose
    messages; a number sends a message that failed that often to the dead letters."""

    initial_s: float = 1.0
    max_s: float = 300.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial_s) and self.initial_s > 0):
            raise ValueError(f"initial_s must be > 0, got {self.initial_s!r}")
        if not (math.isfinite(self.max_s) and self.max_s >= self.initial_s):
            raise ValueError(f"max_s must be >= initial_s ({self.initial_s}), got {self.max_s!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1 or None, got {self.max_attempts!r}")


def retry_delay_s(
    failures: int,
    *,
    policy: RetryPolicy,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after ``failures`` consecutive failures (>= 1). A receiver's
    ``retry_after_s`` is honoured up to ``max_s`` (a receiver cannot park a message for
    a day); jitter is +0-10 %, so a fleet of messages does not return in lock-step."""
    if failures < 1:
        raise ValueError(f"failures must be >= 1, got {failures}")
    delay = backoff_delay(failures, initial_s=policy.initial_s, max_s=policy.max_s, rng=rng)
    if retry_after_s is not None and math.isfinite(retry_after_s):
        delay = max(delay, min(retry_after_s, policy.max_s))
    return delay


def exhausted(failures: int, *, policy: RetryPolicy) -> bool:
    """True when a message that failed ``failures`` times goes to the dead letters."""
    return policy.max_attempts is not None and failures >= policy.max_attempts
