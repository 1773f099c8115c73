"""The operations unit of work with nonconformances: an NC, the hold or scrap it puts on
its order and their outbox rows commit in one transaction."""

from __future__ import annotations

from plantos.mom.quality.repository import NonconformanceRepository
from plantos.mom.store.uow import SqlUnitOfWork


class QualityUnitOfWork(SqlUnitOfWork):
    nonconformances: NonconformanceRepository

    def __enter__(self) -> QualityUnitOfWork:
        super().__enter__()
        self.nonconformances = NonconformanceRepository(self.connection)
        return self

    def commit(self) -> None:
        self.save_aggregates(self.nonconformances)
        super().commit()
