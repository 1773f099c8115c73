"""The manual-entry slice of the operator station: a form per reading no sensor gives
(with its unit and limits from the plant model), the line's checklists, and scrap with a
reason. The forms post here; each answer goes through the same checks, audit and store
as the API (:mod:`plantos.api.entries`) and comes back as the station's message."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from plantos.api.auth import path_param, platform_of
from plantos.api.entries import (
    ChecklistRequest,
    ScrapRequest,
    book_scrap,
    checklist_states,
    enter_reading,
    submission_view,
    submit_checklist,
)
from plantos.core.errors import PlantOSError
from plantos.mom.entry.config import manual_tags
from plantos.mom.maintenance.workorder import OPEN_STATES
from plantos.security import Identity
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)
ANSWER = "answer."
"""Prefix of a checklist item's form field: ``answer.<item id>``."""


async def entry_context(request: Request, line: str) -> dict[str, Any]:
    """What the station template needs to show the line's forms and checklists."""
    platform = platform_of(request)
    entry = platform.maintenance.entry
    work_orders = [
        o for o in await asyncio.to_thread(platform.maintenance.service.list, states=OPEN_STATES)
        if o.asset.startswith(f"{line}/")
    ]  # fmt: skip
    checklists = [
        {"def": c, "submitted": submission_view(done) if done else None,
         "work_orders": await asyncio.to_thread(entry.waiting, c, work_orders)
         if c.when == "work-order-start" else []}
        for c, done in await checklist_states(platform, line)
    ]  # fmt: skip
    tags = manual_tags(platform.plant, line)
    return {
        "readings": [
            {"tag": t, "asset": platform.plant.assets[t.asset].name, "states": (t.states or {})}
            for t in tags
        ],
        "checklists": checklists,
        "scrap_reasons": entry.config.scrap_reasons,
        "line_assets": [a for a in platform.plant.assets if a.startswith(f"{line}/")],
        "submissions": [
            submission_view(s) for s in await asyncio.to_thread(entry.submissions, line)
        ],
        "limits": limits,
    }


def limits(unit: str | None, bounds: tuple[float, float] | None) -> str:
    """A tag's or item's limits as a person reads them.

    >>> limits("degC", (10.0, 80.5)), limits("bar", None), limits(None, (0.0, 50.0))
    ('10 to 80.5 degC', 'bar', '0 to 50')
    """
    shown = [f"{v:g}" for v in bounds] if bounds else []
    text = " to ".join(shown)
    return f"{text} {unit}".strip() if unit else text


def _back(line: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"/stations/{line}?message={quote(message)}", status_code=303)


@router.post("/stations/{path:path}/readings")
async def reading_form(
    request: Request,
    path: str,
    identity: Identity = page_require("entries:write", scope_from=path_param("path")),
) -> RedirectResponse:
    form = await request.form()
    tag, value, unit = (str(form.get(k, "")) for k in ("tag", "value", "unit"))
    line = path.strip("/")
    try:
        done = await enter_reading(platform_of(request), identity, tag, value, unit or None)
    except PlantOSError as exc:
        return _back(line, f"Not recorded: {exc}")
    value = done["value"]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    shown = f"{shown} {done['unit']}" if done["unit"] else shown
    return _back(line, f"Recorded {tag.removeprefix(line + '/')} = {shown}")


@router.post("/stations/{path:path}/checklists/{checklist_id}")
async def checklist_form(
    request: Request,
    path: str,
    checklist_id: str,
    identity: Identity = page_require("entries:write", scope_from=path_param("path")),
) -> RedirectResponse:
    form = await request.form()
    answers: dict[str, Any] = {
        k.removeprefix(ANSWER): str(v) for k, v in form.items() if k.startswith(ANSWER)
    }
    work_order = str(form.get("work_order", "")) or None
    line = path.strip("/")
    body = ChecklistRequest(answers=answers, work_order=work_order)
    try:
        await submit_checklist(request, identity, line, checklist_id, body)
    except PlantOSError as exc:
        return _back(line, f"Not submitted: {exc}")
    return _back(line, f"Checklist {checklist_id} submitted")


@router.post("/stations/{path:path}/scrap")
async def scrap_form(
    request: Request,
    path: str,
    identity: Identity = page_require("orders:count", scope_from=path_param("path")),
) -> RedirectResponse:
    form = await request.form()
    line = path.strip("/")
    try:
        quantity = int(str(form.get("quantity", "")))
        body = ScrapRequest(
            asset=str(form.get("asset", "")), quantity=quantity, reason=str(form.get("reason", ""))
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        await asyncio.to_thread(
            platform_of(request).audit.append, identity.subject, "entry.scrap", line,
            outcome="failed", reason=f"not a quantity: {exc}",
        )  # fmt: skip
        return _back(line, "Not booked: the quantity must be a whole number from 1")
    try:
        done = await book_scrap(request, identity, line, body)
    except PlantOSError as exc:
        return _back(line, f"Not booked: {exc}")
    return _back(line, f"Booked {done['quantity']} scrap ({done['reason']}) to {done['order']}")
