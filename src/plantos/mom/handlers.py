"""The operations handlers: each takes a unit of work and does one change inside it.

Handlers never commit; the caller's unit of work does, once, so a handler that raises
leaves nothing behind. The events the change caused are recorded by the aggregates and
reach the outbox at commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import Product, Routing
from plantos.mom.domain.order import ProductionOrder
from plantos.mom.domain.plan import PublishedPlan
from plantos.mom.errors import CountRejectedError, UnknownOrderError, UnknownProductError
from plantos.mom.store.repositories import MasterRepository, OrderRepository, PlanRepository


class UnitOfWork(Protocol):
    orders: OrderRepository
    master: MasterRepository
    plans: PlanRepository


def create_orders(
    uow: UnitOfWork, new: Sequence[NewOrder], *, now_ns: int
) -> list[ProductionOrder]:
    """Release every order of ``new``; the first unknown product or taken id refuses all."""
    products = uow.master.products()
    routings = uow.master.routings()
    created = []
    for cmd in new:
        routing = _routing_of(cmd.product, products, routings)
        order = ProductionOrder.release(
            id=cmd.id,
            routing=routing,
            quantity=cmd.quantity,
            due_ns=cmd.due_ns,
            release_ns=now_ns if cmd.release_ns is None else cmd.release_ns,
            priority=cmd.priority,
            counting=cmd.counting,
        )
        uow.orders.add(order)
        created.append(order)
    return created


def _routing_of(
    product: str, products: Mapping[str, Product], routings: Mapping[str, Routing]
) -> Routing:
    if product not in products:
        known = ", ".join(sorted(products)) or "none defined"
        raise UnknownProductError(f"unknown product {product!r} (known: {known})")
    return routings[products[product].routing]


def change_state(
    uow: UnitOfWork, order_id: str, to: str, *, ts_ns: int, asset: str | None = None
) -> ProductionOrder:
    """Move one order to state ``to`` (``asset``: where it starts running, on the
    alternative routing the plan chose for it when that routing's step runs there)."""
    order = uow.orders.get(order_id)
    routing = None
    if to == "running" and asset is not None:
        latest = uow.plans.latest(1)
        routing = _routing_on(order, asset, uow.master.routings(), latest[0] if latest else None)
    order.transition(to, ts_ns=ts_ns, asset=asset, routing=routing)
    return order


@dataclass
class Booking:
    """What one batch of counts did: parts booked, and counts no order took (by reason)."""

    booked: int = 0
    unassigned: dict[str, int] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    """Orders completed by this batch, and those of them completed after their due date."""

    def miss(self, reason: str, parts: int) -> None:
        self.unassigned[reason] = self.unassigned.get(reason, 0) + parts


@dataclass(frozen=True)
class CountingPolicy:
    """The counting source per asset (``assets``) and the plant's default."""

    default: str = "machine"
    assets: Mapping[str, str] = field(default_factory=dict)

    def mode(self, order: ProductionOrder, product: Product | None, asset: str) -> str:
        return (
            order.counting
            or (product.counting if product else None)
            or self.assets.get(asset, self.default)
        )


def book_counts(
    uow: UnitOfWork, counts: Sequence[Count], *, policy: CountingPolicy, plan: PublishedPlan | None
) -> Booking:
    """Book counts in time order to the order running on each asset. An asset with no
    running order starts the next one the plan has for it (or the most urgent open order
    it can make) at its first part. Machine counts that no order takes are counted in
    the result, never dropped silently; an operator count that cannot be booked raises."""
    products = uow.master.products()
    routings = uow.master.routings()
    uow.orders.load_open()
    result = Booking()
    for count in sorted(counts, key=lambda c: c.ts_ns):
        order = _order_for(uow, count.asset, routings, plan, ts_ns=count.ts_ns)
        parts = count.good + count.scrap
        if order is None:
            result.miss("no order for the asset", parts)
            continue
        mode = policy.mode(order, products.get(order.product), count.asset)
        try:
            booked = order.book(count, routing=routings[order.routing], mode=mode)
        except CountRejectedError:
            if count.source == "operator":
                raise
            result.miss("order does not take machine counts", parts)
            continue
        if booked:
            result.booked += parts
            if order.state == "completed":
                result.completed.append(order.id)
                if order.completed_ns is not None and order.completed_ns > order.due_ns:
                    result.late.append(order.id)
        else:
            result.miss(f"counting source is {mode}", parts)
    return result


def book_to(uow: UnitOfWork, order_id: str, count: Count, *, policy: CountingPolicy) -> bool:
    """Book one count to a given order under its counting source; return whether it
    changed the order. :class:`CountRejectedError` when the source may not book to it."""
    order = uow.orders.get(order_id)
    product = uow.master.products().get(order.product)
    mode = policy.mode(order, product, count.asset)
    return order.book(count, routing=uow.master.routings()[order.routing], mode=mode)


def book_scrap(
    uow: UnitOfWork,
    order_id: str,
    parts: int,
    *,
    asset: str,
    ts_ns: int,
    policy: CountingPolicy,
) -> ProductionOrder:
    """Book ``parts`` of ``order_id`` made on ``asset`` as scrap (a disposition): parts the
    machine counted good move to scrap; where only operators count, they are added as
    scrap. All of them or none: :class:`CountRejectedError` says why."""
    if parts <= 0:
        raise CountRejectedError(f"order {order_id}: scrap needs a positive quantity, not {parts}")
    order = uow.orders.get(order_id)
    mode = policy.mode(order, uow.master.products().get(order.product), asset)
    operator = mode == "operator"
    count = Count(
        source="operator" if operator else "machine",
        asset=asset,
        ts_ns=ts_ns,
        good=0,
        scrap=parts,
        from_good=not operator,
    )
    before = order.scrap_total
    book_to(uow, order_id, count, policy=policy)
    if order.scrap_total - before != parts:
        raise CountRejectedError(
            f"order {order_id}: {parts} parts to scrap but only {order.scrap_total - before} "
            "of them were counted good on that operation"
        )
    return order


def _order_for(
    uow: UnitOfWork,
    asset: str,
    routings: Mapping[str, Routing],
    plan: PublishedPlan | None,
    *,
    ts_ns: int,
) -> ProductionOrder | None:
    order = uow.orders.running_on(asset)
    if order is not None:
        return order
    late = _paused_after(uow, asset, ts_ns)
    if late is not None:
        return late
    order = next_order(uow, asset, routings, plan, ts_ns=ts_ns)
    if order is None:
        return None
    if order.state == "running":
        order.move_to(asset, ts_ns=ts_ns)
    else:
        routing = _routing_on(order, asset, routings, plan)
        order.transition("running", ts_ns=ts_ns, asset=asset, routing=routing)
    return order


def next_order(
    uow: UnitOfWork,
    asset: str,
    routings: Mapping[str, Routing],
    plan: PublishedPlan | None,
    *,
    ts_ns: int,
) -> ProductionOrder | None:
    """The order ``asset`` should work on next at ``ts_ns``: the plan's earliest open
    operation on it (a paused order too, when a plan made after the pause moved it here or
    back after a repair),
    else the most urgent released or scheduled order whose current operation it can do.
    A paused order is never resumed by counts alone: someone paused it; no order starts
    before its release."""

    def fits(order: ProductionOrder) -> bool:
        if not order.is_open or order.state == "paused":
            return False
        if _routing_on(order, asset, routings, plan) is None:
            return False
        if order.release_ns > ts_ns:  # not released yet at the time of the part
            return False
        # a running order moves on only once its own asset cannot do its current operation
        step = routings[order.routing].steps[order.current_operation]
        return (
            order.state != "running" or order.asset is None or step.option_on(order.asset) is None
        )

    if plan is not None:
        for op in plan.on_asset(asset):
            order = _get(uow, op.order_id)
            if order is None or op.index != order.current_operation:
                continue
            if fits(order) or (
                order.state == "paused"
                and _can_do(order, routings, asset)
                and _planned_since_pause(plan, order)
            ):
                return order
    candidates = [o for o in uow.orders.open_orders(("released", "scheduled")) if fits(o)]
    candidates.sort(key=lambda o: (-o.priority, o.due_ns, o.id))
    return candidates[0] if candidates else None


def _paused_after(uow: UnitOfWork, asset: str, ts_ns: int) -> ProductionOrder | None:
    """An order paused on ``asset`` at or after ``ts_ns``: a count that arrives after the
    pause but was made before it still belongs to that order."""
    for order in uow.orders.open_orders(("paused",)):
        if order.asset == asset and order.runs and (order.runs[-1][2] or 0) >= ts_ns:
            return order
    return None


def _planned_since_pause(plan: PublishedPlan, order: ProductionOrder) -> bool:
    """Whether ``plan`` was made knowing ``order`` was paused: a plan from before the
    pause (the replan it triggered still solving) must not resume what someone paused."""
    paused_ns = order.runs[-1][2] if order.runs else None
    return paused_ns is None or plan.created_ns >= paused_ns


def _routing_on(
    order: ProductionOrder, asset: str, routings: Mapping[str, Routing], plan: PublishedPlan | None
) -> Routing | None:
    """The routing by which ``order``'s current operation can run on ``asset``, ``None``
    when none can. An order not started yet may start on the alternative the plan chose
    for it (that choice first) or on its own; a started one stays on the routing it
    started on, since its counts are per step of that routing."""
    options = [routings[order.routing]]
    chosen = plan.routing_of(order.id) if plan is not None else None
    alternative = routings.get(chosen) if chosen is not None else None
    if (
        order.state in ("released", "scheduled")
        and alternative is not None
        and alternative.id != order.routing
        and alternative.product == order.product
    ):
        options.insert(0, alternative)
    at = order.current_operation
    return next(
        (r for r in options if at < len(r.steps) and r.steps[at].option_on(asset) is not None),
        None,
    )


def _can_do(order: ProductionOrder, routings: Mapping[str, Routing], asset: str) -> bool:
    return routings[order.routing].steps[order.current_operation].option_on(asset) is not None


def _get(uow: UnitOfWork, order_id: str) -> ProductionOrder | None:
    try:
        return uow.orders.get(order_id)
    except UnknownOrderError:
        return None
