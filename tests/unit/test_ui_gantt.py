"""The server-drawn Gantt: bars on their asset's row on a common time axis, moved bars
marked, and maintenance windows as bands on their machine's row, clipped to the axis."""

from __future__ import annotations

from plantos.mom.domain.plan import PlannedOperation, PublishedPlan
from plantos.ui.gantt import WIDTH_PX, Window, axis, chart

M1, M2 = "p/a/l/m1", "p/a/l/m2"
T0 = 1_767_589_200


def plan(*ops: PlannedOperation, plan_id: int = 2) -> PublishedPlan:
    return PublishedPlan(
        created_ns=T0 * 10**9, trigger="maintenance window", asset=M1, solver="repair",
        status="heuristic", weighted_tardiness_s=0, makespan_s=0, moved=0, solve_ms=3.0,
        operations=ops, id=plan_id,
    )  # fmt: skip


def test_windows_widen_the_axis_and_show_on_their_machines_row() -> None:
    before = plan(PlannedOperation("o-1", 0, M1, T0, T0 + 3600), plan_id=1)
    now = plan(PlannedOperation("o-1", 0, M2, T0 + 1800, T0 + 5400))
    windows = [Window("WO-1", M1, T0, T0 + 7200), Window("WO-2", "p/a/other/m9", T0, T0 + 99)]
    span = axis([now, before], [M1, M2], windows)
    assert span == (T0, T0 + 7200)
    drawn = chart("Current plan", now, [M1, M2], span, before, windows=windows, when=str)
    (band,) = drawn.bands  # the other line's window is not drawn
    assert (band.x, band.width, band.y) == (0.0, float(WIDTH_PX), 0)
    assert "WO-1" in band.title and M1 in band.title
    (bar,) = drawn.bars
    assert bar.y == 26 and bar.moved and bar.x == WIDTH_PX / 4
    assert drawn.solver == "repair" and drawn.created == str(T0 * 10**9)


def test_a_window_beyond_the_plans_is_clipped_to_the_axis() -> None:
    now = plan(PlannedOperation("o-1", 0, M2, T0, T0 + 3600))
    span = axis([now], [M1, M2])
    late = [Window("WO-3", M1, T0 + 1800, T0 + 90_000)]
    (band,) = chart("Current plan", now, [M1, M2], span, None, windows=late, when=str).bands
    assert band.x == WIDTH_PX / 2 and band.x + band.width == WIDTH_PX
