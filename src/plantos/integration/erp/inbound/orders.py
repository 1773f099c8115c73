"""The one conversion from the ERP's view of an order (:class:`ScheduledOrder`, read
from B2MML, CSV or an inbound table row) to the operations domain's command, and the
import of a whole document through it.

PlantOS counts whole parts, so a quantity must be a positive whole number; it plans
against a due date, so an order must have one. The ERP's order number is the order id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from plantos.core.events import Event
from plantos.integration.erp.b2mml.model import ScheduledOrder
from plantos.mom.domain.commands import NewOrder
from plantos.mom.errors import InvalidOrderError
from plantos.mom.order_sync import ErpOrder, Outcome
from plantos.mom.service import MomService

MAX_ORDER_ID = 64


def to_erp_order(order: ScheduledOrder, *, source: str) -> ErpOrder:
    """The command for ``order``; :class:`InvalidOrderError` names what PlantOS cannot take."""
    oid = order.erp_order_id
    if len(oid) > MAX_ORDER_ID:
        raise InvalidOrderError(f"order number {oid!r} is longer than {MAX_ORDER_ID} characters")
    if order.quantity <= 0 or order.quantity != int(order.quantity):
        raise InvalidOrderError(
            f"order {oid}: quantity must be a positive whole number, not {order.quantity:g}"
        )
    if order.due is None and not order.cancelled:
        raise InvalidOrderError(f"order {oid}: a due date is needed to plan it")
    priority = 1 if order.priority is None else order.priority
    if priority < 1:
        raise InvalidOrderError(f"order {oid}: priority must be 1 or more, not {priority}")
    new = NewOrder(
        id=oid,
        product=order.product,
        quantity=int(order.quantity),
        due_ns=_ns(order.due) if order.due is not None else 0,
        release_ns=_ns(order.release) if order.release is not None else None,
        priority=priority,
    )
    return ErpOrder(new, cancel=order.cancelled, source=source)


def import_orders(
    service: MomService, orders: Sequence[ScheduledOrder], *, source: str
) -> tuple[dict[str, Outcome], list[Event]]:
    """Apply a whole document's orders, all or none; per order what happened, and the
    events to publish."""
    commands = [to_erp_order(o, source=source) for o in orders]
    outcomes, events = service.sync_orders(commands)
    return {c.order.id: o for c, o in zip(commands, outcomes, strict=True)}, events


def _ns(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000
