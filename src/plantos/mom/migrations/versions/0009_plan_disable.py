"""Preventive plans can be disabled: who disabled a plan and when (both empty while it
is enabled).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mom_preventive_plans") as batch:
        batch.add_column(sa.Column("disabled_by", sa.String(200)))
        batch.add_column(sa.Column("disabled_ns", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("mom_preventive_plans") as batch:
        batch.drop_column("disabled_ns")
        batch.drop_column("disabled_by")
