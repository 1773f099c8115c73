"""Work orders in and out of the SQL table, on the connection of one unit of work.

Like orders, work orders carry a version: saving one that another transaction changed
since it was read raises :class:`ConcurrentChangeError`, so two reactions to the same
anomaly cannot both open a work order or overwrite each other's evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from plantos.mom.maintenance.errors import InvalidWorkOrderError, UnknownWorkOrderError
from plantos.mom.maintenance.tables import work_orders as w
from plantos.mom.maintenance.workorder import OPEN_STATES, Window, WorkOrder
from plantos.mom.store.repositories import ConcurrentChangeError

_FIELDS = (
    "id", "asset", "kind", "title", "state", "priority", "failure_mode", "mechanism",
    "cause", "remedy", "opened_ns", "opened_by", "estimated_failure_ns", "last_service_ns",
    "repeat_of", "closed_ns", "affected_orders", "evidence", "labour", "parts", "transitions",
)  # fmt: skip


class WorkOrderRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection
        self.seen: dict[str, WorkOrder] = {}
        self._versions: dict[str, int] = {}

    def add(self, order: WorkOrder) -> None:
        if (
            order.id in self.seen
            or self._c.execute(sa.select(w.c.id).where(w.c.id == order.id)).first()
        ):
            raise InvalidWorkOrderError(f"a work order with id {order.id!r} exists already")
        self._c.execute(w.insert().values(**_row(order), version=1))
        self.seen[order.id] = order
        self._versions[order.id] = 1

    def get(self, order_id: str) -> WorkOrder:
        if order_id in self.seen:
            return self.seen[order_id]
        row = self._c.execute(sa.select(w).where(w.c.id == order_id)).first()
        if row is None:
            raise UnknownWorkOrderError(f"no work order {order_id!r}")
        return self._track(row)

    def list(
        self,
        *,
        asset: str | None = None,
        states: Sequence[str] | None = None,
        failure_mode: str | None = None,
        limit: int = 1000,
    ) -> list[WorkOrder]:
        """Newest first."""
        query = sa.select(w).order_by(w.c.opened_ns.desc(), w.c.id.desc()).limit(limit)
        if asset is not None:
            query = query.where(w.c.asset == asset)
        if states is not None:
            query = query.where(w.c.state.in_(list(states)))
        if failure_mode is not None:
            query = query.where(w.c.failure_mode == failure_mode)
        return [self.seen.get(r.id) or self._track(r) for r in self._c.execute(query)]

    def open_for(self, asset: str, failure_mode: str | None) -> WorkOrder | None:
        """The open work order on ``asset`` for ``failure_mode``, if any."""
        found = self.list(asset=asset, states=OPEN_STATES, failure_mode=failure_mode, limit=1)
        return found[0] if found else None

    def count(self) -> int:
        return int(self._c.execute(sa.select(sa.func.count()).select_from(w)).scalar_one())

    def save_seen(self) -> None:
        for order in self.seen.values():
            version = self._versions[order.id]
            done = self._c.execute(
                w.update()
                .where(w.c.id == order.id, w.c.version == version)
                .values(**_row(order), version=version + 1)
            )
            if done.rowcount != 1:
                raise ConcurrentChangeError(f"work order {order.id} changed meanwhile: retry")
            self._versions[order.id] = version + 1

    def _track(self, row: sa.Row[Any]) -> WorkOrder:
        data = {f: getattr(row, f) for f in _FIELDS}
        window = (
            Window(row.window_start_ns, row.window_end_ns)
            if row.window_start_ns is not None and row.window_end_ns is not None
            else None
        )
        order = WorkOrder(**data, window=window)
        self.seen[order.id] = order
        self._versions[order.id] = row.version
        return order


def _row(order: WorkOrder) -> dict[str, Any]:
    row = {f: getattr(order, f) for f in _FIELDS}
    row["window_start_ns"] = order.window.start_ns if order.window else None
    row["window_end_ns"] = order.window.end_ns if order.window else None
    return row
