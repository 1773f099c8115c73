"""Checking the audit chain: the first record that was edited, deleted or reordered."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from plantos.core.sqlite_file import sqlite_session
from plantos.security.audit import GENESIS, record_hash


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where the chain stops holding: the record (by its sequence number and place in the
    file) and what is wrong with it."""

    position: int
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"record {self.seq} (position {self.position}): {self.problem}"


def verify(path: Path) -> tuple[int, ChainBreak | None]:
    """How many records were checked, and the first break (``None`` if the chain holds).

    Records are read in the order they were written (SQLite ``rowid``), so a record moved
    elsewhere shows as out of sequence even if its own hash is intact.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no audit log at {path}")
    prev, expected_seq, count = GENESIS, 1, 0
    with sqlite_session(path) as db:
        rows = db.execute("SELECT * FROM audit ORDER BY rowid")
        for position, row in enumerate(rows, start=1):
            count = position
            problem = _problem(row, expected_seq, prev)
            if problem:
                return count, ChainBreak(position, int(row[0]), problem)
            prev, expected_seq = row[8], row[0] + 1
    return count, None


def _problem(row: tuple[object, ...], expected_seq: int, prev: str) -> str | None:
    seq, ts, actor, action, target, outcome, detail, link, digest = row
    if seq != expected_seq:
        how = (
            "missing before it (deleted)"
            if isinstance(seq, int) and seq > expected_seq
            else ("out of order")
        )
        return f"expected record {expected_seq} here: records {how}"
    if link != prev:
        return "does not link to the record before it (a record was deleted or reordered)"
    fields = (seq, ts, actor, action, target, outcome, detail, link)
    if record_hash(*fields) != digest:  # type: ignore[arg-type]
        return "its content does not match its hash (edited)"
    try:
        json.loads(str(detail))
    except ValueError:
        return "its detail is not JSON (edited)"
    return None
