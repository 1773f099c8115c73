"""Finite-capacity scheduling of production orders over assets.

Pure: no database, bus or web imports. ``solve`` plans with CP-SAT (weighted
tardiness first, then makespan, then stability against the last published plan)
and falls back to ``dispatch`` (earliest due date, first free slot); an order may
switch to one of its alternative routings when that lowers weighted tardiness.
``repair`` keeps the previous plan where it still fits, in milliseconds; ``diff`` tells
what changed between two plans; ``violations`` names every rule a plan breaks.
"""

from plantos.mom.scheduling.diff import diff
from plantos.mom.scheduling.dispatch import dispatch, repair
from plantos.mom.scheduling.planner import Interrupt, solve
from plantos.mom.scheduling.problem import (
    AssetOption,
    Assignment,
    Changeover,
    Job,
    Move,
    Operation,
    Plan,
    Problem,
    Route,
    ScheduleDiff,
    SchedulingError,
)
from plantos.mom.scheduling.verify import check_plan

__all__ = [
    "AssetOption",
    "Assignment",
    "Changeover",
    "Interrupt",
    "Job",
    "Move",
    "Operation",
    "Plan",
    "Problem",
    "Route",
    "ScheduleDiff",
    "SchedulingError",
    "check_plan",
    "diff",
    "dispatch",
    "repair",
    "solve",
]
