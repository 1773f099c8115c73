"""Sequence-dependent setup times (changeovers) between products on an asset.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_changeovers",
        sa.Column("asset", sa.String(300), primary_key=True),
        sa.Column("from_product", sa.String(64), primary_key=True),
        sa.Column("to_product", sa.String(64), primary_key=True),
        sa.Column("setup_s", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mom_changeovers")
