"""Alembic migrations of the operations database (run through :mod:`plantos.mom.store.migrate`)."""
