"""Rate limits for the doors a guesser knocks on: sign-in and token issuing.

A sliding window per key (the client's address, or address and user name): at most
``limit`` attempts in ``window_ns``. Argon2 already makes each password check slow; the
limit stops one client from spreading guesses over many accounts, and the per-account
lock-out stops many clients guessing one account.
"""

from __future__ import annotations

from collections import deque

from plantos.core.clock import Clock
from plantos.core.timeunits import NS_PER_S as NS
from plantos.security.errors import TooManyRequestsError

MAX_KEYS = 10_000
"""Keys tracked at most; the oldest is forgotten first, so a flood of addresses cannot
exhaust memory."""


class RateLimiter:
    """At most ``limit`` hits per key in any ``window_s`` seconds of ``clock`` time."""

    def __init__(self, *, limit: int, window_s: float, clock: Clock) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"limit {limit} and window {window_s} s must be positive")
        self._limit = limit
        self._window_ns = int(window_s * NS)
        self._clock = clock
        self._hits: dict[str, deque[int]] = {}

    def hit(self, key: str) -> None:
        """Count one attempt for ``key``; :class:`TooManyRequestsError` past the limit."""
        now = self._clock.now_ns()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self._window_ns:
            hits.popleft()
        self._hits[key] = hits  # re-inserted: the dict stays in order of last use
        if len(hits) >= self._limit:
            wait_s = (hits[0] + self._window_ns - now) / NS
            raise TooManyRequestsError(f"too many attempts: try again in {wait_s:.0f} s")
        hits.append(now)
        while len(self._hits) > MAX_KEYS:
            del self._hits[next(iter(self._hits))]
