"""One path for every production order that comes from the ERP, whatever its form
(B2MML schedule, CSV, REST, the inbound interface table): the ERP's order number is
the order's id, so the same order arriving twice changes nothing, a changed order is
updated in place with a history entry, and a cancelled one leaves the schedule.

Each call does one order inside the caller's unit of work; a refusal raises a
:class:`~plantos.mom.errors.MomError` naming the reason and, the caller rolling back,
leaves nothing half-done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from plantos.core.timeparse import iso
from plantos.mom import handlers
from plantos.mom.domain.commands import NewOrder
from plantos.mom.errors import InvalidOrderError, UnknownOrderError
from plantos.mom.store.repositories import HistoryRepository

Outcome = Literal["created", "updated", "cancelled", "unchanged"]


class SyncUnitOfWork(handlers.UnitOfWork, Protocol):
    history: HistoryRepository


@dataclass(frozen=True, slots=True)
class ErpOrder:
    """An order as the ERP states it now: ``cancel`` withdraws it; ``source`` names the
    inbound format (``b2mml``, ``csv``, ``api``, ``interface-table:<name>``) for the
    history."""

    order: NewOrder
    cancel: bool = False
    source: str = "api"


def sync_order(uow: SyncUnitOfWork, cmd: ErpOrder, *, now_ns: int) -> Outcome:
    """Create, update, cancel, or recognise as a duplicate the order ``cmd`` names."""
    new = cmd.order
    try:
        order = uow.orders.get(new.id)
    except UnknownOrderError:
        if cmd.cancel:
            raise UnknownOrderError(
                f"cannot cancel order {new.id!r}: PlantOS has no such order"
            ) from None
        created = handlers.create_orders(uow, [new], now_ns=now_ns)[0]
        uow.history.add(created.id, ts_ns=now_ns, source=cmd.source, action="created",
                        changes=_fields(new, created.release_ns))  # fmt: skip
        return "created"
    if cmd.cancel:
        if order.state == "cancelled":
            return "unchanged"
        previous = order.state
        order.transition("cancelled", ts_ns=now_ns)
        uow.history.add(order.id, ts_ns=now_ns, source=cmd.source, action="cancelled",
                        changes={"state": [previous, "cancelled"]})  # fmt: skip
        return "cancelled"
    if new.product != order.product:
        raise InvalidOrderError(
            f"order {new.id} makes {order.product!r}; the product of an order cannot change "
            f"to {new.product!r}: cancel it and release a new order"
        )
    wanted: dict[str, int] = {"quantity": new.quantity, "due_ns": new.due_ns,
                              "priority": new.priority}  # fmt: skip
    if new.release_ns is not None:
        wanted["release_ns"] = new.release_ns
    changes = order.amend(wanted, ts_ns=now_ns, source=cmd.source)
    if not changes:
        return "unchanged"
    uow.history.add(order.id, ts_ns=now_ns, source=cmd.source, action="updated",
                    changes=changes)  # fmt: skip
    return "updated"


def _fields(new: NewOrder, release_ns: int) -> dict[str, list[object]]:
    return {
        "product": [None, new.product], "quantity": [None, new.quantity],
        "due_ns": [None, new.due_ns], "release_ns": [None, release_ns],
        "priority": [None, new.priority],
    }  # fmt: skip


def history_view(entry: dict[str, Any]) -> dict[str, Any]:
    """One history entry as people and scripts read it: when (ISO 8601), from which
    source, what happened, and each field's old and new value, the ``*_ns`` times as
    ISO 8601 under the field's plain name (``due``, ``release``)."""
    changes: dict[str, dict[str, object]] = {}
    for name, (old, new) in entry["changes"].items():
        if name.endswith("_ns"):
            name, old, new = name[:-3], _iso_or_none(old), _iso_or_none(new)
        changes[name] = {"old": old, "new": new}
    return {"at": iso(entry["ts_ns"]), "source": entry["source"], "action": entry["action"],
            "changes": changes}  # fmt: skip


def _iso_or_none(value: object) -> object:
    return iso(value) if isinstance(value, int) else value
