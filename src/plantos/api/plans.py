"""Preventive plans over HTTP: listed with their next due date or meter reading, created,
changed, disabled, enabled and deleted with the permission maintenance writes use, over
the plan's asset.

A plan of the plant file is changed or removed in the plant file: the API refuses it
(409), though it may disable it. A plan whose work order is open is not deleted (409):
the planner closes the job first or disables the plan. A wrong plan is answered 422
naming every wrong field; every change and every refusal is audited with who asked.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from plantos.api.auth import FILTERED, platform_of, query_param, require
from plantos.api.errors import register_status
from plantos.api.ports import PlatformPort
from plantos.api.workorders import audited
from plantos.loops.preventive import PlanView
from plantos.mom.maintenance.errors import (
    InvalidPlanError,
    PlanInUseError,
    PlanOwnedByFileError,
    UnknownPlanError,
)
from plantos.mom.maintenance.plan_config import PlanSection
from plantos.security import ForbiddenError, Identity, authorize
from plantos.security.scope import covers

router = APIRouter(tags=["maintenance"])
WRITE = "workorders:write"
PlanAction = Literal["disable", "enable", "delete"]

for error, status, title in (
    (UnknownPlanError, 404, "Unknown preventive plan"),
    (PlanOwnedByFileError, 409, "Plan defined in the plant file"),
    (InvalidPlanError, 422, "Invalid preventive plan"),
    (PlanInUseError, 409, "Plan has an open work order"),
):
    register_status(error, status, title)


@router.get("/maintenance/plans")
async def plan_list(
    request: Request,
    asset: str = Query("", description="A plant path: the plans at or below it"),
    identity: Identity = require("plant:read", scope_from=query_param("asset")),
) -> dict[str, Any]:
    """Every preventive plan at or below ``asset`` with its next due date (calendar) or
    due reading and current reading (meter), and its open work order."""
    views = await asyncio.to_thread(platform_of(request).maintenance.preventive.list)
    prefix = asset.strip("/") or identity.scope
    return {
        "plans": [
            v.to_dict()
            for v in views
            if covers(prefix, v.plan.asset) and covers(identity.scope, v.plan.asset)
        ]
    }


@router.post("/maintenance/plans", status_code=201)
async def create_plan(
    request: Request,
    body: PlanSection,
    identity: Identity = require(WRITE, scope_from=FILTERED),
) -> dict[str, Any]:
    """A new plan (``workorders:write`` on its asset); it counts from ``start`` or now."""
    maintenance = _allowed(request, identity, body.asset).maintenance

    def work() -> PlanView:
        return maintenance.preventive.create(maintenance.plan_of(body))

    return (await audited(request, identity, "plan.create", body.id, work)).to_dict()


@router.put("/maintenance/plans/{plan_id}")
async def update_plan(
    request: Request,
    plan_id: str,
    body: PlanSection,
    identity: Identity = require(WRITE, scope_from=FILTERED),
) -> dict[str, Any]:
    """Change a plan created over the API; it keeps where it stands (a new ``every``
    counts from the last completion)."""
    maintenance = _allowed(request, identity, body.asset).maintenance
    if body.id != plan_id:
        raise InvalidPlanError(f"the body's id {body.id!r} is not the plan's {plan_id!r}")

    def work() -> PlanView:
        return maintenance.preventive.update(maintenance.plan_of(body))

    return (await audited(request, identity, "plan.update", plan_id, work)).to_dict()


@router.post("/maintenance/plans/{plan_id}/disable")
async def disable_plan(
    request: Request, plan_id: str, identity: Identity = require(WRITE, scope_from=FILTERED)
) -> dict[str, Any]:
    """Stop the plan opening work orders (one already open stays); it keeps counting."""
    return await change_plan(request, identity, plan_id, "disable")


@router.post("/maintenance/plans/{plan_id}/enable")
async def enable_plan(
    request: Request, plan_id: str, identity: Identity = require(WRITE, scope_from=FILTERED)
) -> dict[str, Any]:
    """Let a disabled plan open work orders again (at once, if it fell due meanwhile)."""
    return await change_plan(request, identity, plan_id, "enable")


@router.delete("/maintenance/plans/{plan_id}")
async def delete_plan(
    request: Request, plan_id: str, identity: Identity = require(WRITE, scope_from=FILTERED)
) -> dict[str, Any]:
    """Delete a plan made over the API; its work orders stay. 409 while its work order
    is open or when the plant file defines it."""
    return await change_plan(request, identity, plan_id, "delete")


async def change_plan(
    request: Request, identity: Identity, plan_id: str, action: PlanAction
) -> dict[str, Any]:
    """Disable, enable or delete ``plan_id`` once the caller may write on its asset (the
    API and the maintenance page both); the change, or its refusal (an unknown plan
    too), goes to the audit trail as ``plan.<action>``."""
    preventive = platform_of(request).maintenance.preventive

    def work() -> PlanView:
        view = preventive.get(plan_id)
        _allowed(request, identity, view.plan.asset)
        if action == "delete":
            return preventive.delete(plan_id)
        return preventive.set_enabled(plan_id, action == "enable", by=identity.subject)

    return (await audited(request, identity, f"plan.{action}", plan_id, work)).to_dict()


def _allowed(request: Request, identity: Identity, asset: str) -> PlatformPort:
    """The platform, once the caller may write maintenance on ``asset`` (refusals audited)."""
    platform = platform_of(request)
    try:
        authorize(identity, WRITE, asset.strip("/"))
    except ForbiddenError as exc:
        platform.audit.append(
            identity.subject, "access.denied", f"{request.method} {request.url.path}",
            outcome="denied", permission=WRITE, reason=str(exc),
        )  # fmt: skip
        raise
    return platform
