"""The SQL table of nonconformances, on the operations store's metadata; revision
``0007`` creates it, ``0010`` adds its lot and hold target."""

from __future__ import annotations

import sqlalchemy as sa

from plantos.mom.store.tables import metadata

nonconformances = sa.Table(
    "mom_nonconformances",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("asset", sa.String(300), nullable=False),
    sa.Column("characteristic", sa.String(400), nullable=False),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("order_id", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("held", sa.Boolean, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False),
    sa.Column("opened_ns", sa.BigInteger, nullable=False),
    sa.Column("opened_by", sa.String(200), nullable=False),
    sa.Column("closed_ns", sa.BigInteger),
    sa.Column("disposition", sa.String(16)),
    sa.Column("scrapped", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("history", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("lot", sa.String(80)),
    sa.Column("hold_target", sa.String(8)),
    sa.Index("ix_mom_nonconformances_open", "characteristic", "state"),
    sa.Index("ix_mom_nonconformances_order", "order_id", "state"),
)
