"""The SQL tables of the operations domain (SQLAlchemy Core), mapped to the domain
classes by the repositories; the domain never sees them. Migrations create the same
shapes; a change here needs a new revision under ``mom/migrations/versions``."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

products = sa.Table(
    "mom_products",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("routing", sa.String(64), nullable=False),
    sa.Column("counting", sa.String(16)),
)

routings = sa.Table(
    "mom_routings",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("alternatives", sa.JSON, nullable=False),
)

orders = sa.Table(
    "mom_orders",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("routing", sa.String(64), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("due_ns", sa.BigInteger, nullable=False),
    sa.Column("release_ns", sa.BigInteger, nullable=False),
    sa.Column("operations", sa.Integer, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("counting", sa.String(16)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("asset", sa.String(300)),
    sa.Column("good", sa.JSON, nullable=False),
    sa.Column("scrap", sa.JSON, nullable=False),
    sa.Column("started_ns", sa.BigInteger),
    sa.Column("completed_ns", sa.BigInteger),
    sa.Column("rate_since_ns", sa.BigInteger),
    sa.Column("rate_parts", sa.Integer, nullable=False),
    sa.Column("eta_ns", sa.BigInteger),
    sa.Column("runs", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_mom_orders_state", "state"),
    sa.Index("ix_mom_orders_asset_state", "asset", "state"),
)

plans = sa.Table(
    "mom_plans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Column("trigger", sa.String(64), nullable=False),
    sa.Column("asset", sa.String(300)),
    sa.Column("solver", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("weighted_tardiness_s", sa.BigInteger, nullable=False),
    sa.Column("makespan_s", sa.BigInteger, nullable=False),
    sa.Column("moved", sa.Integer, nullable=False),
    sa.Column("solve_ms", sa.Float, nullable=False),
    sa.Column("assignments", sa.JSON, nullable=False),
)

outbox = sa.Table(
    "mom_outbox",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("aggregate_key", sa.String(300), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dispatched_at", sa.DateTime(timezone=True)),
    sa.Index("ix_mom_outbox_pending", "dispatched_at", "created_at"),
    sa.Index("ix_mom_outbox_aggregate", "aggregate_key", "created_at"),
)

changeovers = sa.Table(
    "mom_changeovers",
    metadata,
    sa.Column("asset", sa.String(300), primary_key=True),
    sa.Column("from_product", sa.String(64), primary_key=True),
    sa.Column("to_product", sa.String(64), primary_key=True),
    sa.Column("setup_s", sa.Integer, nullable=False),
)

order_history = sa.Table(
    "mom_order_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Index("ix_mom_order_history_order", "order_id", "id"),
)

lots = sa.Table(
    "mom_lots",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("order_id", sa.String(64)),
    sa.Column("product", sa.String(64)),
    sa.Column("asset", sa.String(300), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("opened_ns", sa.BigInteger, nullable=False),
    sa.Column("opened_by", sa.String(200), nullable=False),
    sa.Column("closed_ns", sa.BigInteger),
    sa.Column("good", sa.Integer, nullable=False),
    sa.Column("scrap", sa.Integer, nullable=False),
    sa.Column("good_from", sa.Integer, nullable=False),
    sa.Column("scrap_from", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("history", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_mom_lots_order", "order_id", "opened_ns"),
    sa.Index("ix_mom_lots_asset_state", "asset", "state"),
)
