"""The business messages an ERP expects, made from the operations outbox's domain events.

Pure functions, no I/O: :func:`fold` keeps what earlier rows said about each order and
work order (product, quantity, the totals so far), and :func:`to_erp` turns one outbox
row into one ERP message, given what was known just before it. Every message keeps the
row's UUID as its idempotency key, so a redelivery is recognised on every channel.

Quantities are **cumulative**, the usual ERP habit for confirmations: each
``production_performance`` message carries the order's good count (parts through its
last operation) and its scrap (all operations) to date, never a delta. The ERP replaces
its figures with the newest confirmation instead of adding them up, so a message
delivered twice or a lost progress message cannot make its totals drift. When an order
completes, its ``completed`` state change becomes the final confirmation (``final``
true, state Completed) with the order's total good and scrap: the one figure per order
an ERP closes the order with. Other state changes become ``order_status`` messages.

Kinds made: ``production_performance`` (a :class:`PerformanceReport`),
``order_status``, ``production_schedule`` (a :class:`ScheduleUpdate`),
``maintenance_work_order`` (a :class:`MaintenanceOrder`). Any other row passes unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from plantos.integration.channels.base import OutboundMessage
from plantos.integration.erp.b2mml.model import (
    MaintenanceOrder,
    PerformanceReport,
    ScheduledOperation,
    ScheduledOrder,
)
from plantos.integration.erp.b2mml.payload import to_payload

NO_SHIFT = "unassigned"
"""The shift of a report when the plant has no shift calendar."""


@dataclass(frozen=True)
class OrderFacts:
    """What the outbox said about one production order up to a point."""

    product: str
    quantity: int
    good: int = 0
    scrap: int = 0
    operation: int = 0
    asset: str | None = None
    started: datetime | None = None


@dataclass(frozen=True)
class WorkOrderFacts:
    """What the outbox said about one maintenance work order when it was opened."""

    asset: str
    order_kind: str
    failure_mode: str | None


Facts = OrderFacts | WorkOrderFacts


@dataclass(frozen=True)
class ScheduleUpdate:
    """A published plan's changes for the ERP: each affected order with its new end date."""

    idempotency_key: UUID
    plan_id: int
    trigger: str
    orders: tuple[ScheduledOrder, ...]


SOURCES: Mapping[str, frozenset[str]] = {
    "production_performance": frozenset({"OrderProgressed", "OrderStateChanged"}),
    "order_status": frozenset({"OrderStateChanged"}),
    "production_schedule": frozenset({"ScheduleChanged"}),
    "maintenance_work_order": frozenset({"WorkOrderOpened", "WorkOrderUpdated"}),
}
"""The outbox kinds each ERP message kind is made from."""


def sources(kinds: frozenset[str]) -> frozenset[str]:
    """The outbox kinds a connector taking ``kinds`` must look at: ``kinds`` themselves
    (an outbox kind passes unchanged) and the sources of each ERP message kind."""
    return kinds.union(*(SOURCES.get(kind, frozenset()) for kind in kinds))


class UnmappableError(ValueError):
    """A row the ERP message cannot be made from (an order never released): a dead letter."""


def _at(ts_ns: Any) -> datetime:
    return datetime.fromtimestamp(int(ts_ns) / 1e9, tz=UTC)


def fold(known: Mapping[str, Facts], row: OutboundMessage) -> dict[str, Facts]:
    """``known`` updated with ``row`` (keyed by the row's order or work order id)."""
    p, out = row.payload, dict(known)
    subject = str(p.get("subject", row.ordering_key))
    facts = known.get(subject)
    if row.kind == "OrderReleased":
        out[subject] = OrderFacts(product=p["product"], quantity=int(p["quantity"]))
    elif row.kind == "OrderProgressed" and isinstance(facts, OrderFacts):
        out[subject] = replace(
            facts, good=int(p["good"]), scrap=int(p["scrap"]), operation=int(p["operation"]),
            asset=p["asset"], started=facts.started or _at(p["ts_ns"]),
        )  # fmt: skip
    elif row.kind == "WorkOrderOpened":
        out[subject] = WorkOrderFacts(p["asset"], p["order_kind"], p.get("failure_mode"))
    return out


def to_erp(
    row: OutboundMessage,
    *,
    known: Mapping[str, Facts],
    unit: str = "pcs",
    shift_of: Callable[[datetime], str] = lambda _: NO_SHIFT,
) -> OutboundMessage:
    """The ERP message for ``row``; ``known`` is :func:`fold` over the rows before it."""
    p = row.payload
    subject = str(p.get("subject", row.ordering_key))
    at = _at(p["ts_ns"]) if "ts_ns" in p else row.created
    facts = known.get(subject)
    completed = row.kind == "OrderStateChanged" and p["state"] == "completed"
    if row.kind == "OrderProgressed" or completed:
        order = _order(subject, fold(known, row).get(subject))  # the totals after this row
        report = PerformanceReport(
            order_id=subject, product=order.product, operation=str(order.operation),
            shift=shift_of(at), good=float(order.good), scrap=float(order.scrap), unit=unit,
            start=min(order.started or at, at), end=at, idempotency_key=row.key,
            final=completed, equipment=order.asset,
        )  # fmt: skip
        return _message(row, "production_performance", to_payload(report))
    if row.kind == "OrderStateChanged":
        status = {
            "idempotency_key": str(row.key), "order_id": subject, "previous": p["previous"],
            "state": p["state"], "asset": p.get("asset"), "changed": at.isoformat(),
        }  # fmt: skip
        return _message(row, "order_status", status)
    if row.kind == "ScheduleChanged":
        return _message(row, "production_schedule", to_payload(_schedule(row, known, unit)))
    if row.kind in ("WorkOrderOpened", "WorkOrderUpdated"):
        return _message(row, "maintenance_work_order", to_payload(_work_order(row, facts)))
    return row


def _order(subject: str, facts: Facts | None) -> OrderFacts:
    if not isinstance(facts, OrderFacts):
        raise UnmappableError(f"order {subject!r} has no OrderReleased before this row")
    return facts


def _message(row: OutboundMessage, kind: str, payload: Mapping[str, Any]) -> OutboundMessage:
    return replace(row, kind=kind, payload=payload)


def _schedule(row: OutboundMessage, known: Mapping[str, Facts], unit: str) -> ScheduleUpdate:
    p = row.payload
    equipment: dict[str, list[ScheduledOperation]] = {}
    for move in p.get("moved", []):
        op = ScheduledOperation(operation=str(move["index"]), equipment=move["new"]["asset"])
        equipment.setdefault(str(move["order"]), []).append(op)
    orders = []
    for order_id in sorted(set(p.get("etas", {})) | set(equipment)):
        facts = _order(order_id, known.get(order_id))
        eta_ns = p.get("etas", {}).get(order_id)
        orders.append(ScheduledOrder(
            erp_order_id=order_id, product=facts.product, quantity=float(facts.quantity),
            unit=unit, due=_at(eta_ns) if eta_ns is not None else None,
            operations=tuple(equipment.get(order_id, ())),
        ))  # fmt: skip
    return ScheduleUpdate(row.key, int(p["plan_id"]), str(p["trigger"]), tuple(orders))


def _work_order(row: OutboundMessage, facts: Facts | None) -> MaintenanceOrder:
    p = row.payload
    if row.kind == "WorkOrderOpened":
        kind, failure, text = p["order_kind"], p.get("failure_mode"), "opened"
    elif isinstance(facts, WorkOrderFacts):
        kind, failure = facts.order_kind, facts.failure_mode
        text = f"{p['change']}: now {p['state']} (by {p['by']})"
    else:
        raise UnmappableError(f"work order {p['subject']!r} has no WorkOrderOpened before this row")
    return MaintenanceOrder(
        work_order_id=str(p["subject"]), asset=p["asset"], kind=kind,
        priority=int(p["priority"]), description=text, failure_mode=failure,
    )  # fmt: skip
