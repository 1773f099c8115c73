"""The SQL table of notifications, on the operations store's metadata, so a loop queues
them in the same transaction as the work order they announce; revision
migration ``0003`` creates it."""

from __future__ import annotations

import sqlalchemy as sa

from plantos.mom.store.tables import metadata

notifications = sa.Table(
    "mom_notifications",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("recipient", sa.String(300)),
    sa.Column("station", sa.String(300)),
    sa.Column("asset", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("escalations", sa.Integer, nullable=False, server_default="0"),
    sa.Column("escalated_ns", sa.BigInteger),
    sa.Index("ix_mom_notifications_state", "state", "next_attempt_at"),
    sa.Index("ix_mom_notifications_station", "station", "state"),
)
