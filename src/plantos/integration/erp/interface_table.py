"""SQL interface tables: PlantOS writes each outbox message as one row of a table in a
database the ERP reads (PostgreSQL or MariaDB/MySQL), the way ERPs take data from
systems they do not call.

The table (created by PlantOS when missing, default name ``plantos_outbound``)::

    seq           increasing in the order PlantOS wrote the rows: the ERP reads by it
    message_id    the idempotency key (UUID text), unique: a row is never doubled
    kind, ordering_key, created_at, payload (JSON text)
    status        NEW (written by PlantOS), PROCESSED or ERROR (set by the ERP)
    error_text    the ERP's reason for ERROR
    attempt       1, then one more each time PlantOS submits the row again
    written_at, processed_at   (UTC)

The ERP's job reads ``status = 'NEW'`` in ``seq`` order and sets the status.
A row in ERROR becomes a dead letter in PlantOS with the ERP's reason; replaying it
(after the master data was corrected) sets the row back to NEW for the ERP to retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from plantos.core.clock import Clock
from plantos.integration.channels.base import DeliveryResult, OutboundMessage

log = logging.getLogger(__name__)
NEW, PROCESSED, ERROR = "NEW", "PROCESSED", "ERROR"
DRIVERS = {
    "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql", "mariadb": "mysql+pymysql",
}  # fmt: skip


def interface_url(url: str, *, password: str | None = None) -> sa.URL:
    """The SQLAlchemy URL for ``postgresql://``, ``mysql://`` or ``mariadb://``, with the
    driver PlantOS ships and ``password`` (kept out of configuration files) set."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ValueError(f"not a database URL: {url!r}") from exc
    scheme = parsed.drivername.split("+")[0]
    if scheme not in DRIVERS:
        raise ValueError(f"an interface table lives in PostgreSQL or MariaDB/MySQL, got {url!r}")
    parsed = parsed.set(drivername=DRIVERS[scheme])
    return parsed if password is None else parsed.set(password=password)


TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
"""UTC, to the microsecond in every database."""


def outbound_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("message_id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("ordering_key", sa.String(300), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_text", sa.Text),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("written_at", TIMESTAMP, nullable=False),
        sa.Column("processed_at", TIMESTAMP),
        sa.Index(f"ix_{name}_status", "status", "created_at"),
    )


class InterfaceTableChannel:
    """Writes messages as rows of ``table`` in the database at ``url``; a row that exists
    already is left alone unless the ERP put it in ERROR (then it is submitted again)."""

    def __init__(
        self, url: sa.URL, *, clock: Clock, table: str = "plantos_outbound", name: str
    ) -> None:
        self._url = url
        self._clock = clock
        self._name = name
        self._table = outbound_table(table)
        self._engine: sa.Engine | None = None
        self._busy = threading.Lock()
        """Held by each database job: closing waits for one a cancelled caller left running."""

    @property
    def name(self) -> str:
        return self._name

    async def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        return await asyncio.to_thread(self._deliver_all, list(messages))

    async def rejections(self) -> list[tuple[UUID, str]]:
        """The messages the ERP set to ERROR, with its reason."""
        return await asyncio.to_thread(self._rejections)

    async def close(self) -> None:
        await asyncio.to_thread(self._dispose)

    def _dispose(self) -> None:
        with self._busy:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _connect(self) -> sa.Engine:
        if self._engine is None:
            engine = sa.create_engine(self._url, pool_pre_ping=True)
            try:
                self._table.metadata.create_all(engine, checkfirst=True)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    def _deliver_all(self, messages: list[OutboundMessage]) -> list[DeliveryResult]:
        rows: dict[str, dict[str, object]] = {}
        results: dict[UUID, DeliveryResult] = {}
        now = utc(self._clock.now_ns())
        for message in messages:
            try:
                rows[str(message.key)] = _row(message, now)
            except (TypeError, ValueError) as exc:
                results[message.key] = DeliveryResult.rejected(message.key, str(exc))
        try:
            with self._busy:
                self._write(rows, now)
        except sa.exc.SQLAlchemyError as exc:
            reason = f"cannot write to the interface table {self._table.name}: {exc}"
            return [
                results.get(m.key) or DeliveryResult.retry_later(m.key, reason) for m in messages
            ]
        return [results.get(m.key) or DeliveryResult.delivered(m.key) for m in messages]

    def _write(self, rows: dict[str, dict[str, object]], now: datetime) -> None:
        if not rows:
            return
        c = self._table.c
        with self._connect().begin() as conn:
            known = dict(
                conn.execute(
                    sa.select(c.message_id, c.status).where(c.message_id.in_(list(rows)))
                ).all()
            )
            fresh = [row for key, row in rows.items() if key not in known]
            if fresh:
                conn.execute(self._table.insert(), fresh)
            again = [key for key, status in known.items() if status == ERROR]
            if again:
                conn.execute(
                    self._table.update()
                    .where(c.message_id.in_(again), c.status == ERROR)
                    .values(status=NEW, error_text=None, processed_at=None,
                            attempt=c.attempt + 1, written_at=now)
                )  # fmt: skip

    def _rejections(self) -> list[tuple[UUID, str]]:
        c = self._table.c
        query = sa.select(c.message_id, c.error_text).where(c.status == ERROR)
        try:
            with self._busy, self._connect().connect() as conn:
                rows = conn.execute(query).all()
        except sa.exc.SQLAlchemyError as exc:  # read again next round; delivery says why
            log.warning("cannot read the ERP's answers from %s: %s", self._table.name, exc)
            return []
        return [(UUID(key), text or "no reason given") for key, text in rows]


def utc(ts_ns: int) -> datetime:
    """A naive UTC timestamp: the table's times are UTC in every database."""
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC).replace(tzinfo=None)


def _row(message: OutboundMessage, now: datetime) -> dict[str, object]:
    return {
        "message_id": str(message.key), "kind": message.kind,
        "ordering_key": message.ordering_key or "",
        "created_at": message.created.astimezone(UTC).replace(tzinfo=None),
        "payload": json.dumps(dict(message.payload), sort_keys=True, allow_nan=False),
        "status": NEW, "attempt": 1, "written_at": now,
    }  # fmt: skip
