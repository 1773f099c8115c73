"""The audit trail over HTTP (admin and auditors): filtered records, its export for a SIEM
(JSON lines or RFC 5424 syslog lines) and a check of its hash chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from plantos.api.auth import ENTERPRISE_WIDE, platform_of, require
from plantos.api.ports import PlatformPort
from plantos.core.errors import QueryError
from plantos.core.timeparse import iso, parse_time_ns
from plantos.security import Identity
from plantos.security.audit import AuditRecord
from plantos.security.audit_export import json_lines, syslog_lines
from plantos.security.audit_verify import verify

router = APIRouter(tags=["security"])

MAX_RECORDS = 10_000


def _ns(platform: PlatformPort, text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_time_ns(text, now_ns=platform.clock.now_ns())
    except ValueError as exc:
        raise QueryError(str(exc)) from None


def filtered(
    platform: PlatformPort,
    *,
    actor: str | None,
    action: str | None,
    outcome: str | None,
    start: str | None,
    end: str | None,
    limit: int,
) -> list[AuditRecord]:
    """Newest first, every filter applied (``action`` as a prefix, e.g. ``token.``)."""
    return platform.audit.records(
        actor=actor,
        action=action,
        outcome=outcome,
        since_ns=_ns(platform, start),
        until_ns=_ns(platform, end),
        limit=limit,
        newest_first=True,
    )


@router.get("/audit")
def audit_records(
    request: Request,
    actor: str | None = Query(None),
    action: str | None = Query(None, description="Prefix, e.g. 'auth.' or 'token.issue'"),
    outcome: str | None = Query(None, description="ok, denied, failed or pending"),
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    limit: int = Query(200, ge=1, le=MAX_RECORDS),
    _: object = require("audit:read", scope_from=ENTERPRISE_WIDE),
) -> dict[str, Any]:
    found = filtered(
        platform_of(request),
        actor=actor, action=action, outcome=outcome, start=start, end=end, limit=limit,
    )  # fmt: skip
    return {"records": [r.to_dict() | {"time": iso(r.ts_ns)} for r in found]}


@router.get("/audit/export", response_class=PlainTextResponse)
def audit_export(
    request: Request,
    fmt: str = Query("jsonl", alias="format", pattern="^(jsonl|syslog)$"),
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    identity: Identity = require("audit:read", scope_from=ENTERPRISE_WIDE),
) -> PlainTextResponse:
    """Every record in the period, oldest first, as JSON lines or syslog lines."""
    platform = platform_of(request)
    records = platform.audit.records(
        since_ns=_ns(platform, start), until_ns=_ns(platform, end), limit=None
    )
    lines = json_lines(records) if fmt == "jsonl" else syslog_lines(records)
    body = "".join(line + "\n" for line in lines)
    platform.audit.append(identity.subject, "audit.export", fmt, records=len(records))
    return PlainTextResponse(body)


@router.get("/audit/verify")
def audit_verify(
    request: Request, _: object = require("audit:read", scope_from=ENTERPRISE_WIDE)
) -> dict[str, Any]:
    """Whether the chain holds; else the first record that was edited, deleted or moved."""
    checked, broken = verify(platform_of(request).audit.path)
    return {
        "records": checked,
        "intact": broken is None,
        "first_break": None if broken is None else str(broken),
    }
