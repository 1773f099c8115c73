"""Stop reasons kept in a small SQLite file in the data directory, so they survive a restart.

Every assignment is a row, never updated or deleted: re-explaining a stop adds a row,
and the newest row (by insertion) is the stop's current reason. The older rows are the
audit trail of who said what when. The platform loads the current reasons into the
:class:`ReasonBook` the OEE code reads; the offline CLI opens the same file read-only,
so its report names the same reasons as the server's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from plantos.analytics.oee.records import Reason, ReasonBook
from plantos.core.clock import Clock
from plantos.core.errors import PlantOSError
from plantos.core.sqlite_file import sqlite_session

REASONS_FILE = "reasons.sqlite"
"""The store's file name inside the platform's data directory."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reason_assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asset TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    given_by TEXT NOT NULL,
    given_ns INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reason_assignments_by_stop
    ON reason_assignments (asset, start_ns, id);
"""

_CURRENT = """
SELECT asset, start_ns, reason, given_by, given_ns, note FROM reason_assignments
WHERE id IN (SELECT MAX(id) FROM reason_assignments GROUP BY asset, start_ns)
"""


class ReasonStore:
    """The reason assignments of one platform, in ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        with sqlite_session(self._path) as db:
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(reason_assignments)")}
            if "note" not in columns:  # a store from before notes
                db.execute(
                    "ALTER TABLE reason_assignments ADD COLUMN note TEXT NOT NULL DEFAULT ''"
                )

    def book(self, *, clock: Clock) -> ReasonBook:
        """The current reasons, in a book that records every new assignment here first.
        ``clock`` stamps the assignments: the wall clock, as an audit wants."""
        with sqlite_session(self._path) as db:
            rows = db.execute(_CURRENT).fetchall()
        return ReasonBook(_by_stop(rows), clock=clock, journal=self.record)

    def record(self, asset: str, start_ns: int, reason: Reason) -> None:
        """Add one assignment; it becomes the stop's current reason."""
        with sqlite_session(self._path) as db:
            db.execute(
                "INSERT INTO reason_assignments "
                "(asset, start_ns, reason, given_by, given_ns, note) VALUES (?, ?, ?, ?, ?, ?)",
                (asset, start_ns, reason.code, reason.by, reason.at_ns, reason.note),
            )

    def history(self, asset: str, start_ns: int) -> list[Reason]:
        """Every reason the stop was given, newest (the current one) first."""
        with sqlite_session(self._path) as db:
            rows = db.execute(
                "SELECT reason, given_by, given_ns, note FROM reason_assignments "
                "WHERE asset = ? AND start_ns = ? ORDER BY id DESC",
                (asset, start_ns),
            ).fetchall()
        return [Reason(code, by, at, note) for code, by, at, note in rows]


def read_reasons(path: Path) -> ReasonBook:
    """The current reasons of a store, opened read-only (beside a running server, which
    may be writing); an empty book if the platform never kept a reason there."""
    if not path.is_file():
        return ReasonBook()
    try:
        try:
            rows = _read_current(f"{path.resolve().as_uri()}?mode=ro")
        except sqlite3.OperationalError:
            # Read-only in WAL mode still creates the -shm file; in a directory this user
            # may not write, with no server running (nothing in a WAL), read it as is.
            rows = _read_current(f"{path.resolve().as_uri()}?immutable=1")
    except sqlite3.Error as exc:
        raise PlantOSError(f"cannot read the stop reasons in {path}: {exc}") from None
    return ReasonBook(_by_stop(rows))


def _read_current(uri: str) -> list[tuple[str, int, str, str, int, str]]:
    db = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(reason_assignments)")}
        query = _CURRENT if "note" in columns else _CURRENT.replace(", note FROM", ", '' FROM")
        rows: list[tuple[str, int, str, str, int, str]] = db.execute(query).fetchall()
    finally:
        db.close()
    return rows


def _by_stop(rows: list[tuple[str, int, str, str, int, str]]) -> dict[tuple[str, int], Reason]:
    return {(asset, start): Reason(code, by, at, note) for asset, start, code, by, at, note in rows}
