"""The alarm list and the operator's actions on it: acknowledge, shelve, unshelve.

Every action is done in the caller's name (the identity of the token or session) and
published as an ``AlarmStateChanged`` event, so the audit trail says who did what and
why. Routes are ``async`` on purpose: they run on the event loop, the same thread as the
analytics stage that changes alarms from the process side, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from plantos.analytics.alarms import AlarmDefinition, AlarmError, AlarmManager, AlarmStatus
from plantos.api.auth import FILTERED, platform_of, require
from plantos.api.errors import register_status
from plantos.api.ports import PlatformPort
from plantos.core.errors import PlantOSError, QueryError
from plantos.core.events import Event
from plantos.core.timeparse import iso, parse_duration_ns, parse_time_ns
from plantos.security import Identity

router = APIRouter(tags=["alarms"])


class UnknownAlarmError(PlantOSError):
    """No alarm with this id (answered 404)."""


class AlarmConflictError(PlantOSError):
    """The alarm's state does not allow the action (answered 409 with the reason)."""


register_status(UnknownAlarmError, 404, "Unknown alarm")
register_status(AlarmConflictError, 409, "Not allowed in this alarm state")


class ShelveRequest(BaseModel):
    until: str = Field(description="How long ('2h') or until when (ISO 8601)")
    reason: str = Field(min_length=1, max_length=500)


def alarm_entry(definition: AlarmDefinition, status: AlarmStatus) -> dict[str, Any]:
    return {
        "alarm_id": definition.alarm_id,
        "subject": definition.subject,
        "priority": definition.priority.name.lower(),
        "message": definition.message,
        "state": status.state.value,
        "active": status.active,
        "acknowledged": status.acknowledged,
        "activated": iso(status.activated_ns) if status.activated_ns is not None else None,
        "shelved_until": (
            iso(status.shelved_until_ns) if status.shelved_until_ns is not None else None
        ),
    }


def alarm_scope(request: Request) -> str:
    """The plant path an alarm action touches: the alarm's subject (asset or tag)."""
    alarm_id = str(request.path_params.get("alarm_id", ""))
    alarms = platform_of(request).analytics.alarms
    found = next((d for d, _ in alarms.alarms() if d.alarm_id == alarm_id), None)
    return found.subject if found is not None else alarm_id


@router.get("/alarms")
async def alarm_list(
    request: Request,
    annunciated: bool = Query(False, description="Only what operators see"),
    identity: Identity = require("alarms:read", scope_from=FILTERED),
) -> dict[str, Any]:
    """Every alarm in the caller's scope, most urgent and newest first; flood guard status."""
    alarms = platform_of(request).analytics.alarms
    found = alarms.alarms(annunciated_only=annunciated)
    return {
        "alarms": [alarm_entry(d, s) for d, s in found if identity.sees(d.subject)],
        "metrics": alarms.metrics(),
    }


Action = Callable[[AlarmManager, str, str, int], list[Event]]


async def act(platform: PlatformPort, alarm_id: str, user: str, action: Action) -> dict[str, Any]:
    """Do an operator action on an alarm in ``user``'s name and publish what it caused;
    :class:`UnknownAlarmError` or :class:`AlarmConflictError` when it cannot be done."""
    alarms = platform.analytics.alarms
    found = next((d for d, _ in alarms.alarms() if d.alarm_id == alarm_id), None)
    if found is None:
        raise UnknownAlarmError(f"no alarm {alarm_id!r}")
    audited = f"alarm.{getattr(action, '__name__', 'action')}"
    try:
        events = action(alarms, alarm_id, user, platform.clock.now_ns())
    except AlarmError as exc:
        platform.audit.append(user, audited, alarm_id, outcome="failed", reason=str(exc))
        raise AlarmConflictError(str(exc)) from None
    platform.audit.append(user, audited, alarm_id)
    for event in events:
        await platform.emit(event)
    return alarm_entry(found, alarms.status(alarm_id))


def shelve_action(until: str, reason: str) -> Action:
    """Shelving until ``until`` (``2h`` from now, or a time) for ``reason``."""

    def shelve(alarms: AlarmManager, alarm_id: str, user: str, now: int) -> list[Event]:
        return alarms.shelve(alarm_id, user, _until(until, now), reason, now)

    return shelve


@router.post("/alarms/{alarm_id:path}/acknowledge")
async def acknowledge(
    request: Request,
    alarm_id: str,
    identity: Identity = require("alarms:ack", scope_from=alarm_scope),
) -> dict[str, Any]:
    return await act(platform_of(request), alarm_id, identity.subject, AlarmManager.acknowledge)


@router.post("/alarms/{alarm_id:path}/shelve")
async def shelve(
    request: Request,
    alarm_id: str,
    body: ShelveRequest,
    identity: Identity = require("alarms:shelve", scope_from=alarm_scope),
) -> dict[str, Any]:
    action = shelve_action(body.until, body.reason)
    return await act(platform_of(request), alarm_id, identity.subject, action)


@router.post("/alarms/{alarm_id:path}/unshelve")
async def unshelve(
    request: Request,
    alarm_id: str,
    identity: Identity = require("alarms:shelve", scope_from=alarm_scope),
) -> dict[str, Any]:
    return await act(platform_of(request), alarm_id, identity.subject, AlarmManager.unshelve)


def _until(text: str, now_ns: int) -> int:
    """``2h`` (a duration from now) or an absolute time."""
    try:
        return now_ns + parse_duration_ns(text)
    except ValueError:
        pass
    try:
        return parse_time_ns(text, now_ns=now_ns)
    except ValueError as exc:
        raise QueryError(f"until: {exc}") from None
