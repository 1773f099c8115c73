"""The operations unit of work with nonconformances and lots: an NC, the hold or scrap it
puts on its order or lot and their outbox rows commit in one transaction."""

from __future__ import annotations

from plantos.mom.quality.repository import NonconformanceRepository
from plantos.mom.store.lots import LotRepository
from plantos.mom.store.uow import SqlUnitOfWork


class QualityUnitOfWork(SqlUnitOfWork):
    nonconformances: NonconformanceRepository
    lots: LotRepository

    def __enter__(self) -> QualityUnitOfWork:
        super().__enter__()
        self.nonconformances = NonconformanceRepository(self.connection)
        self.lots = LotRepository(self.connection)
        return self

    def commit(self) -> None:
        self.save_aggregates(self.nonconformances)
        self.save_aggregates(self.lots)
        super().commit()
