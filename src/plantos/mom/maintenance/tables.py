"""The SQL table of work orders, on the operations store's metadata; revision
migration ``0003`` creates it."""

from __future__ import annotations

import sqlalchemy as sa

from plantos.mom.store.tables import metadata

work_orders = sa.Table(
    "mom_work_orders",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("asset", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("failure_mode", sa.String(16)),
    sa.Column("mechanism", sa.String(16)),
    sa.Column("cause", sa.String(16)),
    sa.Column("remedy", sa.Text),
    sa.Column("opened_ns", sa.BigInteger, nullable=False),
    sa.Column("opened_by", sa.String(200), nullable=False),
    sa.Column("estimated_failure_ns", sa.BigInteger),
    sa.Column("window_start_ns", sa.BigInteger),
    sa.Column("window_end_ns", sa.BigInteger),
    sa.Column("last_service_ns", sa.BigInteger),
    sa.Column("repeat_of", sa.String(64)),
    sa.Column("closed_ns", sa.BigInteger),
    sa.Column("affected_orders", sa.JSON, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("labour", sa.JSON, nullable=False),
    sa.Column("parts", sa.JSON, nullable=False),
    sa.Column("transitions", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_mom_work_orders_asset_state", "asset", "state"),
)

preventive_plans = sa.Table(
    "mom_preventive_plans",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("asset", sa.String(300), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("origin", sa.String(8), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("due", sa.Float, nullable=False),
    sa.Column("done_at", sa.Float, nullable=False),
    sa.Column("reading", sa.Float, nullable=False),
    sa.Column("reading_ns", sa.BigInteger),
    sa.Column("work_order", sa.String(64)),
    sa.Column("last_done_ns", sa.BigInteger),
    sa.Column("last_work_order", sa.String(64)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("disabled_by", sa.String(200)),
    sa.Column("disabled_ns", sa.BigInteger),
)
"""One row per preventive plan: its definition (from the plant file or the API) and
where it stands; revision ``0005`` creates it, ``0009`` adds who disabled it and when."""
