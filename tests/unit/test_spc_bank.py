"""The vectorised bank gives exactly the events of one monitor per characteristic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.analytics.spc import ChartKind, ControlLimits, SpcMonitor
from plantos.analytics.spc.bank import SpcBank
from plantos.core import quality
from plantos.core.clock import ManualClock
from plantos.core.events import Event

NS = 1_000_000_000
T0 = 1_704_067_200 * NS
SIZES = {ChartKind.I_MR: 1, ChartKind.XBAR_R: 4, ChartKind.XBAR_S: 3, ChartKind.NP: 5,
         ChartKind.C: 1, ChartKind.P: 5, ChartKind.U: 2}  # fmt: skip


def limits_for(chart: ChartKind, k: int) -> ControlLimits:
    if chart.is_variables:
        return ControlLimits(chart=chart, center=0.1 * k, sigma=1.0 + 0.1 * k, subgroups=50)
    share = chart in (ChartKind.P, ChartKind.NP)
    return ControlLimits(
        chart=chart, center=0.2 if share else 2.0, sigma=0.4 if share else 1.4, subgroups=50
    )


def sample_batches(
    chart: ChartKind,
    tags: int,
    seconds: int,
    seed: int,
    batch_s: list[int],
    late_share: float = 0.01,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per batch: characteristic, ts, value, quality, interleaved as a bus delivers them,
    with drifts, Bad and NaN samples and the odd late one."""
    rng = np.random.default_rng(seed)
    sec = np.repeat(np.arange(seconds), tags)
    tag = np.tile(np.arange(tags), seconds)
    drift = np.where(tag % 3 == 0, sec / 40.0, 0.0)
    if chart.is_variables:
        value = rng.standard_normal(len(sec)) + drift
    elif chart in (ChartKind.P, ChartKind.NP):
        value = (rng.random(len(sec)) < 0.2 + drift / 20).astype(float)
    else:
        value = rng.poisson(2.0 + drift).astype(float)
    value[rng.random(len(sec)) < 0.02] = np.nan
    codes = np.where(rng.random(len(sec)) < 0.02, quality.BAD, quality.GOOD).astype(np.uint32)
    ts = T0 + sec * NS + rng.integers(0, 1000, len(sec))
    late = rng.random(len(sec)) < late_share
    ts = np.where(late, ts - 3 * NS, ts)
    out, start, i = [], 0, 0
    while start < seconds:
        n = batch_s[i % len(batch_s)]
        sl = slice(start * tags, min(start + n, seconds) * tags)
        out.append((tag[sl], ts[sl], value[sl], codes[sl]))
        start, i = start + n, i + 1
    return out


def by_monitors(chart: ChartKind, tags: int, batches: list, rules: frozenset[int]) -> list[Event]:
    clock = ManualClock(T0)
    mons = [
        SpcMonitor(
            tag=f"t{k}",
            chart=chart,
            clock=clock,
            subgroup_size=SIZES[chart],
            limits=limits_for(chart, k),
            rules=rules,
        )
        for k in range(tags)
    ]
    events: list[Event] = []
    for tag, ts, value, codes in batches:
        for k, mon in enumerate(mons):
            m = tag == k
            events += mon.update(ts[m], value[m], codes[m])
    return events


def by_bank(chart: ChartKind, tags: int, batches: list, rules: frozenset[int]) -> list[Event]:
    bank = SpcBank(tags=[f"t{k}" for k in range(tags)], chart=chart, subgroup_size=SIZES[chart],
                   limits=[limits_for(chart, k) for k in range(tags)], rules=rules)  # fmt: skip
    events: list[Event] = []
    for tag, ts, value, codes in batches:
        events += bank.update(tag, ts, value, codes)
    return events


def per_subject(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    for e in events:
        out.setdefault(e.subject, []).append(e)
    return out


@settings(max_examples=40, deadline=None)
@given(
    chart=st.sampled_from(sorted(SIZES)),
    tags=st.integers(1, 7),
    seconds=st.integers(1, 120),
    seed=st.integers(0, 2**16),
    batch_s=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    rules=st.sets(st.integers(1, 8), min_size=1).map(frozenset),
    late_share=st.sampled_from([0.0, 0.02]),  # every stream in order, or some samples late
)
def test_the_bank_gives_the_events_of_one_monitor_per_characteristic(
    chart: ChartKind,
    tags: int,
    seconds: int,
    seed: int,
    batch_s: list[int],
    rules: frozenset[int],
    late_share: float,
) -> None:
    batches = sample_batches(chart, tags, seconds, seed, batch_s, late_share)
    expected = by_monitors(chart, tags, batches, rules)
    got = by_bank(chart, tags, batches, rules)
    assert per_subject(got) == per_subject(expected)


def test_the_bank_counts_what_it_skips_per_characteristic() -> None:
    bank = SpcBank(tags=["a", "b"], chart=ChartKind.I_MR, subgroup_size=1,
                   limits=[limits_for(ChartKind.I_MR, 0)] * 2)  # fmt: skip
    ts = T0 + np.array([5, 6, 4, 7], dtype=np.int64) * NS
    codes = np.array([quality.GOOD, quality.BAD, quality.GOOD, quality.GOOD], dtype=np.uint32)
    bank.update(np.array([0, 1, 0, 1]), ts, np.array([0.0, 1.0, 2.0, np.nan]), codes)
    assert bank.skipped_late.tolist() == [1, 0] and bank.skipped_bad.tolist() == [0, 1]
    assert bank.skipped_invalid.tolist() == [0, 1] and bank.plotted.tolist() == [1, 0]


def test_a_bank_refuses_what_it_cannot_judge_alike() -> None:
    lim = limits_for(ChartKind.XBAR_R, 0)
    with pytest.raises(ValueError, match="one limit per tag"):
        SpcBank(tags=["a"], chart=ChartKind.XBAR_R, limits=[], subgroup_size=4)
    with pytest.raises(ValueError, match="cannot plot subgroups of 1"):
        SpcBank(tags=["a"], chart=ChartKind.XBAR_R, limits=[lim], subgroup_size=1)
    with pytest.raises(ValueError, match="index out of range"):
        bank = SpcBank(tags=["a"], chart=ChartKind.XBAR_R, limits=[lim], subgroup_size=4)
        bank.update(np.array([1]), np.array([T0]), np.array([1.0]), np.zeros(1, np.uint32))
