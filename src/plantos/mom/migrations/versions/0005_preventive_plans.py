"""Preventive plans: their definitions and where each stands.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_preventive_plans",
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
    )


def downgrade() -> None:
    op.drop_table("mom_preventive_plans")
