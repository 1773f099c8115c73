"""The unit of work: one database transaction for one change, with its outbox rows.

Use it as a context manager and call :meth:`SqlUnitOfWork.commit`; leaving the block
without committing rolls everything back, so a handler that raises half-way leaves
nothing half-written. At commit, the events the touched orders recorded (and any
:meth:`SqlUnitOfWork.record`-ed) are written to ``mom_outbox`` in the same transaction;
:attr:`SqlUnitOfWork.published` then holds them for the caller to put on the bus.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.core.events import Event
from plantos.mom.store import tables as t
from plantos.mom.store.engine import OUTBOX_WRITTEN, READ_ONLY
from plantos.mom.store.repositories import (
    HistoryRepository,
    MasterRepository,
    OrderRepository,
    PlanRepository,
)


class Aggregate(Protocol):
    def take_events(self) -> list[Event]: ...


class AggregateRepository(Protocol):
    """A repository whose aggregates raise events (work orders, nonconformances)."""

    @property
    def seen(self) -> Mapping[Any, Aggregate]: ...

    def save_seen(self) -> None: ...


class SqlUnitOfWork:
    orders: OrderRepository
    master: MasterRepository
    plans: PlanRepository
    history: HistoryRepository

    def __init__(self, engine: sa.Engine, *, clock: Clock, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._clock = clock
        self._connection: sa.Connection | None = None
        self._recorded: list[Event] = []
        self.published: list[Event] = []

    def __enter__(self) -> SqlUnitOfWork:
        self._connection = self._engine.connect()
        self._connection.info[READ_ONLY] = self._read_only
        self._connection.begin()
        self.orders = OrderRepository(self._connection)
        self.master = MasterRepository(self._connection)
        self.plans = PlanRepository(self._connection)
        self.history = HistoryRepository(self._connection)
        self._recorded = []
        self.published = []
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._connection is not None:
            self._connection.rollback()  # a no-op after commit
            self._connection.close()
            self._connection = None

    @property
    def connection(self) -> sa.Connection:
        """The transaction's connection, for other tables written in the same commit."""
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its with-block")
        return self._connection

    def save_aggregates(self, repository: AggregateRepository) -> None:
        """Save what ``repository`` handed out in this transaction and record the events
        they raised, for the outbox (a subclass's :meth:`commit` calls it first)."""
        if self._connection is None or self._read_only:
            return
        repository.save_seen()
        for aggregate in repository.seen.values():
            for event in aggregate.take_events():
                self.record(event)

    def record(self, event: Event) -> None:
        """An event that belongs to no order (a new plan): written to the outbox at commit."""
        self._recorded.append(event)

    def commit(self) -> None:
        """Save the touched orders, write the outbox rows, commit: all or nothing."""
        if self._connection is None or self._read_only:
            raise RuntimeError("commit outside a writing unit of work's with-block")
        self.orders.save_seen()
        events = [e for order in self.orders.seen.values() for e in order.take_events()]
        events += self._recorded
        self._recorded = []
        if events:
            self._connection.execute(t.outbox.insert(), [self._outbox_row(e) for e in events])
            self._connection.info[OUTBOX_WRITTEN] = True
        self._connection.commit()
        self.published = events

    def _outbox_row(self, event: Event) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "kind": event.kind,
            "aggregate_key": event.subject,
            "payload": _jsonable(event.to_dict()),
            "created_at": datetime.fromtimestamp(self._clock.now_ns() / 1e9, tz=UTC),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
