"""Notifications in the operations database, each with its delivery state.

States: ``queued`` (waiting for its first delivery), ``retrying`` (a delivery failed for
a passing reason; ``next_attempt_at`` says when again), ``delivered``, ``rejected`` (the
receiver refused it as it is; ``last_error`` says why); station notifications are
``open`` until a person acknowledges them (``acknowledged``).

A flood becomes one message: queueing for an address that already has an undelivered
(or unacknowledged) notification about the same asset and kind updates that one and
counts ``occurrences`` instead of adding another.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from plantos.core.errors import PlantOSError
from plantos.integration.notify.config import STATION
from plantos.integration.notify.routing import Address, Notice
from plantos.integration.notify.tables import notifications as n

PENDING = ("queued", "retrying")


class NotificationError(PlantOSError):
    """A notification cannot be found or acknowledged as asked."""


@dataclass(frozen=True)
class Notification:
    id: uuid.UUID
    created_ns: int
    channel: str
    recipient: str | None
    station: str | None
    asset: str
    kind: str
    priority: int
    reference: str
    title: str
    body: dict[str, Any]
    occurrences: int
    state: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    last_error: str | None
    escalations: int
    escalated_ns: int | None


def _of(row: sa.Row[Any]) -> Notification:
    return Notification(**row._asdict())


def queue(
    connection: sa.Connection, notice: Notice, addresses: Sequence[Address], *, now_ns: int
) -> list[Notification]:
    """Store one notification per address (or fold it into a pending one), on the
    caller's transaction: it commits with the change it announces."""
    out = []
    for address in addresses:
        waiting = ("open",) if address.channel == STATION else PENDING
        pending = connection.execute(
            sa.select(n).where(
                n.c.channel == address.channel,
                _eq(n.c.recipient, address.recipient),
                _eq(n.c.station, address.station),
                n.c.asset == notice.asset,
                n.c.kind == notice.kind,
                n.c.state.in_(waiting),
            )
        ).first()
        fields = {
            "priority": notice.priority, "reference": notice.reference,
            "title": notice.title[:300], "body": dict(notice.body),
        }  # fmt: skip
        if pending is not None:
            connection.execute(
                n.update()
                .where(n.c.id == pending.id)
                .values({**fields, "priority": min(pending.priority, notice.priority),
                         "occurrences": pending.occurrences + 1})
            )  # fmt: skip
            row = connection.execute(sa.select(n).where(n.c.id == pending.id)).one()
        else:
            new_id = uuid.uuid4()
            connection.execute(
                n.insert().values(
                    id=new_id, created_ns=now_ns, channel=address.channel,
                    recipient=address.recipient, station=address.station, asset=notice.asset,
                    kind=notice.kind, occurrences=1, attempts=0, escalations=0,
                    state="open" if address.channel == STATION else "queued", **fields,
                )
            )  # fmt: skip
            row = connection.execute(sa.select(n).where(n.c.id == new_id)).one()
        out.append(_of(row))
    return out


def _eq(column: sa.ColumnElement[Any], value: str | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def due(engine: sa.Engine, *, now: datetime, limit: int = 100) -> list[Notification]:
    """Undelivered notifications whose next attempt is due, oldest first."""
    query = (
        sa.select(n)
        .where(
            n.c.state.in_(PENDING),
            n.c.channel != STATION,
            sa.or_(n.c.next_attempt_at.is_(None), n.c.next_attempt_at <= now),
        )
        .order_by(n.c.created_ns, n.c.id)
        .limit(limit)
    )
    with engine.connect() as c:
        return [_of(r) for r in c.execute(query)]


def settle(engine: sa.Engine, notification_id: uuid.UUID, **values: Any) -> None:
    """Record the outcome of one delivery attempt (state, attempts, times, error)."""
    with engine.begin() as c:
        c.execute(n.update().where(n.c.id == notification_id).values(**values))


def listing(
    engine: sa.Engine,
    *,
    station: str | None = None,
    states: Sequence[str] | None = None,
    limit: int = 500,
) -> list[Notification]:
    """Newest first; ``station`` keeps one line's station notifications."""
    query = sa.select(n).order_by(n.c.created_ns.desc(), n.c.id).limit(limit)
    if station is not None:
        query = query.where(n.c.channel == STATION, n.c.station == station)
    if states is not None:
        query = query.where(n.c.state.in_(list(states)))
    with engine.connect() as c:
        return [_of(r) for r in c.execute(query)]


def acknowledge(
    engine: sa.Engine, notification_id: uuid.UUID, *, by: str, at: datetime
) -> Notification:
    """A person confirms they saw a station notification; refused twice or off-station."""
    with engine.begin() as c:
        row = c.execute(sa.select(n).where(n.c.id == notification_id)).first()
        if row is None or row.channel != STATION:
            raise NotificationError(f"no station notification {notification_id}")
        if row.state != "open":
            raise NotificationError(
                f"notification {notification_id} was acknowledged already by {row.acknowledged_by}"
            )
        c.execute(
            n.update()
            .where(n.c.id == notification_id, n.c.state == "open")
            .values(state="acknowledged", acknowledged_by=by, acknowledged_at=at)
        )
        return _of(c.execute(sa.select(n).where(n.c.id == notification_id)).one())
