"""Bring an operations database to the newest schema with Alembic.

The migration scripts ship inside the package (``plantos/mom/migrations``), so
``plantos db upgrade`` and the platform's start need no ``alembic.ini``. The version
is kept in its own table, ``mom_alembic_version``, beside other layers' tables.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "mom_alembic_version"


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, *, revision: str = "head") -> str | None:
    """Apply every migration up to ``revision`` in one transaction; return the revision."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)
    return current_revision(engine)


def current_revision(engine: sa.Engine) -> str | None:
    """The database's schema revision (``None`` for a database never upgraded)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    """The newest revision the installed PlantOS knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
