"""A schedule as a Gantt chart drawn on the server: one row per asset of a line, one bar
per planned operation, for the plan in force and the one before it on the same time axis,
so a recalculation shows as bars that moved."""

from __future__ import annotations

from dataclasses import dataclass

from plantos.core.timeparse import iso
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
class Chart:
    label: str
    plan_id: int | None
    trigger: str
    created: str
    bars: tuple[Bar, ...]
    height: int


def axis(plans: list[PublishedPlan], assets: list[str]) -> tuple[int, int]:
    """The common time span (seconds) of the plans' operations on ``assets``."""
    ops = [o for p in plans for o in p.operations if o.asset in assets]
    if not ops:
        return 0, 1
    return min(o.start_s for o in ops), max(
        max(o.end_s for o in ops), min(o.start_s for o in ops) + 1
    )


def chart(
    label: str,
    plan: PublishedPlan,
    assets: list[str],
    span: tuple[int, int],
    other: PublishedPlan | None,
) -> Chart:
    """The bars of ``plan`` on ``assets``; a bar is marked moved when ``other`` (the plan
    compared with) has that operation elsewhere or at another time."""
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
                f"{iso(o.start_s * NS)} to {iso(o.end_s * NS)}",
                moved=was is not None and (was.asset, was.start_s) != (o.asset, o.start_s),
            )
        )
    return Chart(
        label, plan.id, plan.trigger, iso(plan.created_ns), tuple(bars), ROW_PX * len(assets)
    )
