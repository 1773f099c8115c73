"""Finite-capacity scheduling of production orders over assets.

Pure: no database, bus or web imports. ``solve`` plans with CP-SAT (weighted
tardiness first, then makespan, then stability against the last published plan)
and falls back to ``dispatch`` (earliest due date, first free slot); ``diff``
tells what changed between two plans.
"""

from plantos.mom.scheduling.problem import (
    AssetOption,
    Assignment,
    Changeover,
    Job,
    Move,
    Operation,
    Plan,
    Problem,
    ScheduleDiff,
    SchedulingError,
)

__all__ = [
    "AssetOption",
    "Assignment",
    "Changeover",
    "Job",
    "Move",
    "Operation",
    "Plan",
    "Problem",
    "ScheduleDiff",
    "SchedulingError",
]
