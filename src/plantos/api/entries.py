"""Manual entry over HTTP: readings no sensor gives, checklists and scrap with a reason.

A reading is checked against its tag (type, unit, range) and then goes through the
platform's ingest path like a connector's sample, so the historian and the live state
hold it like any machine's value. A checklist is stored once per instance; scrap is booked
to the order running on the machine. Every entry and every refusal is audited with the
person's name; a refusal answers 4xx with the reason and stores nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from plantos.api.auth import path_param, platform_of, require
from plantos.api.errors import register_status
from plantos.api.ports import PlatformPort
from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import iso
from plantos.mom.domain.counting import Count
from plantos.mom.entry.checklists import ChecklistDef, ItemDef
from plantos.mom.entry.config import manual_tags
from plantos.mom.entry.errors import (
    DuplicateSubmissionError,
    InvalidEntryError,
    UnknownEntryError,
)
from plantos.mom.entry.events import ScrapDeclared
from plantos.mom.entry.readings import Value, reading_value
from plantos.mom.entry.submissions import Submission
from plantos.mom.errors import CountRejectedError
from plantos.security import Identity

router = APIRouter(tags=["manual entry"])
T = TypeVar("T")
SOURCE = "manual"
"""The ingest source of every value a person entered."""

for error, status, title in (
    (InvalidEntryError, 422, "Entry refused"),
    (UnknownEntryError, 404, "Unknown entry"),
    (DuplicateSubmissionError, 409, "Submitted already"),
):
    register_status(error, status, title)


class ReadingRequest(BaseModel):
    value: float | int | bool | str = Field(description="A number, yes/no, a state or a text")
    unit: str | None = Field(None, max_length=64, description="The unit given; the tag's own")


class ChecklistRequest(BaseModel):
    answers: dict[str, float | int | bool | str | None] = Field(default_factory=dict)
    work_order: str | None = Field(None, max_length=64)


class ScrapRequest(BaseModel):
    asset: str = Field(min_length=1, max_length=300)
    quantity: int = Field(gt=0, le=100_000)
    reason: str = Field(min_length=1, max_length=64)
    operation: int | None = Field(None, ge=0)


def tag_form(tag: Any) -> dict[str, Any]:
    """What a form needs to offer and check a manual tag (its model, and its states)."""
    return {**tag.to_dict(), "states": list((tag.states or {}).values())}


def submission_view(s: Submission) -> dict[str, Any]:
    return {
        "id": str(s.id), "checklist": s.checklist, "instance": s.instance, "line": s.line,
        "work_order": s.work_order, "by": s.submitted_by, "at": iso(s.submitted_ns),
        "answers": s.answers,
    }  # fmt: skip


async def enter_reading(
    platform: PlatformPort, identity: Identity, path: str, raw: object, unit: str | None
) -> dict[str, Any]:
    """Check a reading, audit it, and send it through the ingest gate as a Good sample."""
    tag = platform.plant.tags.get(path)

    def check() -> Value:
        if tag is None or tag.entry != "manual":
            raise UnknownEntryError(f"no manual tag {path!r}")
        return reading_value(tag, raw, unit=unit)

    value = await audited(platform, identity, "entry.reading", path, check, given=raw, unit=unit)
    ts = platform.clock.now_ns()
    batch = SampleBatch.from_values(
        [platform.tag_ids[path]], [ts], [value], [quality.GOOD]
    )  # fmt: skip
    await platform.ingest(batch, source=SOURCE)
    return {"tag": path, "value": value, "unit": tag.unit if tag else None, "at": iso(ts),
            "by": identity.subject}  # fmt: skip


async def audited(
    platform: PlatformPort,
    identity: Identity,
    action: str,
    target: str,
    work: Callable[[], T],
    **entered: Any,
) -> T:
    """Run ``work`` in a worker thread and write the attempt to the audit trail with what
    was entered: a refusal with its reason (then raised), a success as it is."""
    try:
        value = await asyncio.to_thread(work)
    except PlantOSError as exc:
        await asyncio.to_thread(
            platform.audit.append, identity.subject, action, target, outcome="failed",
            reason=str(exc), **entered,
        )  # fmt: skip
        raise
    await asyncio.to_thread(platform.audit.append, identity.subject, action, target, **entered)
    return value


async def submit_checklist(
    request: Request, identity: Identity, line: str, checklist_id: str, body: ChecklistRequest
) -> Submission:
    """Store a checklist once for its instance (audited either way), then publish its event."""
    platform = platform_of(request)
    entry = platform.maintenance.entry
    answers = {k: v for k, v in body.answers.items() if v is not None}
    submission, events = await audited(
        platform, identity, f"checklist.{checklist_id}", body.work_order or line,
        lambda: entry.submit(
            checklist_id, line=line, answers=answers, by=identity.subject,
            work_order=body.work_order,
        ),
        answers=answers,
    )  # fmt: skip
    for event in events:
        await platform.emit(event)
    return submission


async def book_scrap(
    request: Request, identity: Identity, line: str, body: ScrapRequest
) -> dict[str, Any]:
    """Book scrap with a reason to the order running on the asset (audited either way)."""
    platform = platform_of(request)
    mom = platform.mom.service
    reasons = platform.maintenance.entry.config.scrap_reasons

    def work() -> tuple[str, list[Any]]:
        if not body.asset.startswith(f"{line}/") or body.asset not in platform.plant.assets:
            raise UnknownEntryError(f"no asset {body.asset!r} on line {line}")
        if body.reason not in reasons:
            known = ", ".join(reasons) or "none configured"
            raise InvalidEntryError(f"unknown scrap reason {body.reason!r} (reasons: {known})")
        running = [o for o in mom.orders(states=["running"]) if o.asset == body.asset]
        if not running:
            raise CountRejectedError(f"no order is running on {body.asset}")
        order, now = running[0], platform.clock.now_ns()
        count = Count("operator", body.asset, now, 0, body.quantity, body.operation)
        note = ScrapDeclared(
            ts_ns=now, subject=body.asset, order=order.id, quantity=body.quantity,
            reason=body.reason, by=identity.subject,
        )  # fmt: skip
        booked, events = mom.book_for(order.id, count, note=note)
        if not booked:
            raise CountRejectedError(f"order {order.id} does not take this scrap entry")
        return order.id, events

    order_id, events = await audited(
        platform, identity, "entry.scrap", body.asset, work,
        quantity=body.quantity, scrap_reason=body.reason,
    )  # fmt: skip
    for event in events:
        await platform.emit(event)
    return {"order": order_id, "asset": body.asset, "quantity": body.quantity,
            "reason": body.reason, "by": identity.subject}  # fmt: skip


@router.post("/readings/{path:path}", status_code=201)
async def post_reading(
    request: Request,
    path: str,
    body: ReadingRequest,
    identity: Identity = require("entries:write", scope_from=path_param("path")),
) -> dict[str, Any]:
    """Enter a value for a manual tag; a value in another unit of the same kind is
    converted to the tag's unit."""
    return await enter_reading(platform_of(request), identity, path, body.value, body.unit)


@router.get("/stations/{path:path}/entry")
async def station_entry(
    request: Request,
    path: str,
    identity: Identity = require("plant:read", scope_from=path_param("path")),
) -> dict[str, Any]:
    """What the station of line ``path`` offers to enter: manual tags with their units
    and limits, the checklists with this shift's state, and the scrap reasons."""
    platform = platform_of(request)
    entry, line = platform.maintenance.entry, path.strip("/")
    checklists = [
        {"id": c.id, "title": c.title, "when": c.when, "items": [item_view(i) for i in c.items],
         "submitted": submission_view(done) if done else None}
        for c, done in await checklist_states(platform, line)
    ]  # fmt: skip
    recent = await asyncio.to_thread(entry.submissions, line)
    return {
        "line": line,
        "readings": [tag_form(t) for t in manual_tags(platform.plant, line)],
        "checklists": checklists,
        "submissions": [submission_view(s) for s in recent],
        "scrap_reasons": entry.config.scrap_reasons,
    }


async def checklist_states(
    platform: PlatformPort, line: str
) -> list[tuple[ChecklistDef, Submission | None]]:
    """The checklists of ``line``, each with this shift's submission if it is in (a
    work-order checklist has one per work order: ``None`` here)."""
    entry = platform.maintenance.entry
    instance = entry.shift_instance(line, platform.clock.now_ns())
    out: list[tuple[ChecklistDef, Submission | None]] = []
    for c in entry.config.checklists.values():
        if c.for_line(line):
            shift = c.when == "shift-start"
            out.append((c, await asyncio.to_thread(entry.done, c.id, instance) if shift else None))
    return out


def item_view(item: ItemDef) -> dict[str, Any]:
    return {
        "id": item.id, "text": item.text, "kind": item.kind, "required": item.required,
        "expect": item.expect, "unit": item.unit,
        "range": list(item.range) if item.range else None,
    }  # fmt: skip


@router.post("/stations/{path:path}/checklists/{checklist_id}", status_code=201)
async def post_checklist(
    request: Request,
    path: str,
    checklist_id: str,
    body: ChecklistRequest,
    identity: Identity = require("entries:write", scope_from=path_param("path")),
) -> dict[str, Any]:
    """Submit a checklist of line ``path`` (``work_order`` for a lock-out/tag-out);
    409 when it was submitted already for this shift or work order."""
    done = await submit_checklist(request, identity, path.strip("/"), checklist_id, body)
    return submission_view(done)


@router.post("/stations/{path:path}/scrap", status_code=201)
async def post_scrap(
    request: Request,
    path: str,
    body: ScrapRequest,
    identity: Identity = require("orders:count", scope_from=path_param("path")),
) -> dict[str, Any]:
    """Book scrap with a configured reason to the order running on ``asset``."""
    return await book_scrap(request, identity, path.strip("/"), body)
