"""Delivery state of each outbox message per ERP connector, and a stable insertion
order for the outbox on PostgreSQL (SQLite has its rowid).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erp_deliveries",
        sa.Column("message_id", sa.Uuid, sa.ForeignKey("mom_outbox.id"), primary_key=True),
        sa.Column("connector", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_erp_deliveries_state", "erp_deliveries", ["connector", "state"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE mom_outbox ADD COLUMN seq BIGSERIAL")
        op.create_index("ix_mom_outbox_seq", "mom_outbox", ["seq"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_mom_outbox_seq", "mom_outbox")
        op.drop_column("mom_outbox", "seq")
    op.drop_index("ix_erp_deliveries_state", "erp_deliveries")
    op.drop_table("erp_deliveries")
