"""Lots: the parts one order made on one asset, traced as one unit; a nonconformance
names its lot and what its hold was put on (``order`` or ``lot``).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_lots",
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
    )
    op.create_index("ix_mom_lots_order", "mom_lots", ["order_id", "opened_ns"])
    op.create_index("ix_mom_lots_asset_state", "mom_lots", ["asset", "state"])
    with op.batch_alter_table("mom_nonconformances") as batch:
        batch.add_column(sa.Column("lot", sa.String(80)))
        batch.add_column(sa.Column("hold_target", sa.String(8)))
    nc = sa.table("mom_nonconformances", sa.column("held", sa.Boolean),
                  sa.column("hold_target", sa.String))  # fmt: skip
    op.execute(nc.update().where(nc.c.held.is_(True)).values(hold_target="order"))


def downgrade() -> None:
    with op.batch_alter_table("mom_nonconformances") as batch:
        batch.drop_column("hold_target")
        batch.drop_column("lot")
    op.drop_table("mom_lots")
