"""The operations unit of work with work orders and preventive plans: the touched work
orders are saved and their events written to the outbox in the same transaction as
everything else."""

from __future__ import annotations

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

    def commit(self) -> None:
        self.save_aggregates(self.work_orders)
        super().commit()
