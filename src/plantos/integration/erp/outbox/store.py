"""Delivery state in the operations database: which outbox messages each connector still
owes, what became of each attempt, the dead letters and their replay.

All of it is blocking database work: the dispatcher calls it through
``asyncio.to_thread``. A delivery is recorded only after the receiver answered, so after
a crash (even ``kill -9``) a message is sent again exactly when its delivery was not
recorded; the receiver recognises the repeat by the idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.integration.channels.base import OutboundMessage
from plantos.integration.erp.outbox.tables import (
    DEAD,
    DELIVERED,
    PENDING,
    deliveries,
    insertion_order,
)
from plantos.mom.store.engine import READ_ONLY
from plantos.mom.store.tables import outbox

d, o = deliveries.c, outbox.c
ENROL_MARGIN_ROWS = 10_000
"""How far behind the newest outbox position enrolment looks again. PostgreSQL numbers
rows when they are inserted, not when they commit, so a long transaction's rows may
appear below the newest number; SQLite commits one writer at a time."""


@dataclass(frozen=True)
class Attempt:
    """What to write after one delivery attempt of ``key``: its new ``state``, the
    attempts so far, when to try again (pending only) and the reason (not delivered)."""

    key: UUID
    state: str
    attempts: int
    next_attempt_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class Due:
    """A pending message ready to send, with the attempts already made."""

    message: OutboundMessage
    attempts: int


@dataclass(frozen=True)
class DeadLetter:
    key: UUID
    connector: str
    kind: str
    ordering_key: str
    attempts: int
    error: str
    created_at: datetime
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """As the API and ``plantos erp deadletters --json`` show it."""
        return {
            "id": str(self.key), "connector": self.connector, "kind": self.kind,
            "ordering_key": self.ordering_key, "attempts": self.attempts, "error": self.error,
            "created": self.created_at.isoformat(), "payload": self.payload,
        }  # fmt: skip


class DeliveryStore:
    """The delivery rows of every connector, on ``engine`` (the operations database).

    Deliveries follow ``clock`` (the wall clock: the ERP and its network live in real
    time); the outbox's rows are stamped by the plant's clock, ``facts`` (the same unless
    the plant runs in simulated time, as the live demo does), so a message's age is
    taken on that clock."""

    def __init__(self, engine: sa.Engine, *, clock: Clock, facts: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._facts = facts or clock
        self._order = insertion_order(engine.dialect.name)
        self._enrolled_upto: dict[str, int] = {}
        """Per connector, the newest outbox position looked at: later rounds look only
        from there (less a margin), not through the whole outbox again."""

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now_ns() / 1e9, tz=UTC)

    def enrol(self, connector: str, *, kinds: frozenset[str] | None = None) -> int:
        """Give ``connector`` a pending row for every outbox message (of ``kinds``) it has
        none for yet; return how many."""
        now = self.now()
        query = sa.select(
            o.id,
            sa.literal(connector, sa.String),
            sa.literal(PENDING, sa.String),
            sa.literal(0, sa.Integer),
            sa.literal(now, sa.DateTime(timezone=True)),
            sa.literal(now, sa.DateTime(timezone=True)),
        ).where(
            ~sa.exists().where(d.message_id == o.id, d.connector == connector),
        )
        if kinds is not None:
            query = query.where(o.kind.in_(sorted(kinds)))
        upto = self._enrolled_upto.get(connector)
        if upto is not None:
            query = query.where(self._order > upto - ENROL_MARGIN_ROWS)
        columns = ["message_id", "connector", "state", "attempts", "next_attempt_at", "updated_at"]
        with self._engine.begin() as conn:
            insert = deliveries.insert().from_select(columns, query).returning(d.message_id)
            added = len(conn.execute(insert).all())  # rowcount: -1 on PostgreSQL here
            top = conn.execute(sa.select(sa.func.max(self._order)).select_from(outbox)).scalar()
        if top is not None:
            self._enrolled_upto[connector] = int(top)
        return added

    def due(self, connector: str, *, limit: int) -> list[Due]:
        """Up to ``limit`` pending messages in outbox order. An order (ordering key) with a
        message waiting for its retry time is left out whole, so nothing overtakes it and
        its backlog never crowds out the other orders; a row that cannot form a message
        goes to the dead letters."""
        now = self.now()
        waiting, retrying = outbox.alias("waiting"), deliveries.alias("retrying")
        held_orders = (
            sa.select(waiting.c.aggregate_key)
            .join(retrying, waiting.c.id == retrying.c.message_id)
            .where(retrying.c.connector == connector, retrying.c.state == PENDING)
            .where(retrying.c.next_attempt_at > now)
        )
        query = (
            sa.select(o.id, o.kind, o.aggregate_key, o.payload, o.created_at, d.attempts)
            .join(outbox, o.id == d.message_id)
            .where(d.connector == connector, d.state == PENDING)
            .where(o.aggregate_key.not_in(held_orders))
            .order_by(self._order)
            .limit(limit)
        )  # fmt: skip
        ready: list[Due] = []
        broken: list[Attempt] = []
        with self._engine.connect() as conn:
            conn.info[READ_ONLY] = True
            with conn.begin():
                rows = conn.execute(query).all()
        for row in rows:
            try:
                message = OutboundMessage(
                    key=row.id, kind=row.kind, payload=row.payload,
                    created=aware(row.created_at), ordering_key=row.aggregate_key,
                )  # fmt: skip
            except ValueError as exc:
                broken.append(Attempt(row.id, DEAD, row.attempts, error=str(exc)))
                continue
            ready.append(Due(message, row.attempts))
        if broken:
            self.record(connector, broken)
        return ready

    def record(self, connector: str, attempts: Sequence[Attempt]) -> None:
        """Write the outcome of each attempt, all in one transaction."""
        if not attempts:
            return
        now = self.now()
        update = (
            deliveries.update()
            .where(d.message_id == sa.bindparam("key"), d.connector == connector)
            .values(
                state=sa.bindparam("new_state"), attempts=sa.bindparam("new_attempts"),
                next_attempt_at=sa.bindparam("next_at"), last_error=sa.bindparam("error"),
                delivered_at=sa.bindparam("delivered"), updated_at=now,
            )
        )  # fmt: skip
        rows = [
            {
                "key": a.key, "new_state": a.state, "new_attempts": a.attempts,
                "next_at": a.next_attempt_at or now, "error": a.error,
                "delivered": now if a.state == DELIVERED else None,
            }
            for a in attempts
        ]  # fmt: skip
        with self._engine.begin() as conn:
            conn.execute(update, rows)

    def reject_delivered(self, connector: str, rejections: Sequence[tuple[UUID, str]]) -> int:
        """Turn delivered messages the receiver refused afterwards (an interface table's
        ERROR rows) into dead letters with its reason; return how many changed."""
        if not rejections:
            return 0
        update = (
            deliveries.update()
            .where(d.message_id == sa.bindparam("key"), d.connector == connector)
            .where(d.state == DELIVERED)
            .values(state=DEAD, last_error=sa.bindparam("reason"), updated_at=self.now())
        )
        rows = [
            {"key": key, "reason": f"the ERP rejected it: {reason}"} for key, reason in rejections
        ]
        with self._engine.begin() as conn:
            return conn.execute(update, rows).rowcount

    def replay(self, connector: str, *, keys: Iterable[UUID] | None = None) -> int:
        """Send dead letters of ``connector`` again (all, or those with ``keys``) from a
        fresh attempt count; return how many. The reason stays until the next attempt."""
        query = (
            deliveries.update()
            .where(d.connector == connector, d.state == DEAD)
            .values(state=PENDING, attempts=0, next_attempt_at=self.now(), updated_at=self.now())
        )
        if keys is not None:
            query = query.where(d.message_id.in_(list(keys)))
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount

    def dead_letters(self, connector: str | None = None, *, limit: int = 100) -> list[DeadLetter]:
        """The dead letters, oldest first, with the reason and the payload."""
        query = (
            sa.select(d.message_id, d.connector, o.kind, o.aggregate_key, d.attempts,
                      d.last_error, o.created_at, o.payload)
            .join(outbox, o.id == d.message_id)
            .where(d.state == DEAD)
            .order_by(self._order)
            .limit(limit)
        )  # fmt: skip
        if connector is not None:
            query = query.where(d.connector == connector)
        with self._engine.connect() as conn:
            conn.info[READ_ONLY] = True
            with conn.begin():
                rows = conn.execute(query).all()
        return [
            DeadLetter(r.message_id, r.connector, r.kind, r.aggregate_key, r.attempts,
                       r.last_error or "", aware(r.created_at), dict(r.payload))
            for r in rows
        ]  # fmt: skip

    def connectors(self, configured: Iterable[str] = ()) -> list[str]:
        """The ``configured`` connectors, then any other that has delivery state (one
        removed from the configuration keeps its dead letters)."""
        with self._engine.connect() as conn:
            conn.info[READ_ONLY] = True
            with conn.begin():
                known = conn.execute(sa.select(d.connector).distinct().order_by(d.connector))
                names = list(configured)
                return names + [n for (n,) in known if n not in names]

    def status(self, connector: str) -> dict[str, Any]:
        """Counts per state, the age of the oldest pending message (``lag_s``), the last
        delivery (and its age on the wall clock) and the newest error: what an integrator
        looks at first."""
        counts = (
            sa.select(d.state, sa.func.count()).where(d.connector == connector).group_by(d.state)
        )
        oldest = (
            sa.select(sa.func.min(o.created_at))
            .join(deliveries, o.id == d.message_id)
            .where(d.connector == connector, d.state == PENDING)
        )
        last = sa.select(sa.func.max(d.delivered_at)).where(d.connector == connector)
        error = (
            sa.select(d.last_error)
            .where(d.connector == connector, d.last_error.is_not(None), d.state != DELIVERED)
            .order_by(d.updated_at.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            conn.info[READ_ONLY] = True
            with conn.begin():
                by_state = {s: n for s, n in conn.execute(counts).all()}
                pending_since = conn.execute(oldest).scalar()
                delivered_at = conn.execute(last).scalar()
                last_error = conn.execute(error).scalar()
        facts_now = datetime.fromtimestamp(self._facts.now_ns() / 1e9, tz=UTC)
        return {
            "connector": connector,
            **{state: int(by_state.get(state, 0)) for state in (PENDING, DELIVERED, DEAD)},
            "lag_s": (facts_now - aware(pending_since)).total_seconds() if pending_since else 0.0,
            "last_delivered_at": aware(delivered_at).isoformat() if delivered_at else None,
            "last_delivered_age_s": (
                (self.now() - aware(delivered_at)).total_seconds() if delivered_at else None
            ),
            "last_error": last_error,
        }


def aware(value: datetime) -> datetime:
    """``value`` in UTC: SQLite gives back naive datetimes for what was stored as UTC."""
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)
