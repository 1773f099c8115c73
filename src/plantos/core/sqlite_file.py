"""Short connections to the small SQLite files in the data directory.

The token store and the stop reasons are written by the server and read by the CLI
while the server runs, so each call opens its own connection (nothing is shared between
threads or processes), in autocommit with WAL, which lets readers go on while one
writer writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def sqlite_session(path: Path) -> Iterator[sqlite3.Connection]:
    """One connection to ``path`` for the duration of a ``with`` block, closed after it."""
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        yield db
    finally:
        db.close()
