"""Operations databases for tests: a SQLite file, or a fresh PostgreSQL database on the
local server (127.0.0.1:5432, user postgres), created with a unique name and dropped after.

Migrating a PostgreSQL database from nothing takes up to a second and a half; copying an
already migrated one (``CREATE DATABASE ... TEMPLATE``) a tenth of that, so tests that
want the newest schema copy one template migrated once per test run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def fresh_postgres(template: str | None = None) -> Iterator[str]:
    """A new database, empty or a copy of ``template``; yields its ``postgresql://`` URL
    and drops it afterwards."""
    name = f"plantos_mom_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
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


@contextmanager
def migrated_template() -> Iterator[str]:
    """A database migrated to the newest revision, with no connection left open (so it
    can serve as a template); yields its name and drops it afterwards."""
    from plantos.mom.store import open_engine, upgrade

    with fresh_postgres() as url:
        engine = open_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url.rsplit("/", 1)[1]
