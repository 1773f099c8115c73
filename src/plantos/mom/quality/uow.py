"""The operations unit of work with nonconformances: an NC, the hold or scrap it puts on
its order and their outbox rows commit in one transaction."""

from __future__ import annotations

import sqlalchemy as sa

from plantos.mom.quality.repository import NonconformanceRepository
from plantos.mom.store.uow import SqlUnitOfWork


class QualityUnitOfWork(SqlUnitOfWork):
    nonconformances: NonconformanceRepository

    def __enter__(self) -> QualityUnitOfWork:
        super().__enter__()
        self.nonconformances = NonconformanceRepository(self.connection)
        return self

    @property
    def connection(self) -> sa.Connection:
        """The transaction's connection, for other tables written in the same commit."""
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its with-block")
        return self._connection

    def commit(self) -> None:
        if self._connection is not None and not self._read_only:
            self.nonconformances.save_seen()
            for nc in self.nonconformances.seen.values():
                for event in nc.take_events():
                    self.record(event)
        super().commit()
