"""``plantos deadletter list|replay``: the batches the historian refused, and their way back.

``list`` reads the dead letters beside a running server too. ``replay`` writes them to
the historian file, which only one process may hold: stop the server first, or use
``POST /api/v1/deadletters/replay`` on the running one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from plantos.cli.common import DEFAULT_DATA_DIR, open_plant_historian, out, reported_errors
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import iso

if TYPE_CHECKING:
    from plantos.historian.deadletter import DeadLetterStore

app = typer.Typer(
    help="Batches the historian refused (dead letters): list them, write them again.",
    no_args_is_help=True,
)

DATA_DIR_HELP = "Data directory of the platform"


def _store(data_dir: Path) -> DeadLetterStore:
    from plantos.historian.deadletter import DEAD_LETTERS_FILE, DeadLetterStore

    path = data_dir / DEAD_LETTERS_FILE
    if not path.is_file():
        raise PlantOSError(f"no dead letters in {data_dir} (no {DEAD_LETTERS_FILE} there)")
    return DeadLetterStore(path)


@app.command("list")
def list_letters(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help=DATA_DIR_HELP),
) -> None:
    """Every dead letter, oldest first, with why the historian refused it."""
    with reported_errors():
        letters = _store(data_dir).list()
    if not letters:
        out.print("no dead letters")
        return
    table = Table("id", "at", "samples", "first", "last", "replays", "reason")
    for x in letters:
        table.add_row(
            str(x.id),
            iso(x.at_ns),
            str(x.samples),
            iso(x.first_ts) if x.first_ts is not None else "",
            iso(x.last_ts) if x.last_ts is not None else "",
            str(x.replay_attempts),
            escape(x.reason),
        )
    out.print(table)


@app.command("replay")
def replay(
    config: Path = typer.Option(..., "--config", "-c", help="The plant file of the platform"),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help=DATA_DIR_HELP),
) -> None:
    """Write every dead letter to the historian (server stopped); those written are removed,
    those refused again stay with the new reason."""
    from plantos.model import load_plant

    with reported_errors():
        store = _store(data_dir)
        historian = open_plant_historian(load_plant(config), data_dir, writable=True)
        try:
            done = store.replay(historian.write)
        finally:
            historian.close()
    out.print(
        f"replayed {done['replayed']} dead letter(s), {done['samples']} samples; "
        f"{done['refused']} refused again",
        highlight=False,
    )
    if done["refused"]:
        raise typer.Exit(1)
