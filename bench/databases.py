"""Databases made for one benchmark run: a fresh PostgreSQL database on 127.0.0.1:5432
(dropped afterwards) and the operations store on it or on a SQLite file."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: F401  (puts the checkout's src on the path)
import psycopg
import sqlalchemy as sa

from plantos.mom.store import open_engine, resolve_url, upgrade

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """The ``postgresql://`` URL of a new empty database, dropped when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def operations_engine(kind: str, folder: Path) -> Iterator[sa.Engine]:
    """The operations store, migrated, on a new SQLite file in ``folder`` or a fresh
    PostgreSQL database (``kind`` is ``sqlite`` or ``postgresql``)."""
    if kind not in ("sqlite", "postgresql"):
        raise ValueError(f"the operations store runs on sqlite or postgresql, not {kind!r}")
    for old in folder.glob("mom.sqlite*"):
        old.unlink()
    with fresh_postgres("plantos_bench") if kind == "postgresql" else _sqlite() as url:
        engine = open_engine(resolve_url(url, data_dir=folder))
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


@contextmanager
def _sqlite() -> Iterator[str]:
    yield "sqlite:///mom.sqlite"
