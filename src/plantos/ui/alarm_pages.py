"""The operator's alarm list and OEE pages: server-rendered, actions as plain forms.

Forms post to the page routes, which do the same as the API (:func:`plantos.api.alarms.act`)
in the signed-in operator's name and redirect back with a message. The session cookie is
``SameSite=Strict``, so another site cannot post these forms in the operator's name.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from plantos.analytics.alarms import AlarmManager
from plantos.analytics.oee.records import MAX_NOTE_CHARS
from plantos.api.alarms import Action, act, alarm_entry, alarm_scope, shelve_action
from plantos.api.auth import FILTERED, platform_of
from plantos.api.oee import oee_answer, stops_answer
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import iso, parse_time_ns
from plantos.security import Identity, authorize
from plantos.ui.findings import latest_findings
from plantos.ui.render import page
from plantos.ui.session import PageForbidden, page_require

router = APIRouter(include_in_schema=False)

SHELVE_CHOICES = ("30m", "2h", "8h", "24h")


@router.get("/alarms", response_class=HTMLResponse)
async def alarms_page(
    request: Request,
    message: str = "",
    identity: Identity = page_require("alarms:read", scope_from=FILTERED),
) -> HTMLResponse:
    """Every alarm in the caller's scope, most urgent and newest first, with what the
    operator can do (the buttons of acts the role may not do are not shown). A priority
    badge marks only what asks for attention (active or not yet acknowledged); an anomaly
    alarm shows the evidence of the newest judgement of its subject."""
    platform = platform_of(request)
    alarms = platform.analytics.alarms
    findings = latest_findings(platform.judgements)
    rows = [
        alarm_entry(d, s)
        | {
            "activated_ns": s.activated_ns,
            "shelved_until_ns": s.shelved_until_ns,
            "attention": s.active or not s.acknowledged,
            "finding": findings.get(d.subject),
        }
        for d, s in alarms.alarms()
        if identity.sees(d.subject)
    ]
    return page(
        request,
        "alarms.html",
        {
            "alarms": rows,
            "metrics": alarms.metrics(),
            "message": message,
            "shelve_choices": SHELVE_CHOICES,
        },
    )


async def _do(
    request: Request, alarm_id: str, identity: Identity, action: Action
) -> RedirectResponse:
    try:
        entry = await act(platform_of(request), alarm_id, identity.subject, action)
        message = f"{entry['alarm_id']}: {entry['state'].replace('_', ' ')}"
    except PlantOSError as exc:
        message = str(exc)
    return RedirectResponse(f"/alarms?message={quote(message)}", status_code=303)


@router.post("/alarms/{alarm_id:path}/acknowledge")
async def acknowledge_form(
    request: Request,
    alarm_id: str,
    identity: Identity = page_require("alarms:ack", scope_from=alarm_scope),
) -> RedirectResponse:
    return await _do(request, alarm_id, identity, AlarmManager.acknowledge)


@router.post("/alarms/{alarm_id:path}/shelve")
async def shelve_form(
    request: Request,
    alarm_id: str,
    until: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    identity: Identity = page_require("alarms:shelve", scope_from=alarm_scope),
) -> RedirectResponse:
    return await _do(request, alarm_id, identity, shelve_action(until, reason))


@router.post("/alarms/{alarm_id:path}/unshelve")
async def unshelve_form(
    request: Request,
    alarm_id: str,
    identity: Identity = page_require("alarms:shelve", scope_from=alarm_scope),
) -> RedirectResponse:
    return await _do(request, alarm_id, identity, AlarmManager.unshelve)


@router.get("/oee", response_class=HTMLResponse)
async def oee_page(
    request: Request,
    path: str = "",
    start: str = "",
    message: str = "",
    identity: Identity = page_require("oee:read", scope_from=FILTERED),
) -> HTMLResponse:
    """OEE of a node (the enterprise by default, else the caller's scope) and its
    children, with the loss Pareto: the current shift, or since ``start`` (e.g. ``-24h``)
    from the historian."""
    path = path or identity.scope
    _allowed(identity, "oee:read", path)
    try:
        answer = await oee_answer(platform_of(request), path, start or None, None)
    except PlantOSError as exc:
        return page(request, "oee.html", {"error": str(exc), "oee": None}, status_code=404)
    losses = answer["losses_s"]
    top = max((seconds for _, seconds in losses), default=0.0)
    stops = None
    if answer["level"] == "asset":
        stops = stops_answer(platform_of(request), answer["path"], start or None, None)["stops"]
    return page(
        request,
        "oee.html",
        {
            "error": None,
            "zone_path": answer["path"],
            "oee": answer,
            "start": start,
            "loss_top_s": top,
            "stops": stops,
            "max_note": MAX_NOTE_CHARS,
            "reason_tree": platform_of(request).analytics.reason_tree.groups,
            "message": message,
        },
    )


@router.post("/oee/reasons")
async def reason_form(
    request: Request,
    asset: Annotated[str, Form()],
    stop_start: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    identity: Identity = page_require("oee:reason", scope_from=FILTERED),
) -> RedirectResponse:
    """An operator explains a stop with a reason from the plant's reason tree, and a note
    in their own words if they like; back to the asset's OEE with what happened."""
    _allowed(identity, "oee:reason", asset)
    platform = platform_of(request)
    try:
        stop_ns = parse_time_ns(stop_start, now_ns=platform.clock.now_ns())
        code = platform.analytics.reason_tree.check(reason.strip())
        # A disk write under the book's lock: off the event loop, which serves the stream.
        given = await run_in_threadpool(
            partial(
                platform.analytics.oee.assign_reason,
                asset,
                stop_ns,
                code,
                by=identity.subject,
                note=note,
            )
        )
        platform.audit.append(
            identity.subject, "stop.reason", asset, start_ns=stop_ns, reason=given.code
        )
        message = f"stop at {iso(stop_ns)}: {given.code}"
    except ValueError as exc:
        message = str(exc)
    query = urlencode({"path": asset, "start": start, "message": message})
    return RedirectResponse(f"/oee?{query}", status_code=303)


def _allowed(identity: Identity, permission: str, path: str) -> None:
    """The scope check of a page whose path comes from a form or a default."""
    try:
        authorize(identity, permission, path)
    except PlantOSError as exc:
        raise PageForbidden(str(exc)) from None
