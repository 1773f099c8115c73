"""Nonconformances: quality findings, the holds they put on orders, their disposition.

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_nonconformances",
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
    )
    op.create_index(
        "ix_mom_nonconformances_open", "mom_nonconformances", ["characteristic", "state"]
    )
    op.create_index("ix_mom_nonconformances_order", "mom_nonconformances", ["order_id", "state"])


def downgrade() -> None:
    op.drop_table("mom_nonconformances")
