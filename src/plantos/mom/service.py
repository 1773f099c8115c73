"""The operations service: one place the API, the CLI and the bus consumers go through.

Every call opens one unit of work (one transaction, with its outbox rows) and returns
what it changed together with the events to publish after the commit. Calls block on
the database: from the event loop, run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.core.events import Event
from plantos.mom import handlers
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.domain.master import Changeover, Product, Routing, master_problems
from plantos.mom.domain.order import ProductionOrder
from plantos.mom.domain.plan import PublishedPlan
from plantos.mom.errors import MasterDataError
from plantos.mom.handlers import Booking, CountingPolicy
from plantos.mom.masterdata import MasterData
from plantos.mom.order_sync import ErpOrder, Outcome, sync_order
from plantos.mom.store.uow import SqlUnitOfWork

T = TypeVar("T")
Result = tuple[T, list[Event]]


class MomService:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Clock,
        assets: Collection[str],
        policy: CountingPolicy | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.assets = set(assets)
        self.policy = policy or CountingPolicy()

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, clock=self.clock, read_only=read_only)

    def _change(self, work: Callable[[SqlUnitOfWork], T]) -> Result[T]:
        with self.unit_of_work() as uow:
            value = work(uow)
            uow.commit()
            return value, uow.published

    def _read(self, work: Callable[[SqlUnitOfWork], T]) -> T:
        with self.unit_of_work(read_only=True) as uow:
            return work(uow)

    def seed_master_data(self, master: MasterData, *, replace: bool = False) -> bool:
        """Store the YAML master data when the database has none (or ``replace``);
        return whether it was stored. After seeding, the database is the master and the
        API edits it."""
        problems = master_problems(master.products, master.routings, self.assets)
        if problems:
            raise MasterDataError("; ".join(problems))

        def work(uow: SqlUnitOfWork) -> bool:
            if uow.master.products() and not replace:
                return False
            uow.master.replace_all(
                master.products.values(), master.routings.values(), master.changeovers
            )
            return True

        return self._change(work)[0]

    def create_orders(self, new: Sequence[NewOrder]) -> Result[list[ProductionOrder]]:
        """Release orders, all or none."""
        return self._change(
            lambda uow: handlers.create_orders(uow, new, now_ns=self.clock.now_ns())
        )

    def sync_orders(self, orders: Sequence[ErpOrder]) -> Result[list[Outcome]]:
        """Apply the ERP's orders (new, changed, cancelled or repeated) all or none: the
        one path every inbound format takes (see :mod:`plantos.mom.order_sync`)."""
        now = self.clock.now_ns()
        return self._change(lambda uow: [sync_order(uow, cmd, now_ns=now) for cmd in orders])

    def order_history(self, order_id: str) -> list[dict[str, Any]]:
        """What the ERP did to an order, oldest first."""
        return self._read(lambda uow: uow.history.of(order_id))

    def transition(
        self, order_id: str, to: str, *, asset: str | None = None
    ) -> Result[ProductionOrder]:
        if asset is not None and asset not in self.assets:
            raise MasterDataError(f"unknown asset {asset!r}")
        return self._change(
            lambda uow: handlers.change_state(
                uow, order_id, to, ts_ns=self.clock.now_ns(), asset=asset
            )
        )

    def book(self, counts: Sequence[Count]) -> Result[Booking]:
        """Book counts (machine or operator) along the current plan, in one transaction."""

        def work(uow: SqlUnitOfWork) -> Booking:
            latest = uow.plans.latest(1)
            return handlers.book_counts(
                uow, counts, policy=self.policy, plan=latest[0] if latest else None
            )

        return self._change(work)

    def book_for(self, order_id: str, count: Count, *, note: Event | None = None) -> Result[bool]:
        """Book one count (an operator's entry) to a given order under its counting source;
        ``note`` (why, by whom) joins the outbox in the same transaction when it is booked."""

        def work(uow: SqlUnitOfWork) -> bool:
            booked = handlers.book_to(uow, order_id, count, policy=self.policy)
            if booked and note is not None:
                uow.record(note)
            return booked

        return self._change(work)

    def pause_on(self, asset: str, *, ts_ns: int) -> list[Event]:
        """Pause the order running on ``asset`` as of ``ts_ns`` (when its machine went
        down), so the plan can move the rest of it; the events of the change."""

        def work(uow: SqlUnitOfWork) -> None:
            order = uow.orders.running_on(asset)
            if order is not None:
                order.transition("paused", ts_ns=ts_ns)

        return self._change(work)[1]

    def orders(self, *, states: Sequence[str] | None = None) -> list[ProductionOrder]:
        return self._read(lambda uow: uow.orders.list(states=states))

    def order_page(
        self, *, states: Sequence[str] | None = None, due_from_ns: int | None = None,
        due_to_ns: int | None = None, after: tuple[int, str] | None = None, limit: int = 100,
        keep: Callable[[ProductionOrder], bool] = lambda _: True,
    ) -> tuple[list[ProductionOrder], bool]:  # fmt: skip
        """Up to ``limit`` orders ``keep`` accepts after ``after`` by (due date, id), and
        whether more follow."""

        def work(uow: SqlUnitOfWork) -> tuple[list[ProductionOrder], bool]:
            found: list[ProductionOrder] = []
            key = after
            while len(found) <= limit:
                chunk = uow.orders.page(
                    states=states, due_from_ns=due_from_ns, due_to_ns=due_to_ns,
                    after=key, limit=limit + 1,
                )  # fmt: skip
                found += [o for o in chunk if keep(o)]
                if len(chunk) <= limit:
                    break
                key = (chunk[-1].due_ns, chunk[-1].id)
            return found[:limit], len(found) > limit

        return self._read(work)

    def order(self, order_id: str) -> ProductionOrder:
        return self._read(lambda uow: uow.orders.get(order_id))

    def master(self) -> tuple[dict[str, Product], dict[str, Routing]]:
        return self._read(lambda uow: (uow.master.products(), uow.master.routings()))

    def changeovers(self) -> list[Changeover]:
        """The sequence-dependent setups between products, per asset."""
        return self._read(lambda uow: uow.master.changeovers())

    def put_master(self, *, product: Product | None = None, routing: Routing | None = None) -> None:
        """Add or replace a product and/or a routing; :class:`MasterDataError` naming every
        contradiction the edit would cause, and nothing stored then."""

        def work(uow: SqlUnitOfWork) -> None:
            products, routings = uow.master.products(), uow.master.routings()
            if product is not None:
                products[product.id] = product
            if routing is not None:
                routings[routing.id] = routing
            problems = master_problems(products, routings, self.assets)
            if problems:
                raise MasterDataError("; ".join(problems))
            if routing is not None:
                uow.master.put_routing(routing)
            if product is not None:
                uow.master.put_product(product)

        self._change(work)

    def put_changeovers(self, changeovers: Sequence[Changeover]) -> None:
        """Replace the changeovers; :class:`MasterDataError` naming an unknown asset or
        product, a negative time or a pair given twice, and nothing stored then."""

        def work(uow: SqlUnitOfWork) -> None:
            products = uow.master.products()
            problems = [
                p for c in changeovers for p in _changeover_problems(c, products, self.assets)
            ]
            keys = [(c.asset, c.from_product, c.to_product) for c in changeovers]
            if len(set(keys)) != len(keys):
                problems.append("a changeover is given twice for the same asset and products")
            if problems:
                raise MasterDataError("; ".join(problems))
            uow.master.put_changeovers(changeovers)

        self._change(work)

    def plans(self) -> list[PublishedPlan]:
        """``[current, previous]`` plans (fewer before the second publication)."""
        return self._read(lambda uow: uow.plans.latest())

    def publish_plan(self, plan: PublishedPlan, event_for: Callable[[int], Event]) -> Result[int]:
        """Store ``plan`` as current, mark its orders scheduled, and record the event
        ``event_for(plan_id)`` in the outbox, in one transaction."""

        def work(uow: SqlUnitOfWork) -> int:
            plan_id = uow.plans.add(plan)
            planned = {o.order_id for o in plan.operations}
            # one query for the few orders released since the last plan, not one per order
            for order in uow.orders.list(states=("released",), limit=1_000_000):
                if order.id in planned:
                    order.transition("scheduled", ts_ns=plan.created_ns)
            uow.record(event_for(plan_id))
            return plan_id

        return self._change(work)


def _changeover_problems(
    c: Changeover, products: Collection[str], assets: Collection[str]
) -> list[str]:
    out = [] if c.asset in assets else [f"changeover: unknown asset {c.asset!r}"]
    out += [
        f"changeover on {c.asset!r}: unknown product {p!r}"
        for p in (c.from_product, c.to_product)
        if p not in products
    ]
    if c.setup_s < 0:
        out.append(f"changeover on {c.asset!r}: setup must not be negative")
    return out
