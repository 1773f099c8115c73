"""``plantos check FILE``: validate a plant file and say every problem with file and line."""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import out, reported_errors
from plantos.edge.config import connector_specs
from plantos.model import load_plant


def check(
    files: list[Path] = typer.Argument(..., help="plantos.yaml files to validate"),
) -> None:
    """Validate plant files; exit code 1 if any has a problem."""
    failed = False
    for file in files:
        try:
            with reported_errors():
                plant = load_plant(file)
                connectors = connector_specs(plant)
        except typer.Exit:
            failed = True
            continue
        out.print(
            f"[green]ok[/green] {file}: {len(plant.root.children)} sites, "
            f"{len(plant.assets)} assets, {len(plant.tags)} tags, {len(connectors)} connectors",
            highlight=False,
        )
    if failed:
        raise typer.Exit(1)
