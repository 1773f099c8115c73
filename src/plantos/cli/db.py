"""``plantos db``: the operations database (orders, routings, plans, outbox).

``plantos db upgrade`` brings it to the schema of the installed PlantOS; the server does
the same at start, so this is for upgrading ahead of a restart or a shared PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import out, reported_errors
from plantos.core.errors import PlantOSError


def _exists(url: str) -> bool:
    """A SQLite file that is not there has no revision (and is not created by asking)."""
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).is_file()


app = typer.Typer(help="The operations database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    config: Path = typer.Option(..., "--config", "-c", help="The plantos.yaml"),
    data_dir: Path = typer.Option(Path("data"), help="Where the SQLite database lives"),
    database: str | None = typer.Option(None, help="Override mom.database of the plant file"),
) -> None:
    """Apply every pending migration (in one transaction)."""
    import sqlalchemy as sa

    from plantos.model import load_plant
    from plantos.mom.config import mom_config
    from plantos.mom.store import open_engine, resolve_url, upgrade
    from plantos.mom.store.migrate import current_revision

    with reported_errors():
        url = resolve_url(database or mom_config(load_plant(config)).database, data_dir=data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        engine = open_engine(url)
        try:
            before = current_revision(engine)
            after = upgrade(engine)
        except sa.exc.OperationalError as exc:
            raise PlantOSError(f"cannot upgrade the operations database: {exc.orig}") from None
        finally:
            engine.dispose()
    out.print(f"operations database at revision {after} (was {before or 'empty'})", highlight=False)


@app.command("status")
def status_command(
    config: Path = typer.Option(..., "--config", "-c", help="The plantos.yaml"),
    data_dir: Path = typer.Option(Path("data"), help="Where the SQLite database lives"),
    database: str | None = typer.Option(None, help="Override mom.database of the plant file"),
) -> None:
    """Say the database's revision and the newest this PlantOS knows; exit 1 if behind."""
    import sqlalchemy as sa

    from plantos.model import load_plant
    from plantos.mom.config import mom_config
    from plantos.mom.store import open_engine, resolve_url
    from plantos.mom.store.migrate import current_revision, head_revision

    with reported_errors():
        url = resolve_url(database or mom_config(load_plant(config)).database, data_dir=data_dir)
        engine = open_engine(url)
        try:
            current = current_revision(engine) if _exists(url) else None
        except sa.exc.OperationalError as exc:
            raise PlantOSError(f"cannot read the operations database: {exc.orig}") from None
        finally:
            engine.dispose()
    head = head_revision()
    out.print(f"revision {current or 'empty'}, newest {head}", highlight=False)
    if current != head:
        raise typer.Exit(1)
