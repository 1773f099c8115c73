"""When a message is tried again: capped doubling with jitter, a receiver's Retry-After
honoured up to the cap, and a configurable number of attempts before dead letters."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantos.integration.channels.retry import RetryPolicy, exhausted, retry_delay_s
from plantos.integration.channels.webhook import retry_after_s

POLICY = RetryPolicy(initial_s=2.0, max_s=60.0, max_attempts=5)


def test_delays_double_then_cap_with_at_most_ten_percent_jitter() -> None:
    rng = random.Random(7)
    delays = [retry_delay_s(n, policy=POLICY, rng=rng) for n in range(1, 9)]
    for failures, delay in enumerate(delays, start=1):
        base = min(2.0 * 2 ** (failures - 1), 60.0)
        assert base <= delay <= base * 1.1
    assert len({round(d, 6) for d in delays[-3:]}) == 3  # jittered, not lock-step


def test_a_receivers_retry_after_stretches_the_wait_up_to_the_cap() -> None:
    rng = random.Random(1)
    assert retry_delay_s(1, policy=POLICY, retry_after_s=30, rng=rng) == 30
    assert retry_delay_s(1, policy=POLICY, retry_after_s=86_400, rng=rng) == 60
    assert retry_delay_s(1, policy=POLICY, retry_after_s=0.5, rng=rng) >= 2.0


def test_attempts_are_exhausted_only_when_configured() -> None:
    assert not exhausted(4, policy=POLICY)
    assert exhausted(5, policy=POLICY)
    assert not exhausted(10_000, policy=RetryPolicy())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"initial_s": 0}, "initial_s must be > 0"),
        ({"initial_s": 10, "max_s": 5}, "max_s must be >= initial_s"),
        ({"max_attempts": 0}, "max_attempts must be >= 1"),
    ],
)
def test_a_nonsense_policy_is_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_failures_start_at_one() -> None:
    with pytest.raises(ValueError, match="failures must be >= 1"):
        retry_delay_s(0, policy=POLICY)


def test_retry_after_as_seconds_or_http_date() -> None:
    now_s = 1_772_460_000.0  # 2026-03-02T14:00:00Z
    assert retry_after_s("120", now_s=now_s) == 120
    assert retry_after_s("Mon, 02 Mar 2026 14:01:30 GMT", now_s=now_s) == 90
    assert retry_after_s("Mon, 02 Mar 2026 13:00:00 GMT", now_s=now_s) == 0
    assert retry_after_s("soon", now_s=now_s) is None
    assert retry_after_s("\u00b2", now_s=now_s) is None
    assert retry_after_s(None, now_s=now_s) is None


@given(st.text(max_size=60))
def test_fuzz_any_retry_after_header_reads_as_seconds_or_none(value: str) -> None:
    result = retry_after_s(value, now_s=1_772_460_000.0)
    assert result is None or result >= 0
