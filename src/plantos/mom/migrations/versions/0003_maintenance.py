"""Work orders and the notifications that announce them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_work_orders",
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
    )
    op.create_index("ix_mom_work_orders_asset_state", "mom_work_orders", ["asset", "state"])
    op.create_table(
        "mom_notifications",
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
    )
    op.create_index("ix_mom_notifications_state", "mom_notifications", ["state", "next_attempt_at"])
    op.create_index("ix_mom_notifications_station", "mom_notifications", ["station", "state"])


def downgrade() -> None:
    op.drop_table("mom_notifications")
    op.drop_table("mom_work_orders")
