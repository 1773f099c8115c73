"""MTBF, MTTR and availability from machine states, against hand-computed figures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantos.mom.maintenance.reliability import (
    UNATTRIBUTED,
    StateSpan,
    reliability,
)
from plantos.mom.maintenance.workorder import Window, WorkOrder

H = 3600 * 1_000_000_000
CATS = ["producing", "setup", "delay", "unplanned_downtime", "planned_downtime", "unknown"]


def spans(*parts: tuple[float, str]) -> list[StateSpan]:
    """Consecutive spans from 0, each (hours, category)."""
    out, t = [], 0
    for hours, cat in parts:
        out.append(StateSpan(t, t + int(hours * H), cat))
        t += int(hours * H)
    return out


def order(
    oid: str, mode: str | None, *, kind: str = "corrective", start: float, end: float
) -> WorkOrder:
    o = WorkOrder.request(
        by="planner", id=oid, asset="a/cnc1", kind=kind, title="t", opened_ns=0, failure_mode=mode
    )
    o.window = Window(int(start * H), int(end * H))
    return o


def test_hand_computed_two_failures() -> None:
    # 10 h: up 4, down 1, up 2, planned 1, down 2 (repaired at 10h? no: open at end).
    s = spans((4, "producing"), (1, "unplanned_downtime"), (2, "setup"), (1, "planned_downtime"),
              (1.5, "unplanned_downtime"), (0.5, "producing"))  # fmt: skip
    r = reliability(s, 0, 10 * H)
    assert r.up_s == 6.5 * 3600
    assert r.planned_s == 3600
    assert r.unknown_s == 0
    assert r.total.failures == 2
    assert r.total.mtbf_s == pytest.approx(6.5 * 3600 / 2)
    assert r.total.mttr_s == pytest.approx(1.25 * 3600)
    assert r.total.availability == pytest.approx(3.25 / (3.25 + 1.25))
    assert r.uptime_share == pytest.approx(6.5 / 9)
    assert r.modes[UNATTRIBUTED].failures == 2


def test_touching_down_states_are_one_failure_and_open_one_left_out_of_mttr() -> None:
    s = spans((2, "producing"), (1, "unplanned_downtime"), (1, "unplanned_downtime"),
              (2, "producing"), (2, "unplanned_downtime"))  # fmt: skip
    r = reliability(s, 0, 8 * H)
    assert r.total.failures == 2
    assert r.failures[0].duration_s == 2 * 3600 and not r.failures[0].open
    assert r.failures[1].open
    assert r.total.mttr_s == 2 * 3600  # only the finished repair
    assert r.total.down_s == 4 * 3600


def test_no_failure_gives_null_not_infinity() -> None:
    r = reliability(spans((5, "producing")), 0, 5 * H)
    assert r.total.failures == 0
    assert r.total.mtbf_s is None and r.total.mttr_s is None and r.total.availability is None
    assert r.uptime_share == 1.0
    assert r.modes == {}


def test_failure_going_at_range_start_adds_down_time_but_is_not_counted() -> None:
    s = spans((3, "unplanned_downtime"), (3, "producing"))
    r = reliability(s, 2 * H, 6 * H)
    assert r.total.failures == 0
    assert r.total.down_s == 3600
    assert r.up_s == 3 * 3600


def test_uncovered_time_is_unknown() -> None:
    r = reliability([StateSpan(H, 2 * H, "producing")], 0, 4 * H)
    assert r.unknown_s == 3 * 3600
    assert r.up_s == 3600


def test_attribution_by_window_overlap_and_by_completion() -> None:
    s = spans((2, "producing"), (1, "unplanned_downtime"), (2, "producing"),
              (1, "unplanned_downtime"), (2, "producing"), (1, "unplanned_downtime"))  # fmt: skip
    bearing = order("wo-1", "VIB", start=2.5, end=3.5)
    wrong_kind = order("wo-pm", "PM", kind="preventive", start=5, end=6)
    seal = WorkOrder.request(
        by="p", id="wo-2", asset="a/cnc1", kind="predictive", title="t", opened_ns=0,
        failure_mode="ELP",
    )  # fmt: skip
    seal.closed_ns = int(5.5 * H)  # closed during the second failure, no window, never started
    r = reliability(s, 0, 9 * H, orders=[bearing, wrong_kind, seal])
    assert [(f.mode, f.work_order) for f in r.failures] == [
        ("VIB", "wo-1"), ("ELP", "wo-2"), (UNATTRIBUTED, None)
    ]  # fmt: skip
    vib = r.modes["VIB"]
    assert vib.failures == 1 and vib.mttr_s == 3600 and vib.down_s == 3600
    assert vib.mtbf_s == pytest.approx(6 * 3600)  # the asset's up time / this mode's failures
    assert r.modes[UNATTRIBUTED].mttr_s is None  # open at the end


def test_best_overlap_wins() -> None:
    s = spans((1, "producing"), (2, "unplanned_downtime"), (1, "producing"))
    short = order("wo-a", "A", start=0.5, end=1.5)
    long_ = order("wo-b", "B", start=1.5, end=3.5)
    r = reliability(s, 0, 4 * H, orders=[short, long_])
    assert r.failures[0].mode == "B"


def test_empty_range_is_refused() -> None:
    with pytest.raises(ValueError, match="empty range"):
        reliability([], 5, 5)


parts = st.lists(st.tuples(st.integers(1, 10 * H), st.sampled_from(CATS)), min_size=0, max_size=12)


@given(parts, st.integers(0, 5 * H), st.integers(1, 40 * H))
def test_properties(chunks: list[tuple[int, str]], offset: int, length: int) -> None:
    s, t = [], 0
    for n, cat in chunks:
        s.append(StateSpan(t, t + n, cat))
        t += n
    r = reliability(s, offset, offset + length)
    total = r.up_s + r.total.down_s + r.planned_s + r.unknown_s
    assert total == pytest.approx(length / 1e9)
    for value in (r.total.availability, r.uptime_share):
        assert value is None or 0 <= value <= 1
    assert (r.total.mtbf_s is None) == (r.total.failures == 0)
    assert sum(m.failures for m in r.modes.values()) == r.total.failures
