"""The scheduler's vocabulary: what is to be planned, on what, and the plan that comes back.

All times are integer UTC epoch seconds and all durations integer seconds, so a plan
compares exactly with the one before it and crosses the API unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from plantos.core.errors import PlantOSError


class SchedulingError(PlantOSError):
    """The problem cannot be planned as given (an operation with no option, an unknown asset,
    a fixed operation that collides with another); the message names the culprit."""


@dataclass(frozen=True)
class AssetOption:
    """One eligible asset for an operation, with the times the operation takes there."""

    asset: str
    setup_s: int
    run_s: int

    @property
    def duration_s(self) -> int:
        """Setup plus run: how long the asset is busy when no changeover entry applies."""
        return self.setup_s + self.run_s


@dataclass(frozen=True)
class Operation:
    """One step of an order's routing; ``index`` orders the steps of one order."""

    order_id: str
    index: int
    options: tuple[AssetOption, ...]
    family: str | None = None


@dataclass(frozen=True)
class Route:
    """Another routing an order may be made by instead of its own: the routing's name and
    the order's operations along it (with the order's id)."""

    routing: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Job:
    """An order to plan: its operations, earliest start, due date and priority weight.

    ``operations`` follow ``routing``, the routing the order keeps unless another of
    ``alternatives`` lowers the weighted tardiness; the plan names the one chosen.
    """

    order_id: str
    operations: tuple[Operation, ...]
    release_s: int
    due_s: int
    weight: int = 1
    routing: str = ""
    alternatives: tuple[Route, ...] = ()


@dataclass(frozen=True)
class Changeover:
    """Sequence-dependent setup: on ``asset``, family ``to_family`` right after
    ``from_family`` needs ``setup_s`` instead of the option's own setup."""

    asset: str
    from_family: str
    to_family: str
    setup_s: int


@dataclass(frozen=True)
class Assignment:
    """One operation placed on one asset over ``[start_s, end_s)``."""

    order_id: str
    index: int
    asset: str
    start_s: int
    end_s: int

    @property
    def key(self) -> tuple[str, int]:
        """The operation this assignment places."""
        return (self.order_id, self.index)


@dataclass(frozen=True)
class Problem:
    """Everything the scheduler needs at one moment ``now_s``.

    ``unavailable`` holds, per asset, the ``[start, end)`` intervals it cannot work
    (off shift, planned downtime, maintenance windows, breakdowns). ``fixed``
    operations (running or frozen) are kept exactly; moving an operation of
    ``previous`` costs stability; operations of ``previous`` starting before
    ``frozen_until_s`` do not move at all.
    """

    now_s: int
    jobs: tuple[Job, ...]
    assets: tuple[str, ...]
    unavailable: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    changeovers: tuple[Changeover, ...] = ()
    fixed: tuple[Assignment, ...] = ()
    previous: tuple[Assignment, ...] = ()
    frozen_until_s: int | None = None


@dataclass(frozen=True)
class Plan:
    """The scheduler's answer with the figures a planner compares plans by."""

    assignments: tuple[Assignment, ...]
    solver: str
    status: str
    weighted_tardiness_s: int
    makespan_s: int
    moved: int
    solve_ms: float
    routings: Mapping[str, str] = field(default_factory=dict)
    """The routing chosen for each order that had alternatives."""


@dataclass(frozen=True)
class Move:
    """One operation whose asset or start differs between two plans."""

    order_id: str
    index: int
    old_asset: str
    old_start_s: int
    old_end_s: int
    new_asset: str
    new_start_s: int
    new_end_s: int


@dataclass(frozen=True)
class ScheduleDiff:
    """What changed for the people on the floor: moved operations, new ETAs, late orders."""

    moved: tuple[Move, ...]
    etas: Mapping[str, int]
    late_orders: tuple[str, ...]
