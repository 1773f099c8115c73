"""Engines for the operations store: which database a URL means, and how to talk to it.

``sqlite:///mom.sqlite`` is a file in the data directory (``sqlite:////abs/path`` is
absolute); ``postgresql://user@host/db`` uses the psycopg driver. SQLite write
transactions begin ``IMMEDIATE``, so two writers queue at the start instead of failing
at commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

DEFAULT_URL = "sqlite:///mom.sqlite"
BUSY_TIMEOUT_S = 30
READ_ONLY = "plantos_read_only"
OUTBOX_WRITTEN = "plantos_outbox_written"
"""Set in a connection's ``info`` by a transaction that wrote outbox rows: a listener on
the engine's ``commit`` event (the outbox dispatcher) then knows there is news."""
"""Connection info key: set for a transaction that only reads (SQLite then begins
deferred, so readers never wait behind a writer)."""


def resolve_url(url: str | None, *, data_dir: Path) -> str:
    """The SQLAlchemy URL for a configured one; ``ValueError`` for a scheme PlantOS lacks."""
    url = url or DEFAULT_URL
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{path if path.is_absolute() else data_dir / path}"
    for scheme in ("postgresql://", "postgres://", "postgresql+psycopg://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    raise ValueError(
        f"unsupported operations database URL {url!r}: use sqlite:///FILE or postgresql://..."
    )


def open_engine(url: str) -> sa.Engine:
    """An engine for a URL from :func:`resolve_url`; nothing is connected yet."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN" if conn.info.get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine
