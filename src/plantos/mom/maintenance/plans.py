"""Preventive plans: a job done every so often by the calendar or by a meter.

A plan counts along one axis: plant time for a calendar plan, a meter reading for a
meter plan (operating hours, parts made, a tag's integral). It is *due* at a position
on that axis and opens its preventive work order ``lead`` earlier. Completing the work
order moves the due position on: a *floating* plan counts ``every`` from the completion,
a *fixed* plan keeps its grid (``start + k * every``) and takes the first date after the
completion. A cancelled work order ends its occurrence the same way, so a planner who
cancels one is not handed it again at once.

>>> plan = PreventivePlan(id="p", asset="a", title="t", every=10.0, lead=2.0, meter=Meter("parts"))
>>> next_due(plan, due=10.0, done_at=11.0), next_due(plan, due=10.0, done_at=25.0)
(21.0, 35.0)
>>> fixed = PreventivePlan(id="p", asset="a", title="t", every=10.0, interval="fixed",
...                        meter=Meter("parts"))
>>> next_due(fixed, due=10.0, done_at=11.0), next_due(fixed, due=10.0, done_at=25.0)
(20.0, 30.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.maintenance.errors import InvalidPlanError

MeterSource = Literal["hours", "parts", "integral", "sum"]
METER_SOURCES: tuple[MeterSource, ...] = ("hours", "parts", "integral", "sum")
METER_UNITS = {"hours": "h", "parts": "parts", "integral": "", "sum": ""}
INTERVALS = ("floating", "fixed")


@dataclass(frozen=True, slots=True)
class Meter:
    """What a meter plan counts.

    ``hours``: time the asset spent in ``states`` (its machine states, as OEE computes
    them), in hours; ``parts``: parts its OEE counter counted; ``integral``: the
    time integral of ``tag`` (value x time, time in ``per_ns``: a flow in m3/h with
    ``per`` 1h gives m3); ``sum``: the sum of ``tag``'s samples (each an amount).
    """

    source: MeterSource
    tag: str | None = None
    states: tuple[str, ...] = ("running",)
    per_ns: int = NS

    def __post_init__(self) -> None:
        if self.source not in METER_SOURCES:
            raise InvalidPlanError(f"meter must be one of {', '.join(METER_SOURCES)}")
        if (self.source in ("integral", "sum")) != (self.tag is not None):
            raise InvalidPlanError(
                f"a {self.source} meter {'needs' if self.tag is None else 'takes no'} tag"
            )
        if self.per_ns <= 0:
            raise InvalidPlanError(f"per must be a positive duration, not {self.per_ns} ns")


@dataclass(frozen=True, slots=True)
class PreventivePlan:
    """A plan's definition. ``every`` and ``lead`` are nanoseconds for a calendar plan
    (``meter`` None) and meter units otherwise; ``start_ns`` is where counting begins,
    as if the job had been done then (None: when the plan is first evaluated)."""

    id: str
    asset: str
    title: str
    every: float
    lead: float = 0.0
    interval: str = "floating"
    meter: Meter | None = None
    start_ns: int | None = None
    priority: int = 4
    failure_mode: str | None = None
    origin: str = "file"
    """``file`` (the plant file owns it) or ``api`` (created over HTTP)."""

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 64:
            raise InvalidPlanError(f"a plan id needs 1 to 64 characters: {self.id!r}")
        if not math.isfinite(self.every) or self.every <= 0:
            raise InvalidPlanError(f"plan {self.id}: every must be positive, not {self.every!r}")
        if not math.isfinite(self.lead) or not 0 <= self.lead < self.every:
            raise InvalidPlanError(
                f"plan {self.id}: lead must be at least 0 and less than every ({self.every:g}), "
                f"not {self.lead!r}"
            )
        if self.interval not in INTERVALS:
            raise InvalidPlanError(
                f"plan {self.id}: interval must be fixed or floating, not {self.interval!r}"
            )
        if self.priority not in (1, 2, 3, 4):
            raise InvalidPlanError(f"plan {self.id}: priority must be 1-4, not {self.priority!r}")

    @property
    def unit(self) -> str:
        """What ``every`` counts: ``h``, ``parts`` or a meter's own unit; ``ns`` for time."""
        return "ns" if self.meter is None else METER_UNITS[self.meter.source]


@dataclass
class PlanState:
    """Where a plan stands; saved with the work orders it opens, in the same commit.

    ``reading`` is the meter's total from the plan's start up to ``reading_ns`` (never
    reset, so fixed and floating plans read the same number); ``due`` a position on
    the plan's axis (ns or meter units); ``done_at`` the position of the last completion
    (or of the start)."""

    due: float
    done_at: float
    reading: float = 0.0
    reading_ns: int | None = None
    work_order: str | None = None
    """The plan's open work order: while it is set, the plan opens no other."""
    last_done_ns: int | None = None
    last_work_order: str | None = None
    disabled_by: str | None = None
    """Who disabled the plan (None: it is enabled). A disabled plan keeps counting and
    follows its open work order, but opens no new one."""
    disabled_ns: int | None = None
    version: int = field(default=0, compare=False)

    @property
    def enabled(self) -> bool:
        return self.disabled_by is None

    def position(self, plan: PreventivePlan, now_ns: int) -> float:
        """How far the plan has counted: now for a calendar plan, the reading otherwise."""
        return float(now_ns) if plan.meter is None else self.reading

    def is_due(self, plan: PreventivePlan, now_ns: int) -> bool:
        """Time to open the work order: the due position minus the lead is reached."""
        return self.position(plan, now_ns) >= self.due - plan.lead

    def disable(self, by: str, at_ns: int) -> None:
        """Stop opening work orders; a plan disabled already keeps who disabled it first."""
        if self.disabled_by is None:
            self.disabled_by, self.disabled_ns = by, at_ns

    def enable(self) -> None:
        self.disabled_by = self.disabled_ns = None


def first_state(plan: PreventivePlan, now_ns: int) -> PlanState:
    """A new plan's state: counting from its start (or now), due ``every`` later."""
    start_ns = plan.start_ns if plan.start_ns is not None else now_ns
    if plan.meter is None:
        return PlanState(due=float(start_ns) + plan.every, done_at=float(start_ns))
    return PlanState(due=plan.every, done_at=0.0, reading_ns=start_ns)


def next_due(plan: PreventivePlan, *, due: float, done_at: float) -> float:
    """The due position after the occurrence due at ``due`` was done at ``done_at``."""
    if plan.interval == "floating":
        return done_at + plan.every
    steps = max(1, math.floor((done_at - due) / plan.every) + 1)
    return due + steps * plan.every


def carry_state(old: PreventivePlan, new: PreventivePlan, state: PlanState, *, now_ns: int) -> None:
    """A plan's definition changed: keep where it stands. A new ``every`` or interval
    counts from the last completion; a new meter starts reading from now."""
    if old.meter != new.meter:
        fresh = first_state(new, now_ns)
        state.reading, state.reading_ns, state.done_at = 0.0, fresh.reading_ns, fresh.done_at
    if (old.every, old.meter, old.interval) != (new.every, new.meter, new.interval):
        state.due = state.done_at + new.every
