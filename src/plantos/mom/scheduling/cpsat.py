"""One way to build a CP-SAT solver that gives the same answer on an idle or a busy
machine, for the planner and the job-shop solver alike.

CP-SAT is repeatable only when its search is bounded by deterministic time (a count of
its operations), its seed is fixed and, with more than one worker, the workers search
in synchronised batches; the wall clock then only stops a search that overruns.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

SEED = 7


def deterministic_solver(
    work: float, *, workers: int, deadline: float, batch_size: int = 0
) -> cp_model.CpSolver:
    """A solver bounded by ``work`` deterministic time, repeatable for a given number of
    ``workers``, and stopped at ``deadline`` (``time.perf_counter()``) at the latest.
    ``batch_size`` is the tasks per synchronised batch (0: CP-SAT's own choice)."""
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = work
    solver.parameters.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
    solver.parameters.num_workers = workers
    # several workers are only repeatable when they search in synchronised batches
    solver.parameters.interleave_search = workers > 1
    solver.parameters.interleave_batch_size = batch_size
    solver.parameters.random_seed = SEED
    solver.parameters.catch_sigint_signal = False  # Ctrl-C is the platform's to handle
    return solver
