"""The history of each production order's changes from the ERP: what arrived, from
which inbound format, and which fields it changed.

Revision ID: 0008
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_order_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_index("ix_mom_order_history_order", "mom_order_history", ["order_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_mom_order_history_order", "mom_order_history")
    op.drop_table("mom_order_history")
