"""A schedule as a Gantt chart drawn on the server: one row per asset of a line, one bar
per planned operation, for the plan in force and the one before it on the same time axis,
so a recalculation shows as bars that moved; maintenance windows show as hatched bands on
their machine's row, so a planner sees why operations left it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.domain.plan import PublishedPlan

WIDTH_PX = 900
ROW_PX = 26


@dataclass(frozen=True)
class Bar:
    order: str
    index: int
    x: float
    width: float
    y: int
    title: str
    moved: bool


@dataclass(frozen=True)
class Band:
    """A maintenance window on an asset's row."""

    x: float
    width: float
    y: int
    title: str


@dataclass(frozen=True)
class Chart:
    label: str
    plan_id: int | None
    trigger: str
    solver: str
    created: str
    bars: tuple[Bar, ...]
    bands: tuple[Band, ...]
    height: int


@dataclass(frozen=True)
class Window:
    """A work order's maintenance window, ``[start_s, end_s)`` on ``asset``."""

    work_order: str
    asset: str
    start_s: int
    end_s: int


def axis(
    plans: list[PublishedPlan], assets: list[str], windows: Sequence[Window] = ()
) -> tuple[int, int]:
    """The common time span (seconds) of the plans' operations and the maintenance
    windows on ``assets``."""
    spans = [(o.start_s, o.end_s) for p in plans for o in p.operations if o.asset in assets]
    spans += [(w.start_s, w.end_s) for w in windows if w.asset in assets]
    if not spans:
        return 0, 1
    start = min(a for a, _ in spans)
    return start, max(max(b for _, b in spans), start + 1)


def chart(
    label: str,
    plan: PublishedPlan,
    assets: list[str],
    span: tuple[int, int],
    other: PublishedPlan | None,
    *,
    windows: Sequence[Window] = (),
    when: Callable[[int], str],
) -> Chart:
    """The bars of ``plan`` on ``assets``; a bar is marked moved when ``other`` (the plan
    compared with) has that operation elsewhere or at another time. ``when`` writes a
    time (ns) for people."""
    t0, t1 = span
    scale = WIDTH_PX / (t1 - t0)
    before = {(o.order_id, o.index): o for o in other.operations} if other else {}
    bars = []
    for o in plan.operations:
        if o.asset not in assets:
            continue
        was = before.get((o.order_id, o.index))
        bars.append(
            Bar(
                order=o.order_id,
                index=o.index,
                x=round((o.start_s - t0) * scale, 1),
                width=max(round((o.end_s - o.start_s) * scale, 1), 2.0),
                y=assets.index(o.asset) * ROW_PX,
                title=f"{o.order_id} op {o.index} on {o.asset}: "
                f"{when(o.start_s * NS)} to {when(o.end_s * NS)}",
                moved=was is not None and (was.asset, was.start_s) != (o.asset, o.start_s),
            )
        )
    bands = tuple(
        Band(
            x=round((max(w.start_s, t0) - t0) * scale, 1),
            width=max(round((min(w.end_s, t1) - max(w.start_s, t0)) * scale, 1), 2.0),
            y=assets.index(w.asset) * ROW_PX,
            title=f"maintenance window of {w.work_order} on {w.asset}: "
            f"{when(w.start_s * NS)} to {when(w.end_s * NS)}",
        )
        for w in windows
        if w.asset in assets and w.end_s > t0 and w.start_s < t1
    )
    return Chart(
        label,
        plan.id,
        plan.trigger,
        plan.solver,
        when(plan.created_ns),
        tuple(bars),
        bands,
        ROW_PX * len(assets),
    )
