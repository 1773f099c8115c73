"""Writes into OT over HTTP: ask for one (``POST /tags/{path}/write``), and the pending
approvals a second person approves or rejects. Every attempt goes through
:class:`plantos.security.ot_write.OtWrites`, which checks and audits it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from plantos.api.auth import FILTERED, platform_of, require
from plantos.api.errors import register_status
from plantos.core.timeparse import iso
from plantos.security import Identity
from plantos.security.ot_write import UnknownWriteError, WriteFailedError, WriteRequest

router = APIRouter(tags=["writes"])

register_status(WriteFailedError, 502, "Write failed")
register_status(UnknownWriteError, 404, "Unknown write request")


class WriteBody(BaseModel):
    value: float


def write_entry(w: WriteRequest) -> dict[str, Any]:
    return {
        "id": w.id,
        "tag": w.tag,
        "value": w.value,
        "state": w.state,
        "requested_by": w.requested_by,
        "requested": iso(w.requested_ns),
        "decided_by": w.decided_by,
        "decided": iso(w.decided_ns) if w.decided_ns else None,
        "detail": w.detail,
    }


@router.post("/tags/{path:path}/write")
async def write_tag(
    request: Request,
    response: Response,
    path: str,
    body: WriteBody,
    identity: Identity = require("ot:write", scope_from=FILTERED),
) -> dict[str, Any]:
    """Write a value to a tag in OT: 200 when written, 202 while it waits for approval;
    403 without a conduit or grant, 400 outside the limits (each attempt audited)."""
    done = await platform_of(request).ot_writes.request(identity, path, body.value)
    if done.state == "pending":
        response.status_code = 202
    return write_entry(done)


@router.get("/writes")
def list_writes(
    request: Request, identity: Identity = require("ot:approve", scope_from=FILTERED)
) -> dict[str, Any]:
    """Recent write requests in the caller's scope, pending ones first."""
    found = platform_of(request).ot_writes.recent()
    return {"writes": [write_entry(w) for w in found if identity.sees(w.tag)]}


@router.post("/writes/{write_id}/approve")
async def approve_write(
    request: Request,
    write_id: str,
    identity: Identity = require("ot:approve", scope_from=FILTERED),
) -> dict[str, Any]:
    """A second person approves: the value goes to the device now."""
    return write_entry(await platform_of(request).ot_writes.approve(identity, write_id))


@router.post("/writes/{write_id}/reject")
def reject_write(
    request: Request,
    write_id: str,
    identity: Identity = require("ot:approve", scope_from=FILTERED),
) -> dict[str, Any]:
    return write_entry(platform_of(request).ot_writes.reject(identity, write_id))
