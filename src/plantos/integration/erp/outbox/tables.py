"""The delivery state of one outbox message on one connector (``erp_deliveries``).

The table is created by the operations migrations (revision ``0004``), in
the same database as ``mom_outbox``, so a message and its delivery state are read and
written together. ``state`` is one of :data:`PENDING`, :data:`DELIVERED`, :data:`DEAD`.
"""

from __future__ import annotations

import sqlalchemy as sa

from plantos.mom.store.tables import outbox

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"

metadata = sa.MetaData()

deliveries = sa.Table(
    "erp_deliveries",
    metadata,
    sa.Column("message_id", sa.Uuid, primary_key=True),
    sa.Column("connector", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


def insertion_order(dialect: str) -> sa.ColumnElement[int]:
    """The outbox rows' insertion order, the order messages are delivered in: SQLite's
    rowid, PostgreSQL's ``seq``. Not ``created_at``: the events of one transaction share
    it, and a simulated clock may be set back; changes to one order are serialised by
    the database, so their rows are numbered in the order they happened."""
    column = "rowid" if dialect == "sqlite" else "seq"
    return sa.literal_column(f"{outbox.name}.{column}", sa.BigInteger)
