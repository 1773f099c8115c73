"""Polls the ERP's inbound tables (:mod:`.table` for production orders and, when
configured, :mod:`.products` for products) as a supervised stage: every ``interval_s``
it takes the rows in status NEW in ``seq`` order, applies each through the operations
service (its own transaction: a bad row never takes a good one with it), and marks the
row DONE with the outcome or ERROR with the reason, with the processed time.

Products go first: a round reads the order rows, then the product rows, applies the
products, then the orders. An order the ERP wrote after its product therefore always
finds the product, even when both arrive in the same round; while product rows are
still waiting (a full batch of them), the orders wait for the next round.

Applying is idempotent (the ERP's order number is the order id and an order stated
again unchanged changes nothing; a product stated again is unchanged), so a row applied
just before PlantOS stopped or the database went away is simply applied again and
marked then. A database that cannot be reached is retried with capped back-off; the
health counts the failures and says since when the table has been out of reach.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.core.errors import PlantOSError
from plantos.core.events import Event
from plantos.integration.channels.retry import RetryPolicy, retry_delay_s
from plantos.integration.erp.inbound.products import (
    apply_product,
    inbound_products_table,
    row_product,
)
from plantos.integration.erp.inbound.table import DONE, ERROR, NEW, inbound_table, row_order
from plantos.mom.service import MomService
from plantos.mom.store.repositories import ConcurrentChangeError

log = logging.getLogger(__name__)
Emit = Callable[[Event], Awaitable[None]]


Apply = Callable[[sa.Row[Any]], tuple[str, list[Event]]]
"""One row applied: its outcome and the events to publish."""


@dataclass
class Tally:
    """Rows of one table marked DONE (by outcome) and ERROR."""

    done: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def rows(self) -> int:
        return self.errors + sum(self.done.values())


@dataclass
class Round:
    """What one poll did with the order rows and the product rows, and the events."""

    orders: Tally = field(default_factory=Tally)
    products: Tally = field(default_factory=Tally)
    events: list[Event] = field(default_factory=list)


class InboundTablePoller:
    def __init__(
        self, url: sa.URL, *, service: MomService, clock: Clock, name: str,
        table: str = "plantos_inbound", products_table: str | None = None,
        create_table: bool = False, interval_s: float = 10.0, batch_size: int = 100,
        retry: RetryPolicy | None = None, emit: Emit | None = None,
    ) -> None:  # fmt: skip
        if interval_s <= 0 or batch_size < 1:
            raise ValueError(f"interval_s > 0 and batch_size >= 1, got {interval_s}, {batch_size}")
        self.name = name
        self._url = url
        self._service = service
        self._clock = clock
        self._table = inbound_table(table)
        self._products = inbound_products_table(products_table) if products_table else None
        self._create = create_table
        self._interval_s = interval_s
        self._batch = batch_size
        self._retry = retry or RetryPolicy(initial_s=1.0, max_s=60.0)
        self._emit = emit
        self._engine: sa.Engine | None = None
        self.counts: dict[str, Any] = {"polls": 0, "done": 0, "errors": 0, "failures": 0,
                                       "products_done": 0, "products_errors": 0}  # fmt: skip
        self._failing = 0
        self._last_error: str | None = None
        self._unreachable_since: str | None = None
        self._last_success: str | None = None

    async def run(self, *, stopping: Callable[[], bool] = lambda: False) -> None:
        """The stage's body: poll until cancelled or ``stopping()``; a round that found a
        full batch polls again at once."""
        try:
            while not stopping():
                result = await self.poll()
                full = result is not None and (
                    max(result.orders.rows, result.products.rows) >= self._batch
                )
                if not full:
                    await asyncio.sleep(self._pause_s())
        finally:
            await asyncio.to_thread(self._dispose)

    async def poll(self) -> Round | None:
        """One round; None when the table could not be read or written (counted)."""
        self.counts["polls"] += 1
        try:
            result = await asyncio.to_thread(self._round)
        except sa.exc.SQLAlchemyError as exc:
            self._failed(exc)
            return None
        self._failing, self._unreachable_since = 0, None
        self._last_success = self._now().isoformat()
        if self._emit is not None:
            for event in result.events:
                await self._emit(event)
        return result

    async def close(self) -> None:
        await asyncio.to_thread(self._dispose)

    def health(self) -> dict[str, Any]:
        return {
            **self.counts, "state": "unreachable" if self._failing else "ok",
            "consecutive_failures": self._failing, "last_error": self._last_error,
            "unreachable_since": self._unreachable_since, "last_success": self._last_success,
        }  # fmt: skip

    def _pause_s(self) -> float:
        if not self._failing:
            return self._interval_s
        return retry_delay_s(self._failing, policy=self._retry)

    def _failed(self, exc: sa.exc.SQLAlchemyError) -> None:
        self._failing += 1
        self.counts["failures"] += 1
        self._last_error = f"cannot reach the inbound table {self._table.name}: {exc}"
        self._unreachable_since = self._unreachable_since or self._now().isoformat()
        log.warning("%s: %s", self.name, self._last_error.splitlines()[0])
        self._dispose()  # a fresh engine next time: the server may have restarted

    def _round(self) -> Round:
        with self._connect().connect() as conn:
            orders = conn.execute(self._new_rows(self._table)).all()  # before the products
            products = [] if self._products is None else conn.execute(
                self._new_rows(self._products)
            ).all()  # fmt: skip
        result = Round()
        if self._products is not None:
            taken = self._take_all(self._products, products, self._product, result.products,
                                   result)  # fmt: skip
            if not taken or len(products) >= self._batch:
                return self._counted(result)  # orders wait until the products are in
        self._take_all(self._table, orders, self._order, result.orders, result)
        return self._counted(result)

    def _new_rows(self, table: sa.Table) -> sa.Select[Any]:
        c = table.c
        return sa.select(table).where(c.status == NEW).order_by(c.seq).limit(self._batch)

    def _counted(self, result: Round) -> Round:
        self.counts["done"] += sum(result.orders.done.values())
        self.counts["errors"] += result.orders.errors
        self.counts["products_done"] += sum(result.products.done.values())
        self.counts["products_errors"] += result.products.errors
        return result

    def _order(self, row: sa.Row[Any]) -> tuple[str, list[Event]]:
        command = row_order(row, source=f"interface-table:{self.name}")
        outcomes, events = self._service.sync_orders([command])
        return outcomes[0], events

    def _product(self, row: sa.Row[Any]) -> tuple[str, list[Event]]:
        return apply_product(self._service, row_product(row)), []

    def _take_all(
        self, table: sa.Table, rows: Sequence[sa.Row[Any]], apply: Apply, tally: Tally,
        result: Round,
    ) -> bool:  # fmt: skip
        """Take ``rows`` in order; False when one changed meanwhile (it and the later
        ones wait for the next round)."""
        return all(self._take(table, row, apply, tally, result) for row in rows)

    def _take(
        self, table: sa.Table, row: sa.Row[Any], apply: Apply, tally: Tally, result: Round
    ) -> bool:
        outcome: str | None = None
        reason: str | None = None
        try:
            outcome, events = apply(row)
            result.events.extend(events)
        except ConcurrentChangeError:
            return False
        except (PlantOSError, ValueError, TypeError) as exc:
            reason = str(exc) or type(exc).__name__
        self._mark(table, row.seq, outcome=outcome, reason=reason)
        if outcome is None:
            tally.errors += 1
        else:
            tally.done[outcome] = tally.done.get(outcome, 0) + 1
        return True

    def _mark(self, table: sa.Table, seq: int, *, outcome: str | None, reason: str | None) -> None:
        c = table.c
        status = ERROR if outcome is None else DONE
        with self._connect().begin() as conn:
            conn.execute(
                table.update().where(c.seq == seq, c.status == NEW)
                .values(status=status, outcome=outcome, error_text=reason,
                        processed_at=self._now().replace(tzinfo=None))
            )  # fmt: skip

    def _connect(self) -> sa.Engine:
        if self._engine is None:
            engine = sa.create_engine(self._url, pool_pre_ping=True)
            if self._create:
                try:
                    for table in (self._table, self._products):
                        if table is not None:
                            table.metadata.create_all(engine, checkfirst=True)
                except BaseException:
                    engine.dispose()
                    raise
            self._engine = engine
        return self._engine

    def _dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now_ns() / 1e9, tz=UTC)
