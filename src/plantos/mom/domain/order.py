"""The production order aggregate: its states, its counts and the events it records.

States and the moves between them::

    released -> scheduled | running | cancelled
    scheduled -> released | running | cancelled
    running -> paused | completed | cancelled
    paused -> running | completed | cancelled

``completed`` and ``cancelled`` are final. Any other move raises
:class:`~plantos.mom.errors.IllegalTransitionError` and changes nothing.

Every part, from a machine counter or typed by an operator, is booked through
:meth:`ProductionOrder.book`, the one write path: the order's counting source decides
what each source may book, so a part is never counted twice (see :mod:`.counting`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plantos.core.events import Event
from plantos.core.timeunits import NS_PER_S as NS
from plantos.mom.domain.counting import Count, apply_count
from plantos.mom.domain.events import (
    OrderAmended,
    OrderProgressed,
    OrderReleased,
    OrderStateChanged,
)
from plantos.mom.domain.master import COUNTING_SOURCES, Routing
from plantos.mom.errors import CountRejectedError, IllegalTransitionError, InvalidOrderError

STATES = ("released", "scheduled", "running", "paused", "completed", "cancelled")
OPEN_STATES = ("released", "scheduled", "running", "paused")
ALLOWED: dict[str, frozenset[str]] = {
    "released": frozenset({"scheduled", "running", "cancelled"}),
    "scheduled": frozenset({"released", "running", "cancelled"}),
    "running": frozenset({"paused", "completed", "cancelled"}),
    "paused": frozenset({"running", "completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
AMENDABLE = ("quantity", "due_ns", "release_ns", "priority")
"""What a change from the ERP may set on an existing order (the product may not change:
the ERP cancels the order and releases a new one)."""


@dataclass(eq=False)
class ProductionOrder:
    """One order to make ``quantity`` good units of ``product`` along ``routing`` by ``due_ns``.

    ``good`` and ``scrap`` are per routing operation; the order's good count is its last
    operation's. ``counting`` (``machine``, ``operator`` or ``both``) overrides the
    product's and the asset's source when set.
    """

    id: str
    product: str
    routing: str
    quantity: int
    due_ns: int
    release_ns: int
    operations: int
    priority: int = 1
    counting: str | None = None
    state: str = "released"
    asset: str | None = None
    good: list[int] = field(default_factory=list)
    scrap: list[int] = field(default_factory=list)
    started_ns: int | None = None
    completed_ns: int | None = None
    rate_since_ns: int | None = None
    rate_parts: int = 0
    eta_ns: int | None = None
    runs: list[list[Any]] = field(default_factory=list)
    """Where and when it ran: ``[asset, start_ns, end_ns or None]`` per stretch."""
    events: list[Event] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 64:
            raise InvalidOrderError(f"an order id needs 1 to 64 characters, got {self.id!r}")
        if self.quantity <= 0:
            raise InvalidOrderError(
                f"order {self.id}: quantity must be positive, not {self.quantity}"
            )
        if self.operations <= 0:
            raise InvalidOrderError(
                f"order {self.id}: its routing {self.routing!r} has no operation"
            )
        if self.counting is not None and self.counting not in COUNTING_SOURCES:
            raise InvalidOrderError(
                f"order {self.id}: counting must be one of {', '.join(COUNTING_SOURCES)}, "
                f"not {self.counting!r}"
            )
        if self.state not in STATES:
            raise InvalidOrderError(f"order {self.id}: unknown state {self.state!r}")
        self.good = self.good or [0] * self.operations
        self.scrap = self.scrap or [0] * self.operations

    @classmethod
    def release(
        cls,
        *,
        id: str,
        routing: Routing,
        quantity: int,
        due_ns: int,
        release_ns: int,
        priority: int = 1,
        counting: str | None = None,
    ) -> ProductionOrder:
        """A new order, released to the floor; records :class:`OrderReleased`."""
        if due_ns < release_ns:
            raise InvalidOrderError(f"order {id}: due date is before its release date")
        order = cls(
            id=id,
            product=routing.product,
            routing=routing.id,
            quantity=quantity,
            due_ns=due_ns,
            release_ns=release_ns,
            operations=len(routing.steps),
            priority=priority,
            counting=counting,
        )
        order.events.append(
            OrderReleased(
                ts_ns=release_ns,
                subject=id,
                product=order.product,
                quantity=quantity,
                due_ns=due_ns,
                priority=priority,
            )
        )
        return order

    @property
    def good_total(self) -> int:
        return self.good[-1]

    @property
    def scrap_total(self) -> int:
        return sum(self.scrap)

    @property
    def current_operation(self) -> int:
        """The first operation that has not yet made the quantity (the last when all have)."""
        return next((i for i, g in enumerate(self.good) if g < self.quantity), self.operations - 1)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def transition(
        self, to: str, *, ts_ns: int, asset: str | None = None, routing: Routing | None = None
    ) -> None:
        """Move to state ``to``; :class:`IllegalTransitionError` names the allowed moves.

        ``routing``: the routing it starts running on, when the plan chose an alternative
        of its own; the order follows that routing's steps from then on (its counts,
        current operation and running assignment are per step of one routing)."""
        if to not in STATES:
            raise IllegalTransitionError(
                f"order {self.id}: {to!r} is not a state ({', '.join(STATES)})"
            )
        allowed = ALLOWED[self.state]
        if to not in allowed:
            can = ", ".join(sorted(allowed)) or "nothing: it is final"
            raise IllegalTransitionError(
                f"order {self.id} is {self.state}; it can go to {can}, not {to}"
            )
        if to == "running" and routing is not None and routing.id != self.routing:
            self._follow(routing)
        previous, self.state = self.state, to
        self._close_run(ts_ns)
        if to == "running":
            self.asset = asset or self.asset
            self.runs.append([self.asset, ts_ns, None])
            self.started_ns = self.started_ns if self.started_ns is not None else ts_ns
            self.rate_since_ns, self.rate_parts = ts_ns, 0
        elif to in ("completed", "cancelled"):
            self.completed_ns = ts_ns
            self.eta_ns = None if to == "cancelled" else ts_ns
        self.events.append(
            OrderStateChanged(
                ts_ns=ts_ns, subject=self.id, previous=previous, state=to, asset=self.asset
            )
        )

    def _follow(self, routing: Routing) -> None:
        """Make the order along ``routing``: only an alternative for the same product, and
        only before its first part, since the parts already counted belong to the steps
        of the routing they were made on."""
        if routing.product != self.product:
            raise InvalidOrderError(
                f"order {self.id}: routing {routing.id!r} makes {routing.product!r}, "
                f"not {self.product!r}"
            )
        if self.started_ns is not None or any(self.good) or any(self.scrap):
            raise IllegalTransitionError(
                f"order {self.id} has started on routing {self.routing!r}: it cannot "
                f"change to {routing.id!r}"
            )
        self.routing, self.operations = routing.id, len(routing.steps)
        self.good, self.scrap = [0] * self.operations, [0] * self.operations

    def amend(self, wanted: dict[str, Any], *, ts_ns: int, source: str) -> dict[str, list[Any]]:
        """Set the fields of ``wanted`` (a subset of :data:`AMENDABLE`) that differ, as the
        ERP changed them; records :class:`OrderAmended` and returns ``{field: [old, new]}``
        (empty, and nothing recorded, when nothing differs). Refused for a final order, a
        due date before the release, or a quantity below the good parts made already."""
        unknown = sorted(set(wanted) - set(AMENDABLE))
        if unknown:
            raise InvalidOrderError(f"order {self.id}: {unknown} cannot be changed")
        changes = {k: [getattr(self, k), v] for k, v in wanted.items() if getattr(self, k) != v}
        if not changes:
            return {}
        if not self.is_open:
            raise IllegalTransitionError(f"order {self.id} is {self.state}: it takes no changes")
        after = {k: v for k, (_, v) in changes.items()}
        quantity = after.get("quantity", self.quantity)
        if quantity <= 0 or quantity < self.good_total:
            raise InvalidOrderError(
                f"order {self.id}: quantity {quantity} must be positive and at least the "
                f"{self.good_total} good parts made"
            )
        if after.get("due_ns", self.due_ns) < after.get("release_ns", self.release_ns):
            raise InvalidOrderError(f"order {self.id}: due date is before its release date")
        for name, value in after.items():
            setattr(self, name, value)
        self.events.append(OrderAmended(ts_ns=ts_ns, subject=self.id, changes=changes,
                                        source=source))  # fmt: skip
        return changes

    def move_to(self, asset: str, *, ts_ns: int) -> None:
        """A running order's next operation starts on another asset."""
        if self.state != "running":
            raise IllegalTransitionError(
                f"order {self.id} is {self.state}: only a running order moves"
            )
        self._close_run(ts_ns)
        self.asset = asset
        self.runs.append([asset, ts_ns, None])

    def _close_run(self, ts_ns: int) -> None:
        if self.runs and self.runs[-1][2] is None:
            self.runs[-1][2] = ts_ns

    def book(self, count: Count, *, routing: Routing, mode: str) -> bool:
        """Book one count under counting source ``mode``; return whether it changed the order.

        Completes the order when its last operation reaches the quantity. Raises
        :class:`~plantos.mom.errors.CountRejectedError` when ``mode`` does not take the
        count's source, or the order is neither running nor paused.
        """
        if self.state not in ("running", "paused"):
            raise CountRejectedError(f"order {self.id} is {self.state}: it takes no counts")
        step = (
            routing.step_for(count.asset, from_index=0)
            if count.operation is None
            else count.operation
        )
        if step is None or not 0 <= step < self.operations:
            step = self.current_operation
        before = self.current_operation
        if not apply_count(self.good, self.scrap, step, count, mode=mode, order=self.id):
            return False
        if self.current_operation != before:
            self.rate_since_ns, self.rate_parts = count.ts_ns, 0
        else:
            self.rate_parts += count.good + count.scrap
        self.eta_ns = self._eta(count.ts_ns, routing)
        if self.events and isinstance(self.events[-1], OrderProgressed):
            self.events.pop()  # one progress fact per order and change: the newest totals
        self.events.append(
            OrderProgressed(
                ts_ns=count.ts_ns,
                subject=self.id,
                asset=count.asset,
                operation=self.current_operation,
                good=self.good_total,
                scrap=self.scrap_total,
                eta_ns=self.eta_ns,
            )
        )
        if self.good_total >= self.quantity and self.state in ("running", "paused"):
            self.transition("completed", ts_ns=count.ts_ns)
        return True

    def _eta(self, now_ns: int, routing: Routing) -> int | None:
        """Now plus the rest of the current operation at the live rate plus the planned
        times of the later operations on their preferred assets."""
        op = self.current_operation
        remaining = max(self.quantity - self.good[op], 0)
        if remaining == 0 and op == self.operations - 1:
            return now_ns
        if self.rate_since_ns is None or self.rate_parts <= 0 or now_ns <= self.rate_since_ns:
            return self.eta_ns
        per_part_ns = (now_ns - self.rate_since_ns) / self.rate_parts
        later_s = sum(
            s.options[0].duration_s(self.quantity) for s in routing.steps[op + 1 :] if s.options
        )
        return now_ns + int(remaining * per_part_ns) + later_s * NS

    def take_events(self) -> list[Event]:
        """The events recorded since the last call, oldest first (the outbox takes them)."""
        out, self.events = self.events, []
        return out
