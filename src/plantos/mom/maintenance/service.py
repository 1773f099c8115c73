"""The maintenance service: the one way the API, the CLI and the maintenance loop change
work orders. Every call is one unit of work (the change and its outbox rows commit
together) and returns what it changed with the events to publish after the commit.
Blocking: from the event loop, call it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.core.events import Event
from plantos.mom.maintenance.catalogue import Catalogue
from plantos.mom.maintenance.errors import InvalidWorkOrderError
from plantos.mom.maintenance.history import AssetHistory, history_of
from plantos.mom.maintenance.uow import MaintenanceUnitOfWork
from plantos.mom.maintenance.workorder import ALLOWED, WorkOrder

T = TypeVar("T")
Result = tuple[T, list[Event]]
StartGate = Callable[[sa.Connection, WorkOrder], None]
"""Checks a work order may move to ``in_progress``; raises the refusal when not."""


def new_work_order_id() -> str:
    """A short unique id people can read out over the radio."""
    return f"WO-{uuid.uuid4().hex[:8].upper()}"


class MaintenanceService:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Clock,
        catalogue: Catalogue,
        asset_types: dict[str, str | None],
        before_start: StartGate | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.catalogue = catalogue
        self.asset_types = asset_types
        """Asset path to asset type: which catalogue class an asset's codes come from."""
        self.before_start = before_start
        """Raises to keep a job from starting (its lock-out/tag-out checklist is missing);
        called in the transition's transaction."""

    def unit_of_work(self, *, read_only: bool = False) -> MaintenanceUnitOfWork:
        return MaintenanceUnitOfWork(self.engine, clock=self.clock, read_only=read_only)

    def change(self, work: Callable[[MaintenanceUnitOfWork], T]) -> Result[T]:
        """Run ``work`` in one writing unit of work and commit it."""
        with self.unit_of_work() as uow:
            value = work(uow)
            uow.commit()
            return value, uow.published

    def read(self, work: Callable[[MaintenanceUnitOfWork], T]) -> T:
        with self.unit_of_work(read_only=True) as uow:
            return work(uow)

    def request(
        self,
        *,
        asset: str,
        kind: str,
        title: str,
        by: str,
        priority: int = 3,
        failure_mode: str | None = None,
        mechanism: str | None = None,
        cause: str | None = None,
    ) -> Result[WorkOrder]:
        """Open a work order by hand (a breakdown, a planned job)."""
        self.check_codes(asset, mode=failure_mode, mechanism=mechanism, cause=cause)

        def work(uow: MaintenanceUnitOfWork) -> WorkOrder:
            history = history_of(asset, uow.work_orders.list(asset=asset), failure_mode=None)
            order = WorkOrder.request(
                id=new_work_order_id(), asset=asset, kind=kind, title=title,
                opened_ns=self.clock.now_ns(), by=by, priority=priority,
                failure_mode=failure_mode, mechanism=mechanism, cause=cause,
                last_service_ns=history.last_service_ns,
            )  # fmt: skip
            uow.work_orders.add(order)
            return order

        return self.change(work)

    def check_codes(
        self, asset: str, *, mode: str | None, mechanism: str | None, cause: str | None
    ) -> None:
        """Refuse an unknown asset or failure code before anything is written."""
        if asset not in self.asset_types:
            raise InvalidWorkOrderError(f"unknown asset {asset!r}")
        cls = self.catalogue.class_of(self.asset_types[asset])
        if cls is None and (mode, mechanism, cause) != (None, None, None):
            raise InvalidWorkOrderError(
                f"asset {asset} has no equipment class in the catalogue: it takes no codes"
            )
        if cls is not None:
            self.catalogue.check(cls.name, mode=mode, mechanism=mechanism, cause=cause)

    def transition(
        self, order_id: str, to: str, *, by: str, note: str = "", **fields: Any
    ) -> Result[WorkOrder]:
        """Move a work order; ``done`` may carry ``remedy``, ``mechanism`` and ``cause``."""

        def work(uow: MaintenanceUnitOfWork) -> WorkOrder:
            order = uow.work_orders.get(order_id)
            if fields:
                codes = {k: fields.get(k, getattr(order, k)) for k in ("mechanism", "cause")}
                self.check_codes(order.asset, mode=order.failure_mode, **codes)
                order.remedy = fields.get("remedy", order.remedy)
                order.mechanism, order.cause = codes["mechanism"], codes["cause"]
            if to == "in_progress" and to in ALLOWED[order.state] and self.before_start:
                self.before_start(uow.connection, order)
            order.transition(to, by=by, at_ns=self.clock.now_ns(), note=note)
            return order

        return self.change(work)

    def record_labour(
        self, order_id: str, *, person: str, hours: float, by: str
    ) -> Result[WorkOrder]:
        def work(uow: MaintenanceUnitOfWork) -> WorkOrder:
            order = uow.work_orders.get(order_id)
            order.record_labour(person=person, hours=hours, by=by, at_ns=self.clock.now_ns())
            return order

        return self.change(work)

    def record_part(self, order_id: str, *, part: str, quantity: int, by: str) -> Result[WorkOrder]:
        def work(uow: MaintenanceUnitOfWork) -> WorkOrder:
            order = uow.work_orders.get(order_id)
            order.record_part(part=part, quantity=quantity, by=by, at_ns=self.clock.now_ns())
            return order

        return self.change(work)

    def get(self, order_id: str) -> WorkOrder:
        return self.read(lambda uow: uow.work_orders.get(order_id))

    def list(
        self, *, asset: str | None = None, states: Sequence[str] | None = None
    ) -> list[WorkOrder]:
        return self.read(lambda uow: uow.work_orders.list(asset=asset, states=states))

    def history(self, asset: str, *, failure_mode: str | None = None) -> AssetHistory:
        return self.read(
            lambda uow: history_of(
                asset, uow.work_orders.list(asset=asset), failure_mode=failure_mode
            )
        )
