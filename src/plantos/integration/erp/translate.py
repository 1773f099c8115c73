"""Turns due outbox rows into the ERP's business messages (:mod:`.messages`), reading
from the outbox what the earlier rows said about their orders and work orders.

A message is made from the rows *before* it in outbox order only, never from later
ones nor from the order's current state, so delivering it again, after a crash or a
replay, gives the same message with the same quantities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import sqlalchemy as sa

from plantos.integration.channels.base import OutboundMessage
from plantos.integration.erp.messages import Facts, UnmappableError, fold, sources, to_erp
from plantos.integration.erp.outbox.store import aware
from plantos.integration.erp.outbox.tables import insertion_order
from plantos.mom.store.engine import READ_ONLY
from plantos.mom.store.tables import outbox

FACT_KINDS = ("OrderReleased", "OrderProgressed", "WorkOrderOpened")
"""The rows :func:`~.messages.fold` learns from."""


class OutboxTranslator:
    """Called with due messages, returns per message its ERP form or, when it cannot be
    made (an order never released), the reason as a string: a dead letter."""

    def __init__(self, engine: sa.Engine, *, unit: str = "pcs") -> None:
        self._engine = engine
        self._order = insertion_order(engine.dialect.name)
        self._unit = unit

    def sources(self, kinds: frozenset[str]) -> frozenset[str]:
        return sources(kinds)

    def __call__(self, messages: Sequence[OutboundMessage]) -> list[OutboundMessage | str]:
        if not messages:
            return []
        subjects = {s for m in messages for s in _subjects(m)}
        with self._engine.connect() as conn:
            conn.info[READ_ONLY] = True
            with conn.begin():
                positions: dict[UUID, int] = {
                    row.id: int(row[1])
                    for row in conn.execute(
                        sa.select(outbox.c.id, self._order).where(
                            outbox.c.id.in_([m.key for m in messages])
                        )
                    )
                }
                rows = conn.execute(
                    sa.select(outbox.c.id, outbox.c.kind, outbox.c.aggregate_key,
                              outbox.c.payload, outbox.c.created_at, self._order)
                    .where(outbox.c.aggregate_key.in_(sorted(subjects)))
                    .where(outbox.c.kind.in_(FACT_KINDS))
                    .where(self._order < max(positions.values(), default=0))
                    .order_by(self._order)
                ).all()  # fmt: skip
        earlier = [
            (int(r[-1]), OutboundMessage(r.id, r.kind, r.payload, aware(r.created_at),
                                         ordering_key=r.aggregate_key))
            for r in rows
        ]  # fmt: skip
        forms: dict[UUID, OutboundMessage | str] = {}
        state: dict[str, Facts] = {}
        upto = 0
        for message in sorted(messages, key=lambda m: positions.get(m.key, 0)):
            position = positions.get(message.key, 0)
            while upto < len(earlier) and earlier[upto][0] < position:
                state = fold(state, earlier[upto][1])  # one pass over the rows for the batch
                upto += 1
            known = {s: state[s] for s in _subjects(message) if s in state}
            forms[message.key] = self._translate(message, known)
        return [forms[m.key] for m in messages]

    def _translate(
        self, message: OutboundMessage, known: Mapping[str, Facts]
    ) -> OutboundMessage | str:
        try:
            return to_erp(message, known=known, unit=self._unit)
        except (UnmappableError, KeyError, TypeError, ValueError) as exc:
            return f"cannot make the ERP message: {exc}"


def _subjects(message: OutboundMessage) -> set[str]:
    """The orders and work orders whose earlier rows ``message`` is made from."""
    p = message.payload
    found = {str(message.ordering_key)} if message.ordering_key is not None else set()
    if message.kind == "ScheduleChanged":
        found |= {str(k) for k in p.get("etas", {})}
        found |= {str(m.get("order")) for m in p.get("moved", []) if isinstance(m, Mapping)}
    return found
