"""Checklist submissions in the operations database: stored once per instance, with
their ``ChecklistSubmitted`` outbox row in the same transaction, and read back for the
station page and for the lock-out/tag-out gate of work orders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from plantos.mom.entry.errors import DuplicateSubmissionError
from plantos.mom.entry.events import ChecklistSubmitted
from plantos.mom.entry.tables import checklist_submissions as table
from plantos.mom.store.uow import SqlUnitOfWork


@dataclass(frozen=True, slots=True)
class Submission:
    id: uuid.UUID
    checklist: str
    instance: str
    line: str
    work_order: str | None
    submitted_by: str
    submitted_ns: int
    answers: dict[str, Any]


def store(uow: SqlUnitOfWork, connection: sa.Connection, submission: Submission) -> None:
    """Insert ``submission`` and record its event; :class:`DuplicateSubmissionError` when
    the instance has one already (checked first for a clear answer, and by the unique key
    against a race: the transaction then rolls back whole)."""
    done = find(connection, submission.checklist, submission.instance)
    if done is not None:
        raise _duplicate(done)
    try:
        with connection.begin_nested():
            connection.execute(table.insert().values(**_row(submission)))
    except sa.exc.IntegrityError:
        raced = find(connection, submission.checklist, submission.instance)
        raise (
            _duplicate(raced) if raced else DuplicateSubmissionError("submitted already")
        ) from None
    subject = submission.line
    uow.record(
        ChecklistSubmitted(
            ts_ns=submission.submitted_ns, subject=subject, checklist=submission.checklist,
            instance=submission.instance, by=submission.submitted_by,
            work_order=submission.work_order, answers=dict(submission.answers),
        )
    )  # fmt: skip


def _duplicate(done: Submission) -> DuplicateSubmissionError:
    return DuplicateSubmissionError(
        f"checklist {done.checklist} for {done.instance} was submitted already "
        f"by {done.submitted_by}"
    )


def find(connection: sa.Connection, checklist: str, instance: str) -> Submission | None:
    row = connection.execute(
        sa.select(table).where(table.c.checklist == checklist, table.c.instance == instance)
    ).first()
    return _submission(row) if row else None


def for_work_order(connection: sa.Connection, work_order: str) -> set[str]:
    """The checklists submitted for ``work_order``."""
    rows = connection.execute(
        sa.select(table.c.checklist).where(table.c.work_order == work_order)
    ).all()
    return {r.checklist for r in rows}


def work_orders_done(connection: sa.Connection, checklist: str, work_orders: list[str]) -> set[str]:
    """Those of ``work_orders`` that have ``checklist`` submitted."""
    rows = connection.execute(
        sa.select(table.c.work_order).where(
            table.c.checklist == checklist, table.c.work_order.in_(work_orders)
        )
    ).all()
    return {r.work_order for r in rows}


def listing(connection: sa.Connection, *, line: str, limit: int = 50) -> list[Submission]:
    """The newest submissions of ``line``, newest first."""
    rows = connection.execute(
        sa.select(table)
        .where(table.c.line == line)
        .order_by(table.c.submitted_ns.desc())
        .limit(limit)
    ).all()
    return [_submission(r) for r in rows]


def _row(s: Submission) -> dict[str, Any]:
    return {
        "id": s.id, "checklist": s.checklist, "instance": s.instance, "line": s.line,
        "work_order": s.work_order, "submitted_by": s.submitted_by,
        "submitted_ns": s.submitted_ns, "answers": s.answers,
    }  # fmt: skip


def _submission(row: sa.Row[Any]) -> Submission:
    return Submission(
        row.id, row.checklist, row.instance, row.line, row.work_order, row.submitted_by,
        row.submitted_ns, dict(row.answers),
    )  # fmt: skip
