"""The operations unit of work with work orders and preventive plans: the touched work
orders are saved and their events written to the outbox in the same transaction as
everything else."""

from __future__ import annotations

import sqlalchemy as sa

from plantos.mom.maintenance.plan_store import PlanRepository
from plantos.mom.maintenance.repository import WorkOrderRepository
from plantos.mom.store.uow import SqlUnitOfWork


class MaintenanceUnitOfWork(SqlUnitOfWork):
    work_orders: WorkOrderRepository
    preventive: PlanRepository
    """Preventive plans (``plans`` is the production plan)."""

    def __enter__(self) -> MaintenanceUnitOfWork:
        super().__enter__()
        self.work_orders = WorkOrderRepository(self.connection)
        self.preventive = PlanRepository(self.connection)
        return self

    @property
    def connection(self) -> sa.Connection:
        """The transaction's connection, for other tables written in the same commit."""
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its with-block")
        return self._connection

    def commit(self) -> None:
        if self._connection is not None and not self._read_only:
            self.work_orders.save_seen()
            for order in self.work_orders.seen.values():
                for event in order.take_events():
                    self.record(event)
        super().commit()
