"""The headless report's maintenance keys: the work orders the loop opened, the
notifications it queued, and each reaction's latencies (docs/headless-report.md)."""

from __future__ import annotations

from typing import Any

from plantos.app import Platform
from plantos.core.timeparse import iso
from plantos.integration.notify import store
from plantos.integration.notify.store import Notification
from plantos.loops.maintenance import Reaction
from plantos.mom.maintenance.workorder import WorkOrder


def _at(ns: int | None) -> str | None:
    return iso(ns) if ns is not None else None


def maintenance_report(platform: Platform) -> dict[str, Any]:
    service = platform.maintenance.service
    orders = sorted(service.list(), key=lambda o: (o.opened_ns, o.id))
    notes = sorted(store.listing(service.engine), key=lambda n: (n.created_ns, str(n.id)))
    return {
        "work_orders": [_work_order(o) for o in orders],
        "notifications": [_notification(n) for n in notes],
        "loop_reactions": [_reaction(r) for r in platform.maintenance.loop.reactions],
    }


def _work_order(o: WorkOrder) -> dict[str, Any]:
    window = o.window
    return {
        "id": o.id,
        "asset": o.asset,
        "kind": o.kind,
        "state": o.state,
        "failure_mode": o.failure_mode,
        "mechanism": o.mechanism,
        "cause": o.cause,
        "priority": o.priority,
        "opened": _at(o.opened_ns),
        "estimated_failure": _at(o.estimated_failure_ns),
        "evidence": o.evidence,
        "last_service": _at(o.last_service_ns),
        "repeat_of": o.repeat_of,
        "affected_orders": o.affected_orders,
        "window": {"start": _at(window.start_ns), "end": _at(window.end_ns)} if window else None,
        "transitions": [{**t, "at": _at(t["at_ns"])} for t in o.transitions],
    }


def _notification(n: Notification) -> dict[str, Any]:
    return {
        "channel": n.channel,
        "recipient": n.recipient,
        "station": n.station,
        "asset": n.asset,
        "kind": n.kind,
        "priority": n.priority,
        "reference": n.reference,
        "at": _at(n.created_ns),
        "state": n.state,
        "occurrences": n.occurrences,
        "attempts": n.attempts,
        "last_error": n.last_error,
    }


def _reaction(r: Reaction) -> dict[str, Any]:
    published = r.schedule_published_ms
    return {
        "loop": "maintenance",
        "asset": r.asset,
        "event": r.event,
        "at": _at(r.at_ns),
        "work_order": r.work_order,
        "opened": r.opened,
        "work_order_stored_ms": round(r.stored_ms, 2),
        "notifications_queued_ms": round(r.notifications_queued_ms, 2),
        "schedule_published_ms": round(published, 2) if published is not None else None,
        "plan_id": r.plan_id,
        "operations_in_window": r.operations_in_window,
        "window_moves": r.window_moves,
    }
