"""The SQL table of checklist submissions, on the operations store's metadata; revision
migration ``0006`` creates it. One row per checklist and instance: the unique key is
what refuses a second submission, even from two stations at once."""

from __future__ import annotations

import sqlalchemy as sa

from plantos.mom.store.tables import metadata

checklist_submissions = sa.Table(
    "mom_checklist_submissions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("checklist", sa.String(64), nullable=False),
    sa.Column("instance", sa.String(400), nullable=False),
    sa.Column("line", sa.String(300), nullable=False),
    sa.Column("work_order", sa.String(64)),
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("submitted_ns", sa.BigInteger, nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.UniqueConstraint("checklist", "instance", name="uq_mom_checklist_instance"),
    sa.Index("ix_mom_checklist_submissions_line", "line", "submitted_ns"),
    sa.Index("ix_mom_checklist_submissions_work_order", "work_order"),
)
