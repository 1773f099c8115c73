"""Alembic environment: runs on the connection :mod:`plantos.mom.store.migrate` passes in."""

from __future__ import annotations

from alembic import context

from plantos.mom.store.migrate import VERSION_TABLE
from plantos.mom.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
