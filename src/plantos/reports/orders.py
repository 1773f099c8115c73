"""What each production order made in a range, from the confirmations the ERP receives.

The outbox's ``OrderProgressed`` rows carry an order's cumulative good and scrap after
each booking, and :func:`plantos.integration.erp.messages.fold` reads them exactly as the
ERP's ``production_performance`` messages do. An order's quantities in a range are its
cumulative figures at the end less those at the start, so the report agrees with what
the ERP was told, and the good of every shift adds up to the order's good count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from plantos.integration.channels.base import OutboundMessage
from plantos.integration.erp.messages import Facts, OrderFacts, fold
from plantos.integration.erp.outbox.store import aware
from plantos.integration.erp.outbox.tables import insertion_order
from plantos.mom.domain.master import Routing
from plantos.mom.domain.order import ProductionOrder
from plantos.mom.store.engine import READ_ONLY
from plantos.mom.store.tables import outbox

KINDS = ("OrderReleased", "OrderProgressed")


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order's share of a range: made there, and its totals to the range's end."""

    order: str
    product: str
    quantity: int
    state: str
    good: int
    scrap: int
    good_to_date: int
    scrap_to_date: int
    operations: tuple[str, ...]
    assets: tuple[str, ...]
    runtime_s: float

    @property
    def yield_(self) -> float | None:
        """Good of all parts made in the range; ``None`` when none were."""
        made = self.good + self.scrap
        return self.good / made if made else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order, "product": self.product, "quantity": self.quantity,
            "state": self.state, "good": self.good, "scrap": self.scrap, "yield": self.yield_,
            "good_to_date": self.good_to_date, "scrap_to_date": self.scrap_to_date,
            "operations": list(self.operations), "assets": list(self.assets),
            "runtime_s": self.runtime_s,
        }  # fmt: skip


def read_progress(engine: sa.Engine) -> list[OutboundMessage]:
    """Every release and booking row of the outbox, in the order they were written."""
    order = insertion_order(engine.dialect.name)
    query = (
        sa.select(outbox.c.id, outbox.c.kind, outbox.c.aggregate_key, outbox.c.payload,
                  outbox.c.created_at)
        .where(outbox.c.kind.in_(KINDS))
        .order_by(order)
    )  # fmt: skip
    with engine.connect() as conn:
        conn.info[READ_ONLY] = True
        with conn.begin():
            rows = conn.execute(query).all()
    return [
        OutboundMessage(r.id, r.kind, r.payload, aware(r.created_at), ordering_key=r.aggregate_key)
        for r in rows
    ]


def facts_at(rows: Iterable[OutboundMessage], ts_ns: int) -> dict[str, Facts]:
    """What the ERP had been told of each order by bookings made before ``ts_ns``."""
    known: dict[str, Facts] = {}
    for row in rows:
        if row.kind == "OrderReleased" or int(row.payload["ts_ns"]) < ts_ns:
            known = fold(known, row)
    return known


def order_lines(
    rows: Sequence[OutboundMessage],
    orders: Mapping[str, ProductionOrder],
    routings: Mapping[str, Routing],
    assets: frozenset[str],
    start_ns: int,
    end_ns: int,
    *,
    now_ns: int,
) -> list[OrderLine]:
    """The orders that ran or were booked on ``assets`` in ``[start_ns, end_ns)``."""
    booked: dict[str, set[str]] = {}
    for row in rows:
        p = row.payload
        if row.kind != "OrderProgressed" or p["asset"] not in assets:
            continue
        if start_ns <= int(p["ts_ns"]) < end_ns:
            booked.setdefault(str(p["subject"]), set()).add(str(p["asset"]))
    runtime = {o.id: _runtime(o, assets, start_ns, end_ns, now_ns) for o in orders.values()}
    ran = {i for i, (_, on) in runtime.items() if on}
    before, after = facts_at(rows, start_ns), facts_at(rows, end_ns)
    lines = []
    for order_id in sorted(set(booked) | ran):
        order = orders.get(order_id)
        end = after.get(order_id)
        if order is None or not isinstance(end, OrderFacts):
            continue
        start = before.get(order_id)
        good0, scrap0 = (start.good, start.scrap) if isinstance(start, OrderFacts) else (0, 0)
        seconds, ran_on = runtime[order_id]
        on = sorted(booked.get(order_id, set()) | ran_on)
        lines.append(OrderLine(
            order=order_id, product=end.product, quantity=order.quantity, state=order.state,
            good=end.good - good0, scrap=end.scrap - scrap0, good_to_date=end.good,
            scrap_to_date=end.scrap, operations=_operations(routings.get(order.routing), on),
            assets=tuple(on), runtime_s=seconds,
        ))  # fmt: skip
    return lines


def _runtime(
    order: ProductionOrder, assets: frozenset[str], start_ns: int, end_ns: int, now_ns: int
) -> tuple[float, set[str]]:
    """Seconds the order ran on ``assets`` within the range, and on which of them."""
    total, on = 0, set()
    for asset, began, ended in order.runs:
        a, b = max(int(began), start_ns), min(now_ns if ended is None else int(ended), end_ns)
        if asset in assets and b > a:
            total += b - a
            on.add(str(asset))
    return total / 1e9, on


def _operations(routing: Routing | None, assets: Sequence[str]) -> tuple[str, ...]:
    """The routing operations the order's assets do, in routing order."""
    if routing is None:
        return ()
    steps = {routing.step_for(a) for a in assets} - {None}
    return tuple(routing.steps[i].name for i in sorted(s for s in steps if s is not None))
