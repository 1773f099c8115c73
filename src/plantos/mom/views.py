"""Read models: orders, master data and plans as plain mappings for the API, the pages
and reports, with times as ISO 8601 UTC."""

from __future__ import annotations

from typing import Any

from plantos.core.timeparse import iso
from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.domain.master import Product, Routing
from plantos.mom.domain.order import ALLOWED, ProductionOrder
from plantos.mom.domain.plan import PublishedPlan


def _t(ts_ns: int | None) -> str | None:
    return None if ts_ns is None else iso(ts_ns)


def order_view(
    order: ProductionOrder, routing: Routing | None = None, plan: PublishedPlan | None = None
) -> dict[str, Any]:
    """The order as the API and pages show it; ``planned_routing`` is the routing the plan
    in force makes it by (an alternative of ``routing`` when the planner switched it),
    null while no plan holds the order."""
    op = order.current_operation
    planned = None
    if plan is not None and any(o.order_id == order.id for o in plan.operations):
        planned = plan.routing_of(order.id) or order.routing
    return {
        "id": order.id,
        "product": order.product,
        "routing": order.routing,
        "planned_routing": planned,
        "quantity": order.quantity,
        "good": order.good_total,
        "scrap": order.scrap_total,
        "progress": round(min(order.good_total / order.quantity, 1.0), 4),
        "state": order.state,
        "allowed": sorted(ALLOWED[order.state]),
        "priority": order.priority,
        "counting": order.counting,
        "asset": order.asset,
        "operation": {
            "index": op,
            "name": routing.steps[op].name if routing else None,
            "good": order.good[op],
            "scrap": order.scrap[op],
        },
        "operations": [
            {"index": i, "name": routing.steps[i].name if routing else None, "good": g, "scrap": s}
            for i, (g, s) in enumerate(zip(order.good, order.scrap, strict=True))
        ],
        "release": _t(order.release_ns),
        "due": _t(order.due_ns),
        "started": _t(order.started_ns),
        "completed": _t(order.completed_ns),
        "eta": _t(order.eta_ns),
        "late": (order.completed_ns or order.eta_ns or 0) > order.due_ns,
        "runs": [{"asset": a, "start": _t(s), "end": _t(e)} for a, s, e in order.runs],
    }


def product_view(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "routing": product.routing,
        "counting": product.counting,
    }


def routing_view(routing: Routing) -> dict[str, Any]:
    return {
        "id": routing.id,
        "product": routing.product,
        "alternatives": list(routing.alternatives),
        "operations": [
            {
                "name": s.name,
                "assets": [
                    {"asset": o.asset, "setup_s": o.setup_s, "run_s_per_unit": o.run_s_per_unit}
                    for o in s.options
                ],
            }
            for s in routing.steps
        ],
    }


def plan_view(plan: PublishedPlan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "created": iso(plan.created_ns),
        "trigger": plan.trigger,
        "asset": plan.asset,
        "solver": plan.solver,
        "status": plan.status,
        "weighted_tardiness_s": plan.weighted_tardiness_s,
        "makespan_s": plan.makespan_s,
        "moved": plan.moved,
        "solve_ms": plan.solve_ms,
        "operations": [
            {
                "order": o.order_id,
                "index": o.index,
                "asset": o.asset,
                "start": iso(o.start_s * NS),
                "end": iso(o.end_s * NS),
                **({"routing": o.routing} if o.routing else {}),
            }
            for o in plan.operations
        ],
    }
