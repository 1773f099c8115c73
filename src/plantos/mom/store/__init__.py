"""Storage of the operations domain: SQL tables, their migrations, repositories and the
unit of work. SQLite in the data directory by default; PostgreSQL when configured."""

from plantos.mom.store.engine import open_engine, resolve_url
from plantos.mom.store.migrate import upgrade
from plantos.mom.store.uow import SqlUnitOfWork

__all__ = ["SqlUnitOfWork", "open_engine", "resolve_url", "upgrade"]
