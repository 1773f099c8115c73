"""The delivery list for IT: every message's state on every connector, in a stable order
(outbox position, then connector) that pages by key, filtered by connector, state and
the time the fact happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from plantos.integration.erp.outbox.store import aware
from plantos.integration.erp.outbox.tables import deliveries, insertion_order
from plantos.mom.store.engine import READ_ONLY
from plantos.mom.store.tables import outbox

d, o = deliveries.c, outbox.c


@dataclass(frozen=True)
class DeliveryFilter:
    connector: str | None = None
    states: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    """Facts that happened in ``[created_from, created_to)``."""


def delivery_page(
    engine: sa.Engine, where: DeliveryFilter, *, after: tuple[int, str] | None, limit: int
) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
    """Up to ``limit`` deliveries after the key ``after``, and the key of the last one
    when more follow (the next page's cursor)."""
    position = insertion_order(engine.dialect.name)
    query = (
        sa.select(d.message_id, d.connector, d.state, d.attempts, d.last_error,
                  d.delivered_at, d.next_attempt_at, o.kind, o.aggregate_key,
                  o.created_at, position.label("position"))
        .join(outbox, o.id == d.message_id)
        .order_by(position, d.connector)
        .limit(limit + 1)
    )  # fmt: skip
    if where.connector is not None:
        query = query.where(d.connector == where.connector)
    if where.states:
        query = query.where(d.state.in_(where.states))
    if where.created_from is not None:
        query = query.where(o.created_at >= where.created_from)
    if where.created_to is not None:
        query = query.where(o.created_at < where.created_to)
    if after is not None:
        pos, name = after
        query = query.where(sa.or_(position > pos, sa.and_(position == pos, d.connector > name)))
    with engine.connect() as conn:
        conn.info[READ_ONLY] = True
        with conn.begin():
            rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    page = [_view(r) for r in rows]
    return page, (int(rows[-1].position), rows[-1].connector) if more else None


def _view(row: Any) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return None if value is None else aware(value).isoformat()

    return {
        "id": str(row.message_id), "connector": row.connector, "state": row.state,
        "kind": row.kind, "ordering_key": row.aggregate_key, "attempts": row.attempts,
        "last_error": row.last_error, "created": at(row.created_at),
        "delivered_at": at(row.delivered_at),
        "next_attempt_at": at(row.next_attempt_at) if row.state == "pending" else None,
    }  # fmt: skip
