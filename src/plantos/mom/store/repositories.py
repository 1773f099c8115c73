"""Repositories: the domain's objects in and out of the SQL tables of one transaction.

Each repository works on the connection of its unit of work and never commits. The
order repository remembers every order it handed out or took in (``seen``): the unit
of work saves them and takes their events at commit. Orders carry a version; saving an
order someone else changed in the meantime raises :class:`ConcurrentChangeError`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from plantos.mom.domain.master import AssetOption, Changeover, Product, Routing, RoutingStep
from plantos.mom.domain.order import OPEN_STATES, ProductionOrder
from plantos.mom.domain.plan import PlannedOperation, PublishedPlan
from plantos.mom.errors import DuplicateOrderError, MomError, UnknownOrderError
from plantos.mom.store import tables as t

PLANS_KEPT = 2


class ConcurrentChangeError(MomError):
    """The order changed in another transaction since it was read: retry."""


_ORDER_FIELDS = (
    "id",
    "product",
    "routing",
    "quantity",
    "due_ns",
    "release_ns",
    "operations",
    "priority",
    "counting",
    "state",
    "asset",
    "good",
    "scrap",
    "started_ns",
    "completed_ns",
    "rate_since_ns",
    "rate_parts",
    "eta_ns",
    "runs",
)


class OrderRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection
        self.seen: dict[str, ProductionOrder] = {}
        self._versions: dict[str, int] = {}
        self._loaded: dict[str, dict[str, Any]] = {}
        """Each order as read, to write back only those that changed."""
        self._open_loaded = False

    def load_open(self) -> None:
        """Read every open order once; :meth:`running_on` and :meth:`open_orders` then
        answer from memory (a batch of counts costs one query, not one per part)."""
        if not self._open_loaded:
            self.list(states=OPEN_STATES, limit=1_000_000)
            self._open_loaded = True

    def open_orders(self, states: Sequence[str]) -> list[ProductionOrder]:
        """Orders in ``states`` (open ones) by due date, from memory after :meth:`load_open`."""
        if not self._open_loaded:
            return self.list(states=states)
        found = [o for o in self.seen.values() if o.state in states]
        return sorted(found, key=lambda o: (o.due_ns, o.id))

    def add(self, order: ProductionOrder) -> None:
        """Insert a new order; :class:`DuplicateOrderError` when its id is taken."""
        if (
            order.id in self.seen
            or self._c.execute(sa.select(t.orders.c.id).where(t.orders.c.id == order.id)).first()
        ):
            raise DuplicateOrderError(f"an order with id {order.id!r} exists already")
        self._c.execute(t.orders.insert().values(**_row(order), version=1))
        self.seen[order.id] = order
        self._versions[order.id] = 1

    def get(self, order_id: str) -> ProductionOrder:
        """The order with this id; :class:`UnknownOrderError` when there is none."""
        if order_id in self.seen:
            return self.seen[order_id]
        row = self._c.execute(sa.select(t.orders).where(t.orders.c.id == order_id)).first()
        if row is None:
            raise UnknownOrderError(f"no production order {order_id!r}")
        return self._track(row)

    def list(
        self, *, states: Sequence[str] | None = None, limit: int = 1000
    ) -> list[ProductionOrder]:
        """Orders (optionally in ``states``), by due date then id."""
        query = sa.select(t.orders).order_by(t.orders.c.due_ns, t.orders.c.id).limit(limit)
        if states is not None:
            query = query.where(t.orders.c.state.in_(list(states)))
        found = [self.seen.get(r.id) or self._track(r) for r in self._c.execute(query)]
        # an order changed in this transaction is listed by its state now, not its row's
        return [o for o in found if states is None or o.state in states]

    def page(
        self, *, states: Sequence[str] | None, due_from_ns: int | None, due_to_ns: int | None,
        after: tuple[int, str] | None, limit: int,
    ) -> Sequence[ProductionOrder]:  # fmt: skip
        """Up to ``limit`` orders after the key ``after`` in (due date, id) order, the
        stable order of the API's pages; due dates in ``[due_from_ns, due_to_ns)``."""
        o = t.orders.c
        query = sa.select(t.orders).order_by(o.due_ns, o.id).limit(limit)
        if states is not None:
            query = query.where(o.state.in_(list(states)))
        if due_from_ns is not None:
            query = query.where(o.due_ns >= due_from_ns)
        if due_to_ns is not None:
            query = query.where(o.due_ns < due_to_ns)
        if after is not None:
            due, oid = after
            query = query.where(sa.or_(o.due_ns > due, sa.and_(o.due_ns == due, o.id > oid)))
        return [self.seen.get(r.id) or self._track(r) for r in self._c.execute(query)]

    def running_on(self, asset: str) -> ProductionOrder | None:
        """The order running on ``asset`` (the earliest started when, wrongly, several are)."""
        for order in self.seen.values():
            if order.state == "running" and order.asset == asset:
                return order
        if self._open_loaded:
            return None
        row = self._c.execute(
            sa.select(t.orders)
            .where(t.orders.c.asset == asset, t.orders.c.state == "running")
            .order_by(t.orders.c.started_ns, t.orders.c.id)
            .limit(1)
        ).first()
        if row is None:
            return None
        order = self.seen.get(row.id) or self._track(row)
        return order if order.state == "running" and order.asset == asset else None

    def save_seen(self) -> None:
        """Write every order changed in this transaction, checking its version."""
        for order_id, order in self.seen.items():
            row = _row(order)
            if row == self._loaded.get(order_id):
                continue
            version = self._versions[order_id]
            result = self._c.execute(
                t.orders.update()
                .where(t.orders.c.id == order_id, t.orders.c.version == version)
                .values(**row, version=version + 1)
            )
            if result.rowcount != 1:
                raise ConcurrentChangeError(f"order {order_id} changed meanwhile; try again")
            self._versions[order_id] = version + 1
            self._loaded[order_id] = copy.deepcopy(row)

    def _track(self, row: sa.Row[Any]) -> ProductionOrder:
        data = row._asdict()
        self._versions[data["id"]] = data.pop("version")
        order = ProductionOrder(**{k: data[k] for k in _ORDER_FIELDS})
        self.seen[order.id] = order
        self._loaded[order.id] = copy.deepcopy(_row(order))
        return order


def _row(order: ProductionOrder) -> dict[str, Any]:
    return {k: getattr(order, k) for k in _ORDER_FIELDS}


class MasterRepository:
    """Products and routings."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def products(self) -> dict[str, Product]:
        rows = self._c.execute(sa.select(t.products).order_by(t.products.c.id))
        return {r.id: Product(r.id, r.name, r.routing, r.counting) for r in rows}

    def routings(self) -> dict[str, Routing]:
        rows = self._c.execute(sa.select(t.routings).order_by(t.routings.c.id))
        return {r.id: _routing(r) for r in rows}

    def put_product(self, product: Product) -> None:
        self._c.execute(t.products.delete().where(t.products.c.id == product.id))
        self._c.execute(
            t.products.insert().values(
                id=product.id, name=product.name, routing=product.routing, counting=product.counting
            )
        )

    def put_routing(self, routing: Routing) -> None:
        self._c.execute(t.routings.delete().where(t.routings.c.id == routing.id))
        self._c.execute(
            t.routings.insert().values(
                id=routing.id,
                product=routing.product,
                steps=[_step_json(s) for s in routing.steps],
                alternatives=list(routing.alternatives),
            )
        )

    def changeovers(self) -> list[Changeover]:
        rows = self._c.execute(sa.select(t.changeovers).order_by(*t.changeovers.c))
        return [Changeover(r.asset, r.from_product, r.to_product, r.setup_s) for r in rows]

    def replace_all(
        self,
        products: Iterable[Product],
        routings: Iterable[Routing],
        changeovers: Iterable[Changeover] = (),
    ) -> None:
        """Make the stored master data exactly these products, routings and changeovers."""
        for table in (t.products, t.routings):
            self._c.execute(table.delete())
        for routing in routings:
            self.put_routing(routing)
        for product in products:
            self.put_product(product)
        self.put_changeovers(changeovers)

    def put_changeovers(self, changeovers: Iterable[Changeover]) -> None:
        """Make the stored changeovers exactly these."""
        self._c.execute(t.changeovers.delete())
        rows = [
            {
                "asset": c.asset,
                "from_product": c.from_product,
                "to_product": c.to_product,
                "setup_s": c.setup_s,
            }
            for c in changeovers
        ]
        if rows:
            self._c.execute(t.changeovers.insert(), rows)


def _step_json(step: RoutingStep) -> dict[str, Any]:
    return {
        "name": step.name,
        "options": [
            {"asset": o.asset, "setup_s": o.setup_s, "run_s_per_unit": o.run_s_per_unit}
            for o in step.options
        ],
    }


def _routing(row: sa.Row[Any]) -> Routing:
    steps = tuple(
        RoutingStep(
            s["name"],
            tuple(
                AssetOption(o["asset"], int(o["setup_s"]), float(o["run_s_per_unit"]))
                for o in s["options"]
            ),
        )
        for s in row.steps
    )
    return Routing(row.id, row.product, steps, tuple(row.alternatives))


class HistoryRepository:
    """What the ERP did to each order (created, updated, cancelled), oldest first."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def add(
        self, order_id: str, *, ts_ns: int, source: str, action: str, changes: dict[str, Any]
    ) -> None:
        self._c.execute(
            t.order_history.insert().values(
                order_id=order_id, ts_ns=ts_ns, source=source, action=action, changes=changes
            )
        )

    def of(self, order_id: str) -> list[dict[str, Any]]:
        h = t.order_history.c
        query = sa.select(h.ts_ns, h.source, h.action, h.changes)
        rows = self._c.execute(query.where(h.order_id == order_id).order_by(h.id))
        return [r._asdict() for r in rows]


class PlanRepository:
    """The published plans: the one in force and the one before it."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def add(self, plan: PublishedPlan) -> int:
        """Store ``plan`` as the one in force; forget all but the :data:`PLANS_KEPT` newest."""
        ops = [
            [o.order_id, o.index, o.asset, o.start_s, o.end_s, *([o.routing] if o.routing else [])]
            for o in plan.operations
        ]
        result = self._c.execute(
            t.plans.insert().values(
                created_ns=plan.created_ns,
                trigger=plan.trigger,
                asset=plan.asset,
                solver=plan.solver,
                status=plan.status,
                weighted_tardiness_s=plan.weighted_tardiness_s,
                makespan_s=plan.makespan_s,
                moved=plan.moved,
                solve_ms=plan.solve_ms,
                assignments=ops,
            )
        )
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the database returned no id for the new plan")
        new_id = int(key[0])
        keep = sa.select(t.plans.c.id).order_by(t.plans.c.id.desc()).limit(PLANS_KEPT)
        self._c.execute(t.plans.delete().where(t.plans.c.id.not_in(keep.scalar_subquery())))
        return new_id

    def latest(self, n: int = PLANS_KEPT) -> list[PublishedPlan]:
        """The newest plans, newest first: ``[current, previous]``."""
        rows = self._c.execute(sa.select(t.plans).order_by(t.plans.c.id.desc()).limit(n))
        return [
            PublishedPlan(
                created_ns=r.created_ns,
                trigger=r.trigger,
                asset=r.asset,
                solver=r.solver,
                status=r.status,
                weighted_tardiness_s=r.weighted_tardiness_s,
                makespan_s=r.makespan_s,
                moved=r.moved,
                solve_ms=r.solve_ms,
                operations=tuple(
                    PlannedOperation(
                        o[0], int(o[1]), o[2], int(o[3]), int(o[4]), o[5] if len(o) > 5 else None
                    )
                    for o in r.assignments
                ),
                id=r.id,
            )
            for r in rows
        ]
