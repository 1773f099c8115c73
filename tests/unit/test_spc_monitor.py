"""The streaming SPC monitor: events, frozen and rolling limits, bad input, and that a
stream cut into batches anywhere gives exactly the events of the whole series at once."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plantos.analytics.spc import (
    ChartKind,
    ControlLimits,
    SpcCharacteristicSpec,
    SpcMonitor,
    SpcViolation,
    StuckSignal,
    evaluate_rules,
)
from plantos.core import quality
from plantos.core.clock import ManualClock

S = 1_000_000_000
T0 = 1_700_000_000 * S


def feed(
    mon: SpcMonitor, values: np.ndarray, cuts: list[int] = (), codes: np.ndarray | None = None
) -> list[Any]:  # type: ignore[assignment]
    ts = T0 + np.arange(len(values), dtype=np.int64) * S
    q = np.zeros(len(values), dtype=np.uint32) if codes is None else codes
    events: list[Any] = []
    edges = [0, *sorted(set(cuts)), len(values)]
    for lo, hi in itertools.pairwise(edges):
        events += mon.update(ts[lo:hi], values[lo:hi], q[lo:hi])
    return events


def monitor(chart: ChartKind = ChartKind.I_MR, **kw: Any) -> SpcMonitor:
    kw.setdefault("subgroup_size", 1 if chart is ChartKind.I_MR else 5)
    if "rolling" not in kw and "limits" not in kw:
        kw.setdefault("baseline", (T0, T0 + 100 * S, "qe.anna"))
    return SpcMonitor(tag="line1/filler/weight", chart=chart, clock=ManualClock(T0 + 10**15), **kw)


def test_baseline_freezes_with_who_and_when_and_judges_the_baseline_points() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(10, 1, 300)
    x[50] = 30.0  # in the baseline: phase I finding
    x[200] = -20.0
    mon = monitor()
    events = feed(mon, x)
    assert mon.limits is not None and mon.limits.frozen_by == "qe.anna"
    assert mon.limits.frozen_at_ns == T0 + 10**15 and mon.limits.subgroups == 100
    rule1 = [e for e in events if e.rule == 1 and e.statistic == "x"]
    assert [(e.ts_ns - T0) // S for e in rule1] == [50, 200]
    assert [e.phase for e in rule1] == ["baseline", "monitoring"]
    ev = rule1[1]
    assert isinstance(ev, SpcViolation) and ev.kind == "SpcViolation"
    assert ev.subject == "line1/filler/weight" and ev.chart == "i-mr"
    assert ev.point_values == (-20.0,) and ev.lcl < ev.center < ev.ucl
    assert ev.to_dict()["kind"] == "SpcViolation"


def test_run_across_batches_is_found_with_the_points_involved() -> None:
    lim = ControlLimits(chart=ChartKind.I_MR, center=0.0, sigma=1.0, subgroups=50)
    mon = monitor(limits=lim, rules=[2])
    events = feed(mon, np.array([-0.5] + [0.5] * 9), cuts=[3, 4, 7])
    assert len(events) == 1
    assert events[0].point_ts_ns == tuple(T0 + i * S for i in range(1, 10))


def test_bad_quality_non_finite_and_late_samples_are_skipped_and_counted() -> None:
    lim = ControlLimits(chart=ChartKind.I_MR, center=0.0, sigma=1.0, subgroups=50)
    mon = monitor(limits=lim)
    values = np.array([0.1, np.nan, np.inf, 99.0, -np.inf, 0.2])
    codes = np.array([0, 0, 0, quality.BAD_SENSOR_FAILURE, 0, 0], dtype=np.uint32)
    assert feed(mon, values, codes=codes) == []
    ts = np.array([T0, T0 + 9 * S], dtype=np.int64)  # T0 lies before what was seen
    mon.update(ts, np.array([50.0, 0.3]), np.zeros(2, dtype=np.uint32))
    assert (mon.skipped_bad, mon.skipped_invalid, mon.skipped_late) == (1, 3, 1)
    assert mon.plotted == 3


def test_empty_and_all_bad_batches_do_nothing() -> None:
    mon = monitor()
    assert mon.update(np.empty(0, np.int64), np.empty(0), np.empty(0, np.uint32)) == []
    codes = np.full(200, quality.BAD, dtype=np.uint32)
    assert feed(mon, np.ones(200), codes=codes) == []
    assert mon.skipped_bad == 200 and mon.limits is None
    mon.flush(T0 + 10**6 * S)  # baseline period over with nothing in it: refused, no crash
    assert mon.baseline_refused and mon.limits is None


def test_stuck_sensor_in_the_baseline_is_reported_not_charted() -> None:
    mon = monitor()
    events = feed(mon, np.full(150, 4.2))
    assert len(events) == 1 and isinstance(events[0], StuckSignal)
    assert events[0].value == 4.2 and events[0].points == 100 and mon.limits is None
    assert feed(mon, np.linspace(0, 50, 30)) == []  # no limits, no verdicts, no crash


def test_rolling_limits_report_a_flat_stretch_once() -> None:
    mon = monitor(rolling=10, rules=[1])
    x = np.concatenate((np.random.default_rng(3).normal(0, 1, 30), np.full(30, 2.0), [2.5]))
    events = feed(mon, x, cuts=[35, 45])
    stuck = [e for e in events if isinstance(e, StuckSignal)]
    assert len(stuck) == 1 and stuck[0].value == 2.0


def test_xbar_r_by_time_window_drops_single_sample_windows() -> None:
    lim = ControlLimits(chart=ChartKind.XBAR_R, center=0.0, sigma=1.0, subgroups=20)
    mon = SpcMonitor(
        tag="t", chart=ChartKind.XBAR_R, clock=ManualClock(0), window_ns=5 * S, limits=lim
    )
    ts = T0 + np.array([0, 1, 2, 5, 11, 12, 16], dtype=np.int64) * S
    mon.update(ts, np.zeros(7), np.zeros(7, dtype=np.uint32))
    assert mon.plotted == 2 and mon.dropped_subgroups == 1  # [0,1,2], [5] dropped, [11,12]
    mon.flush(T0 + 30 * S)
    assert mon.dropped_subgroups == 2  # [16] closed by time, too small


def whole_vs_batched(chart: ChartKind, values: np.ndarray, cuts: list[int], **kw: Any) -> None:
    whole = feed(monitor(chart, **kw), values)
    batched = feed(monitor(chart, **kw), values, cuts)
    assert [e.to_dict() for e in batched] == [e.to_dict() for e in whole]


def shown(mon: SpcMonitor) -> list[np.ndarray]:
    """Every array of the displayed plot: times, statistics and both charts' lines."""
    p = mon.recent()
    lines = [p.loc] if p.disp is None else [p.loc, p.disp]
    stats = [p.stats.sizes, p.stats.location, p.stats.dispersion]
    return [p.ts, *(a for a in stats if a is not None)] + [
        a for ln in lines for a in (ln.center, ln.sigma, ln.lcl, ln.ucl)
    ]


@pytest.mark.parametrize("chart", [ChartKind.I_MR, ChartKind.XBAR_R])
@pytest.mark.parametrize("limits", ["frozen", "baseline"])
def test_batch_length_changes_neither_events_nor_display(chart: ChartKind, limits: str) -> None:
    x = np.random.default_rng(3).normal(0, 1, 1500)
    x[900:] += 1.5
    kw: dict[str, Any] = {"baseline": (T0, T0 + 300 * S, "qe")}
    if limits == "frozen":
        kw = {"limits": ControlLimits(chart=chart, center=0.0, sigma=1.0, subgroups=99)}
    whole = monitor(chart, **kw)
    expected = [e.to_dict() for e in feed(whole, x)]
    assert len(expected) > 10 and np.isfinite(whole.recent().loc.ucl).all()
    for step in (1, 7, 500):
        mon = monitor(chart, **kw)
        events = feed(mon, x, list(range(step, len(x), step)))
        assert [e.to_dict() for e in events] == expected
        for got, want in zip(shown(mon), shown(whole), strict=True):
            np.testing.assert_array_equal(got, want)


series = st.lists(st.floats(-4, 4, allow_nan=False, width=32), min_size=0, max_size=400)


@settings(max_examples=60, deadline=None)
@given(values=series, cuts=st.lists(st.integers(0, 400), max_size=8), shift=st.floats(-2, 2))
def test_streaming_equals_whole_series_frozen_baseline(
    values: list[float], cuts: list[int], shift: float
) -> None:
    x = np.round(np.array(values, dtype=float), 1)
    x[len(x) // 2 :] += shift  # give later rules something to find
    whole_vs_batched(ChartKind.I_MR, x, cuts, baseline=(T0, T0 + 40 * S, "qe"))
    whole_vs_batched(ChartKind.XBAR_R, x, cuts, baseline=(T0, T0 + 60 * S, "qe"))


@settings(max_examples=40, deadline=None)
@given(values=series, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_streaming_equals_whole_series_rolling(values: list[float], cuts: list[int]) -> None:
    x = np.round(np.array(values, dtype=float), 1)
    whole_vs_batched(ChartKind.I_MR, x, cuts, rolling=8)
    whole_vs_batched(ChartKind.XBAR_S, x, cuts, rolling=5, subgroup_size=3)


def test_monitor_events_equal_the_rules_over_the_whole_series() -> None:
    x = np.random.default_rng(5).normal(0, 1, 500)
    x[300:] += 1.2
    lim = ControlLimits(chart=ChartKind.I_MR, center=0.0, sigma=1.0, subgroups=99)
    events = feed(monitor(limits=lim, dispersion_rules=[]), x, cuts=[7, 123, 124, 311])
    hits = evaluate_rules(x, 0.0, 1.0)
    expected = sorted((int(p), r) for r, h in hits.items() for p in h.points)
    assert sorted(((e.ts_ns - T0) // S, e.rule) for e in events) == expected
    assert len(expected) > 10


# ---- configuration ------------------------------------------------------------------------


def test_spec_validates_a_dict_and_builds_a_monitor() -> None:
    spec = SpcCharacteristicSpec.model_validate(
        {
            "tag": "line1/filler/weight",
            "chart": "xbar-r",
            "subgroup_size": 5,
            "rules": [1, 2, 5],
            "spec_limits": {"lsl": 498, "usl": 506, "target": 502},
            "limits": {
                "baseline": {
                    "from": "2026-01-05T06:00:00Z",
                    "to": "2026-01-12T06:00:00",
                    "frozen_by": "j.doe",
                }
            },
        }
    )
    assert spec.rules == {1, 2, 5} and spec.limits.baseline is not None
    assert spec.limits.baseline.to_ns - spec.limits.baseline.from_ns == 7 * 86400 * S
    mon = SpcMonitor.from_spec(spec, clock=ManualClock(0))
    assert mon.rules == {1, 2, 5} and mon.chart is ChartKind.XBAR_R
    rolling = SpcCharacteristicSpec.model_validate(
        {"tag": "t", "chart": "u", "window": "1h", "limits": {"rolling": 30}}
    )
    assert rolling.window_ns == 3600 * S and rolling.rules == set(range(1, 9))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"limits": {"rolling": 5, "baseline": None}, "colour": "red"}, "Extra inputs"),
        ({"limits": {}}, "exactly one of 'baseline' or 'rolling'"),
        ({"chart": "i-mr", "subgroup_size": 5}, "single samples"),
        ({"subgroup_size": 1}, "2 or more"),
        ({"subgroup_size": 30}, "use xbar-s"),
        ({"window": "5m"}, "exactly one of 'subgroup_size' or 'window'"),
        ({"rules": [9]}, "rules are 1-8"),
        ({"rule_set": "western-electric", "rules": [5]}, "rules are 1-4"),
        ({"spec_limits": {"lsl": 5, "usl": 4}}, "below usl"),
        (
            {"limits": {"baseline": {"from": "2026-01-02", "to": "2026-01-01", "frozen_by": "x"}}},
            "before",
        ),
    ],
)
def test_spec_refuses_bad_configuration(patch: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "tag": "t",
        "chart": "xbar-r",
        "subgroup_size": 5,
        "limits": {"rolling": 5},
    }
    with pytest.raises(ValidationError, match=message):
        SpcCharacteristicSpec.model_validate({**base, **patch})
