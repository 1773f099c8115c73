"""``plantos check FILE...``: validate plant files and edge gateway files, and say every
problem with file and line."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from plantos.analytics.config import analytics_spec
from plantos.cli.common import out, reported_errors
from plantos.edge.config import connector_specs
from plantos.edge.gateway.config import load_edge_config
from plantos.model import load_plant
from plantos.model.loader import read_config_text
from plantos.security.zones import zoning

_EDGE_FILE = re.compile(r"^plantos-edge\s*:", re.MULTILINE)


def check(
    files: list[Path] = typer.Argument(..., help="plantos.yaml or edge.yaml files to validate"),
) -> None:
    """Validate plant and edge files; exit code 1 if any has a problem."""
    failed = False
    for file in files:
        try:
            with reported_errors():
                summary = _check_one(file)
        except typer.Exit:
            failed = True
            continue
        out.print(f"[green]ok[/green] {file}: {summary}", highlight=False)
    if failed:
        raise typer.Exit(1)


def _check_one(file: Path) -> str:
    if _EDGE_FILE.search(read_config_text(file)):
        edge = load_edge_config(file)
        up = edge.spec.upstream
        return (
            f"edge gateway {up.group}/{up.edge_node}, {len(edge.connectors)} connectors "
            f"-> {up.broker}"
        )
    plant = load_plant(file)
    connectors = connector_specs(plant)
    analytics, _oee = analytics_spec(plant)
    zoning(plant)  # zones, conduits and writable setpoints
    return (
        f"{len(plant.root.children)} sites, {len(plant.assets)} assets, "
        f"{len(plant.tags)} tags, {len(connectors)} connectors, "
        f"{len(analytics.spc)} SPC characteristics"
    )
