"""Operations databases for tests: a SQLite file, or a fresh PostgreSQL database on the
local server (127.0.0.1:5432, user postgres), created with a unique name and dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new empty database; yields its ``postgresql://`` URL and drops it afterwards."""
    name = f"plantos_mom_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def mom_database(kind: str, folder: Path) -> Iterator[str]:
    """A configured database URL of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'mom.sqlite'}"
    else:
        with fresh_postgres() as url:
            yield url
