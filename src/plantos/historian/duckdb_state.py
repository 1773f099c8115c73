"""What the DuckDB historian's parts share: the tier marks, the per-thread cursors, and
the small helpers every statement uses.

The writer (:mod:`~plantos.historian.duckdb_writer`), the rollup maintainer
(:mod:`~plantos.historian.duckdb_rollups`) and the query planner
(:mod:`~plantos.historian.duckdb_query`) each read and update one :class:`TierState`;
:class:`~plantos.historian.duckdb_store.DuckDBHistorian` owns it and serialises writers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from plantos.core.timeparse import format_duration
from plantos.historian.protocol import Tier
from plantos.historian.recent import RecentSamples


def floor(ts: int, width: int) -> int:
    return ts - ts % width


def table(width_ns: int) -> str:
    """The table of the rollup tier ``width_ns`` wide, e.g. ``rollup_1m``."""
    return f"rollup_{format_duration(width_ns)}"


@contextmanager
def transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    # Every statement's result is consumed: DuckDB refuses new work on a cursor
    # that still holds an unfinished result.
    cur.execute("BEGIN TRANSACTION").fetchall()
    try:
        yield
    except BaseException:
        cur.execute("ROLLBACK").fetchall()
        raise
    cur.execute("COMMIT").fetchall()


@dataclass
class TierState:
    """Per tier: rolled up until where, how much of it is ordered by tag, which (tier, tag)
    pairs hold late samples not yet recomputed; and the newest sample stored."""

    tiers: list[Tier]
    rolled: dict[int, int | None]
    sorted_rows: dict[int, int | None]
    dirty: set[tuple[int, int]]
    newest_ts: int | None
    recent: RecentSamples | None = None
    """The samples newer than the finest tier's mark, kept in memory for queries."""


@dataclass
class Cursors:
    """One cursor per thread over one connection (a DuckDB cursor is not thread-safe)."""

    con: duckdb.DuckDBPyConnection
    _local: threading.local = field(default_factory=threading.local)
    _all: list[duckdb.DuckDBPyConnection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self) -> duckdb.DuckDBPyConnection:
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cur", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cur = cur
            with self.lock:
                self._all.append(cur)
        return cur

    def close(self) -> None:
        """Close every thread's cursor, then the connection (its threads must not outlive it)."""
        with self.lock:
            for cur in self._all:
                cur.close()
            self._all.clear()
            self.con.close()
