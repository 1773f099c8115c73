"""Checklist submissions: once per checklist and instance (a line's shift, a work order).

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mom_checklist_submissions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("checklist", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(400), nullable=False),
        sa.Column("line", sa.String(300), nullable=False),
        sa.Column("work_order", sa.String(64)),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_ns", sa.BigInteger, nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.UniqueConstraint("checklist", "instance", name="uq_mom_checklist_instance"),
    )
    op.create_index(
        "ix_mom_checklist_submissions_line", "mom_checklist_submissions", ["line", "submitted_ns"]
    )
    op.create_index(
        "ix_mom_checklist_submissions_work_order", "mom_checklist_submissions", ["work_order"]
    )


def downgrade() -> None:
    op.drop_table("mom_checklist_submissions")
