"""``check_plan``: every rule a plan breaks for a problem, for callers and tests alike."""

from __future__ import annotations

from plantos.mom.scheduling.evaluate import violations
from plantos.mom.scheduling.instance import Instance
from plantos.mom.scheduling.problem import Plan, Problem
from plantos.mom.scheduling.routes import resolve


def check_plan(problem: Problem, plan: Plan) -> list[str]:
    """Plain sentences naming each broken rule; empty when the plan is feasible.

    The plan is checked against the routing it chose for each order. Raises
    :class:`SchedulingError` when the problem itself cannot be planned, or the plan names
    a routing the order does not have.
    """
    assignments = {a.key: a for a in plan.assignments}
    if len(assignments) != len(plan.assignments):
        return ["an operation is planned twice"]
    return violations(Instance(resolve(problem, plan.routings)), assignments)
