"""The audit trail: an append-only, hash-chained log of every security-relevant act.

Each record holds the hash of the record before it and its own hash over its content and
that link, so editing a record breaks its own hash, and deleting or reordering records
breaks the chain at the first record after the change; :func:`verify` names that record.
Records are appended in one ``BEGIN IMMEDIATE`` transaction (read the newest hash, insert),
so the server and a CLI command appending at the same moment still make one chain.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plantos.core.clock import Clock
from plantos.core.sqlite_file import sqlite_session

AUDIT_FILE = "audit.sqlite"
GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts_ns INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts_ns);
"""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One act: who (``actor``), what (``action``), on what (``target``), how it ended
    (``outcome``: ``ok``, ``denied``, ``failed``, ``pending``) and its particulars."""

    seq: int
    ts_ns: int
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_hash(
    seq: int, ts_ns: int, actor: str, action: str, target: str, outcome: str, detail: str, prev: str
) -> str:
    body = json.dumps([seq, ts_ns, actor, action, target, outcome, detail, prev])
    return hashlib.sha256(body.encode()).hexdigest()


class AuditLog:
    """Appends records to, and reads them from, ``path``."""

    def __init__(self, path: Path, *, clock: Clock) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._clock = clock
        with sqlite_session(path) as db:
            db.executescript(_SCHEMA)
        path.chmod(0o600)

    @property
    def path(self) -> Path:
        return self._path

    def append(
        self,
        actor: str,
        action: str,
        target: str = "",
        *,
        outcome: str = "ok",
        **detail: Any,
    ) -> AuditRecord:
        """Add one record at the end of the chain and return it."""
        text = json.dumps(detail, sort_keys=True, default=str)
        with sqlite_session(self._path) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                last = db.execute(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                ts = self._clock.now_ns()
                digest = record_hash(seq, ts, actor, action, target, outcome, text, prev)
                db.execute(
                    "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, ts, actor, action, target, outcome, text, prev, digest),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return AuditRecord(seq, ts, actor, action, target, outcome, detail, prev, digest)

    def records(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditRecord]:
        """Records matching every filter given (``action`` matches as a prefix)."""
        where, args = _filters(actor, action, outcome, since_ns, until_ns)
        sql = f"SELECT * FROM audit{where} ORDER BY seq {'DESC' if newest_first else 'ASC'}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with sqlite_session(self._path) as db:
            return [_record(row) for row in db.execute(sql, args)]

    def iter_all(self) -> Iterator[AuditRecord]:
        with sqlite_session(self._path) as db:
            for row in db.execute("SELECT * FROM audit ORDER BY rowid"):
                yield _record(row)


def _filters(
    actor: str | None,
    action: str | None,
    outcome: str | None,
    since_ns: int | None,
    until_ns: int | None,
) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    for clause, value in (
        ("actor = ?", actor),
        ("outcome = ?", outcome),
        ("ts_ns >= ?", since_ns),
        ("ts_ns < ?", until_ns),
    ):
        if value is not None and value != "":
            parts.append(clause)
            args.append(value)
    if action:
        parts.append("substr(action, 1, ?) = ?")
        args += [len(action), action]
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


def _record(row: sqlite3.Row | tuple[Any, ...]) -> AuditRecord:
    seq, ts, actor, action, target, outcome, detail, prev, digest = row
    try:
        parsed = json.loads(detail)
    except ValueError:
        parsed = {"unparsable": detail}
    return AuditRecord(seq, ts, actor, action, target, outcome, parsed, prev, digest)
