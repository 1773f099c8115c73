"""Dead letters: sample batches the historian refused, kept on disk with the reason.

When a batch cannot be committed after the writer's retries, it is stored here (one
SQLite file in the data directory, written before the writer lets go of the batch) and
the samples behind it flow on. Nothing is lost: list the letters with
``plantos deadletter list`` or ``GET /api/v1/deadletters``, fix the cause, and re-ingest
them with ``plantos deadletter replay`` (server stopped) or
``POST /api/v1/deadletters/replay`` (server running).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plantos.core.batch import SampleBatch
from plantos.core.sqlite_file import sqlite_session

DEAD_LETTERS_FILE = "deadletters.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns INTEGER NOT NULL,
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    samples INTEGER NOT NULL,
    first_ts INTEGER,
    last_ts INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    batch BLOB NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One refused batch, without its samples (:meth:`DeadLetterStore.batch` has them)."""

    id: int
    at_ns: int
    stage: str
    reason: str
    samples: int
    first_ts: int | None
    last_ts: int | None
    replay_attempts: int


_NPZ_MAGIC = b"PK"
"""Dead letters kept before batches carried exact values are numpy archives (zip files)."""


def _decode(blob: bytes) -> SampleBatch:
    if not blob.startswith(_NPZ_MAGIC):
        return SampleBatch.from_ipc(blob)
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        return SampleBatch(arrays["tag_id"], arrays["ts"], arrays["value"], arrays["quality"])


class DeadLetterStore:
    """Refused batches in ``<data_dir>/deadletters.sqlite``; safe from any thread or process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite_session(path) as db:
            db.execute(_SCHEMA)

    def add(self, batch: SampleBatch, *, reason: str, stage: str, at_ns: int) -> int:
        """Keep ``batch`` with why it was refused; durable when this returns."""
        first = int(batch.ts.min()) if len(batch) else None
        last = int(batch.ts.max()) if len(batch) else None
        with sqlite_session(self.path) as db:
            cur = db.execute(
                "INSERT INTO dead_letters (at_ns, stage, reason, samples, first_ts, last_ts, batch)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at_ns, stage, reason, len(batch), first, last, batch.to_ipc()),
            )
            return int(cur.lastrowid or 0)

    def list(self) -> list[DeadLetter]:
        """Every letter kept, oldest first."""
        with sqlite_session(self.path) as db:
            rows = db.execute(
                "SELECT id, at_ns, stage, reason, samples, first_ts, last_ts, attempts"
                " FROM dead_letters ORDER BY id"
            ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def batch(self, letter_id: int) -> SampleBatch:
        with sqlite_session(self.path) as db:
            row = db.execute("SELECT batch FROM dead_letters WHERE id = ?", (letter_id,)).fetchone()
        if row is None:
            raise KeyError(f"no dead letter {letter_id}")
        return _decode(row[0])

    def replay(self, write: Callable[[SampleBatch], None]) -> dict[str, int]:
        """Hand every letter to ``write``, oldest first; a letter written is removed, one
        refused again stays with the new reason. Returns what happened, counted."""
        done = {"replayed": 0, "samples": 0, "refused": 0}
        for letter in self.list():
            batch = self.batch(letter.id)
            try:
                write(batch)
            except Exception as exc:
                done["refused"] += 1
                self._refused_again(letter.id, f"{type(exc).__name__}: {exc}")
                continue
            with sqlite_session(self.path) as db:
                db.execute("DELETE FROM dead_letters WHERE id = ?", (letter.id,))
            done["replayed"] += 1
            done["samples"] += len(batch)
        return done

    def _refused_again(self, letter_id: int, reason: str) -> None:
        with sqlite_session(self.path) as db:
            db.execute(
                "UPDATE dead_letters SET reason = ?, attempts = attempts + 1 WHERE id = ?",
                (reason, letter_id),
            )

    def count(self) -> tuple[int, int]:
        """Letters kept and the samples in them."""
        with sqlite_session(self.path) as db:
            row = db.execute(
                "SELECT count(*), coalesce(sum(samples), 0) FROM dead_letters"
            ).fetchone()
        return int(row[0]), int(row[1])
