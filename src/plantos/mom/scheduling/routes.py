"""Alternative routings: the problem with every way of making an order, and back.

CP-SAT chooses among an order's routings with one optional job per routing, exactly
one of them present. :func:`expand` writes those jobs out, each alternative under an
id of its own so its operations never share a key with the order's; :func:`resolve`
turns a choice back into a plain problem, whose order has the chosen routing's
operations and nothing else, for the checks, the figures and the polish.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from plantos.mom.scheduling.problem import Job, Problem, SchedulingError


@dataclass(frozen=True)
class Variants:
    """The expanded problem, and per order the ids of its jobs there, its own first."""

    problem: Problem
    groups: Mapping[str, tuple[str, ...]]
    routing_of: Mapping[str, tuple[str, str]]
    """Job id in the expanded problem -> (order id, routing)."""


def expand(problem: Problem, orders: Collection[str]) -> Variants:
    """``problem`` with the alternatives of ``orders`` as jobs of their own."""
    taken = {job.order_id for job in problem.jobs}
    jobs: list[Job] = []
    groups: dict[str, tuple[str, ...]] = {}
    routing_of: dict[str, tuple[str, str]] = {}
    for job in problem.jobs:
        jobs.append(dataclasses.replace(job, alternatives=()))
        if job.order_id not in orders or not job.alternatives:
            continue
        ids = [job.order_id]
        routing_of[job.order_id] = (job.order_id, job.routing)
        for route in job.alternatives:
            variant = f"{job.order_id} via {route.routing}"
            while variant in taken:
                variant += "'"
            taken.add(variant)
            ops = tuple(dataclasses.replace(op, order_id=variant) for op in route.operations)
            jobs.append(
                dataclasses.replace(
                    job, order_id=variant, operations=ops, routing=route.routing, alternatives=()
                )
            )
            ids.append(variant)
            routing_of[variant] = (job.order_id, route.routing)
        groups[job.order_id] = tuple(ids)
    return Variants(dataclasses.replace(problem, jobs=tuple(jobs)), groups, routing_of)


def resolve(problem: Problem, chosen: Mapping[str, str]) -> Problem:
    """``problem`` with each order of ``chosen`` made by the routing chosen for it and no
    alternatives left. An order that changed routing keeps nothing of the previous plan:
    its old operations were steps of another routing."""
    jobs: list[Job] = []
    switched: set[str] = set()
    for job in problem.jobs:
        routing = chosen.get(job.order_id, job.routing)
        if routing == job.routing:
            jobs.append(dataclasses.replace(job, alternatives=()))
            continue
        route = next((r for r in job.alternatives if r.routing == routing), None)
        if route is None:
            raise SchedulingError(f"order {job.order_id!r} has no routing {routing!r}")
        switched.add(job.order_id)
        jobs.append(
            dataclasses.replace(job, operations=route.operations, routing=routing, alternatives=())
        )
    previous = tuple(a for a in problem.previous if a.order_id not in switched)
    return dataclasses.replace(problem, jobs=tuple(jobs), previous=previous)
