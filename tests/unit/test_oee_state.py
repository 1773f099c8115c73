"""Machine state from tag samples: rules, enums, bad data, silences, and batch independence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.analytics.oee import OeeSpec, PlantTracker
from plantos.analytics.oee.binding import BindingError
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.timeparse import parse_time_ns
from plantos.model import Plant, load_plant_text

S = 1_000_000_000
T0 = parse_time_ns("2026-01-05T06:00:00Z", now_ns=0)
PRESS = "s/a/l/p1"
PLANT = """
plantos: 1
enterprise: {id: t}
asset_types:
  press:
    tags:
      - {signal: speed, unit: rpm}
      - {signal: program, type: int}
      - {signal: alarm, type: bool}
      - {signal: good, type: int, unit: count}
      - {signal: scrap, type: int, unit: count}
      - {signal: state, type: enum, states: {0: "off", 1: idle, 2: running, 3: down}}
sites:
  - id: s
    areas: [{id: a, lines: [{id: l, assets: [{id: p1, type: press}]}]}]
"""
RULES = {
    "asset_types": {
        "press": {
            "rules": [
                {"state": "down", "when": "alarm == 1"},
                {"state": "running", "when": "speed > 100 and program != 0"},
            ],
            "counters": {"good": "good", "scrap": "scrap"},
            "ideal_cycle_time": "10s",
            "stale_after": "30s",  # a polled source: silence means trouble
        }
    }
}


def plant() -> Plant:
    return load_plant_text(PLANT)


def ids(p: Plant) -> dict[str, int]:
    return {path: i for i, path in enumerate(p.tags)}


def samples(
    p: Plant, rows: list[tuple[int, str, float]], q: list[int] | None = None
) -> SampleBatch:
    """``rows`` are (seconds after T0, signal, value) of the press."""
    tag = ids(p)
    return SampleBatch.of(
        [tag[f"{PRESS}/{sig}"] for _, sig, _ in rows],
        [T0 + int(t * S) for t, _, _ in rows],
        [v for _, _, v in rows],
        q,
    )


def every_second(seconds: range, **signals: list[float] | float) -> list[tuple[int, str, float]]:
    rows = []
    for i, t in enumerate(seconds):
        for name, v in signals.items():
            rows.append((t, name, v[i] if isinstance(v, list) else v))
    return rows


def tracker(p: Plant, config: dict | None = None) -> PlantTracker:
    return PlantTracker(p, OeeSpec.model_validate(config or RULES), ids(p))


def states_of(pt: PlantTracker, until_s: int) -> list[tuple[int, int, str]]:
    t = pt.trackers[PRESS]
    iv = t.intervals(T0 + until_s * S)
    return [
        ((a - T0) // S, (b - T0) // S, t.spec.states[s])
        for a, b, s in zip(iv.start_ns, iv.end_ns, iv.state, strict=True)
    ]


def test_ordered_rules_give_intervals_and_state_change_events() -> None:
    p = plant()
    speed = [0.0] * 5 + [500.0] * 5 + [500.0] * 5
    alarm = [0.0] * 10 + [1.0] * 5
    pt = tracker(p)
    events = pt.feed(samples(p, every_second(range(15), speed=speed, program=7, alarm=alarm)))
    assert states_of(pt, 15) == [(0, 5, "idle"), (5, 10, "running"), (10, 15, "down")]
    assert [(e.previous, e.state, (e.ts_ns - T0) // S) for e in events] == [
        ("unknown", "idle", 0),
        ("idle", "running", 5),
        ("running", "down", 10),
    ]
    assert all(e.subject == PRESS and e.reason is None for e in events)


def test_enum_tag_names_the_states_directly() -> None:
    p = plant()
    config = {"asset_types": {"press": {"from_enum": "state", "counters": {"good": "good"}}}}
    pt = tracker(p, config)
    pt.feed(samples(p, every_second(range(6), state=[2, 2, 3, 3, 7, 1])))
    assert states_of(pt, 6) == [
        (0, 2, "running"),
        (2, 4, "down"),
        (4, 5, "unknown"),
        (5, 6, "idle"),
    ]


def test_bad_quality_nan_and_inf_make_the_state_unknown_and_are_counted() -> None:
    p = plant()
    rows = every_second(range(8), speed=[500, 500, np.nan, 500, np.inf, 500, 500, 500], program=7)
    rows += [(t, "alarm", 0.0) for t in range(8)]
    codes = [quality.GOOD] * len(rows)
    codes[rows.index((6, "speed", 500))] = quality.BAD_SENSOR_FAILURE
    pt = tracker(p)
    pt.feed(samples(p, rows, codes))
    assert states_of(pt, 8) == [
        (0, 2, "running"),
        (2, 3, "unknown"),
        (3, 4, "running"),
        (4, 5, "unknown"),
        (5, 6, "running"),
        (6, 7, "unknown"),
        (7, 8, "running"),
    ]
    assert pt.trackers[PRESS].bad_samples == 3


def test_a_silent_asset_turns_unknown_after_stale_after() -> None:
    p = plant()
    pt = tracker(p)
    pt.feed(samples(p, every_second(range(3), speed=500, program=7, alarm=0)))
    assert states_of(pt, 20) == [(0, 20, "running")]
    assert states_of(pt, 100) == [(0, 32, "running"), (32, 100, "unknown")]
    pt.feed(samples(p, every_second(range(200, 202), speed=500, program=7, alarm=0)))
    assert states_of(pt, 202) == [(0, 32, "running"), (32, 200, "unknown"), (200, 202, "running")]


def test_without_stale_after_silence_keeps_the_state() -> None:
    """Report by exception: nothing is sent while nothing changes."""
    p = plant()
    config = {"asset_types": {"press": {**RULES["asset_types"]["press"], "stale_after": None}}}
    pt = tracker(p, config)
    pt.feed(samples(p, every_second(range(3), speed=500, program=7, alarm=0)))
    assert states_of(pt, 1000) == [(0, 1000, "running")]


def test_one_missing_signal_is_enough_for_unknown() -> None:
    p = plant()
    rows = [*every_second(range(60), speed=500, alarm=0), (0, "program", 7.0)]
    pt = tracker(p)
    pt.feed(samples(p, rows))
    assert states_of(pt, 60) == [(0, 30, "running"), (30, 60, "unknown")]


def test_hold_bridges_gaps_in_a_pulsing_signal() -> None:
    p = plant()
    config = {
        "asset_types": {
            "press": {
                "rules": [{"state": "running", "when": "speed > 100", "hold": "5s"}],
                "counters": {"good": "good"},
            }
        }
    }
    speed = [500, 0, 0, 0, 500, 0, 0, 0, 0, 0, 0, 0]
    pt = tracker(p, config)
    pt.feed(samples(p, every_second(range(12), speed=speed)))
    assert states_of(pt, 12) == [(0, 10, "running"), (10, 12, "idle")]


def test_counts_carry_their_time_and_the_ideal_cycle() -> None:
    p = plant()
    good = [100, 101, 101, 0, 1, 2]
    scrap = [5, 5, 6, 6, 6, 6]
    pt = tracker(p)
    pt.feed(
        samples(p, every_second(range(6), good=good, scrap=scrap, speed=500, program=1, alarm=0))
    )
    c = pt.trackers[PRESS].counts()
    assert ((c.ts_ns - T0) // S).tolist() == [1, 2, 4, 5]
    assert c.total.tolist() == [1, 1, 1, 1]
    assert c.scrap.tolist() == [0, 1, 0, 0]
    assert set(c.cycle_ns.tolist()) == {10 * S}


def test_ideal_cycle_by_program_with_a_fallback() -> None:
    p = plant()
    config = {
        "asset_types": {
            "press": {
                "from_enum": "state",
                "counters": {"good": "good"},
                "ideal_cycle_time": {"program": {1001: "90s", 1002: "2m"}, "otherwise": "1m"},
            }
        }
    }
    pt = tracker(p, config)
    rows = every_second(range(4), good=[1, 2, 3, 4], program=[1001, 1002, 5, 1001], state=2)
    pt.feed(samples(p, rows))
    assert (pt.trackers[PRESS].counts().cycle_ns // S).tolist() == [120, 60, 90]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=299), max_size=6, unique=True))
def test_result_does_not_depend_on_how_batches_are_cut(cuts: list[int]) -> None:
    p = plant()
    rng = np.random.default_rng(3)
    speed = np.repeat(rng.choice([0.0, 500.0], 30), 10)
    speed[rng.integers(0, 300, 5)] = np.nan
    alarm = np.repeat(rng.choice([0.0, 1.0], 30, p=[0.8, 0.2]), 10)
    times = [t for t in range(300) if not 120 <= t < 180]  # a silence longer than stale_after
    rows = every_second(
        times,
        speed=[float(speed[t]) for t in times],
        alarm=[float(alarm[t]) for t in times],
        program=7,
        good=[float(t // 7) for t in times],
    )
    whole = samples(p, rows)
    one = tracker(p)
    one.feed(whole)
    many = tracker(p)
    bounds = [0, *sorted(T0 + c * S for c in cuts), T0 + 400 * S]
    for a, b in itertools.pairwise(bounds):
        many.feed(whole.select((whole.ts >= a) & (whole.ts < b)))
    assert states_of(one, 300) == states_of(many, 300)
    c1, c2 = one.trackers[PRESS].counts(), many.trackers[PRESS].counts()
    assert c1.ts_ns.tolist() == c2.ts_ns.tolist() and c1.total.tolist() == c2.total.tolist()


def test_late_samples_cannot_rewrite_the_past_and_are_counted() -> None:
    p = plant()
    pt = tracker(p)
    pt.feed(samples(p, every_second(range(5, 10), speed=500, program=7, alarm=0)))
    before = states_of(pt, 10)
    pt.feed(samples(p, every_second(range(3), speed=0, program=7, alarm=0)))
    assert states_of(pt, 10) == before
    assert pt.trackers[PRESS].late_samples == 9


def test_unordered_batch_is_sorted_first() -> None:
    p = plant()
    rows = every_second(range(4), speed=[0, 0, 500, 500], program=7, alarm=0)
    pt = tracker(p)
    pt.feed(samples(p, rows[::-1]))
    assert states_of(pt, 4) == [(0, 2, "idle"), (2, 4, "running")]


def test_binding_names_the_asset_and_the_missing_signal() -> None:
    p = plant()
    config = {"asset_types": {"press": {"rules": [{"state": "running", "when": "rpm > 1"}]}}}
    with pytest.raises(BindingError, match=r"s/a/l/p1.*\['rpm'\]"):
        tracker(p, config)


def test_a_state_without_category_is_refused() -> None:
    p = plant()
    config = {"asset_types": {"press": {"rules": [{"state": "dancing", "when": "speed > 1"}]}}}
    with pytest.raises(BindingError, match="dancing"):
        tracker(p, config)
