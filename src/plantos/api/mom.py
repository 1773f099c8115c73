"""Master data (products, routings) and the schedule: read, edit, recalculate.

An edit is checked as a whole against the plant model and the other master data
(unknown asset, an operation with no eligible asset, cyclic alternatives, unknown
product or routing) and refused with every reason (422), storing nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from plantos.api.auth import ENTERPRISE_WIDE, platform_of, require
from plantos.core.timeparse import iso
from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.domain.master import AssetOption, Changeover, Product, Routing, RoutingStep
from plantos.mom.planner import ScheduleChange
from plantos.mom.views import plan_view, product_view, routing_view

router = APIRouter(tags=["operations"])


class OptionRequest(BaseModel):
    asset: str
    setup_s: int = Field(0, ge=0, le=7 * 86_400)
    run_s_per_unit: float = Field(gt=0, le=86_400)


class OperationRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    assets: list[OptionRequest]


class RoutingRequest(BaseModel):
    product: str = Field(min_length=1, max_length=64)
    operations: list[OperationRequest]
    alternatives: list[str] = Field(default_factory=list)


class ProductRequest(BaseModel):
    name: str = Field("", max_length=200)
    routing: str = Field(min_length=1, max_length=64)
    counting: Literal["machine", "operator", "both"] | None = None
    routing_definition: RoutingRequest | None = Field(
        None, description="A new product's routing, stored with it in one transaction"
    )


def _routing(routing_id: str, body: RoutingRequest) -> Routing:
    return Routing(
        routing_id,
        body.product,
        tuple(
            RoutingStep(
                op.name,
                tuple(AssetOption(o.asset, o.setup_s, o.run_s_per_unit) for o in op.assets),
            )
            for op in body.operations
        ),
        tuple(body.alternatives),
    )


@router.get("/mom/products")
async def products(
    request: Request, _: object = require("plant:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    found, _ = await asyncio.to_thread(platform_of(request).mom.service.master)
    return {"products": [product_view(p) for p in found.values()]}


@router.put("/mom/products/{product_id}")
async def put_product(
    request: Request,
    product_id: str,
    body: ProductRequest,
    _: object = require("masterdata:write", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """Add or replace a product; its routing must exist or come with it."""
    product = Product(product_id, body.name or product_id, body.routing, body.counting)
    new = body.routing_definition
    routing = _routing(body.routing, new) if new is not None else None
    mom = platform_of(request).mom.service
    await asyncio.to_thread(lambda: mom.put_master(product=product, routing=routing))
    return product_view(product)


@router.get("/mom/routings")
async def routings(
    request: Request, _: object = require("plant:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    _, found = await asyncio.to_thread(platform_of(request).mom.service.master)
    return {"routings": [routing_view(r) for r in found.values()]}


@router.put("/mom/routings/{routing_id}")
async def put_routing(
    request: Request,
    routing_id: str,
    body: RoutingRequest,
    _: object = require("masterdata:write", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """Add or replace a routing: operations in order, each with its eligible assets."""
    routing = _routing(routing_id, body)
    await asyncio.to_thread(platform_of(request).mom.service.put_master, routing=routing)
    return routing_view(routing)


class ChangeoverRequest(BaseModel):
    asset: str
    from_product: str
    to_product: str
    setup_s: int = Field(ge=0, le=7 * 86_400)


class ChangeoversRequest(BaseModel):
    changeovers: list[ChangeoverRequest]


@router.get("/mom/changeovers")
async def changeovers(
    request: Request, _: object = require("plant:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Sequence-dependent setups: on an asset, one product right after another."""
    found = await asyncio.to_thread(platform_of(request).mom.service.changeovers)
    return {"changeovers": [asdict(c) for c in found]}


@router.put("/mom/changeovers")
async def put_changeovers(
    request: Request,
    body: ChangeoversRequest,
    _: object = require("masterdata:write", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    """Replace every changeover, all or none."""
    new = [Changeover(c.asset, c.from_product, c.to_product, c.setup_s) for c in body.changeovers]
    await asyncio.to_thread(platform_of(request).mom.service.put_changeovers, new)
    return {"changeovers": [asdict(c) for c in new]}


def change_view(change: ScheduleChange) -> dict[str, Any]:
    def side(s: dict[str, Any]) -> dict[str, Any]:
        return {"asset": s["asset"], "start": iso(s["start_s"] * NS), "end": iso(s["end_s"] * NS)}

    return {
        "at": iso(change.at_ns),
        "trigger": change.trigger,
        "asset": change.asset,
        "plan_id": change.plan_id,
        "solver": change.solver,
        "moved": [
            {"order": m["order"], "index": m["index"], "old": side(m["old"]), "new": side(m["new"])}
            for m in change.moved
        ],
        "late_orders": list(change.late_orders),
        "solve_ms": round(change.solve_ms, 1),
        "weighted_tardiness_s": change.weighted_tardiness_s,
        "dispatch_weighted_tardiness_s": change.dispatch_weighted_tardiness_s,
    }


@router.get("/schedule")
async def schedule(
    request: Request, _: object = require("plant:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """The plan in force, the one before it, and the recent recalculations."""
    mom = platform_of(request).mom
    plans = await asyncio.to_thread(mom.service.plans)
    return {
        "planner": mom.planner is not None,
        "current": plan_view(plans[0]) if plans else None,
        "previous": plan_view(plans[1]) if len(plans) > 1 else None,
        "changes": [change_view(c) for c in list(mom.changes)[-50:]],
        "assets_down": sorted(mom.down),
    }


@router.post("/schedule/recalculate", status_code=202)
async def recalculate(
    request: Request, _: object = require("schedule:write", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Ask for a recalculation now (it runs in the background)."""
    mom = platform_of(request).mom
    mom.trigger("manual")
    return {"planner": mom.planner is not None, "queued": True}
