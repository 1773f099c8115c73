"""``plantos check FILE...``: validate plant files and edge gateway files, and say every
problem with file and line."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from plantos.cli.common import out, reported_errors
from plantos.core.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from plantos.analytics.oee.config import OeeSpec
    from plantos.model import Plant

_EDGE_FILE = re.compile(r"^plantos-edge\s*:", re.MULTILINE)


def check(
    files: list[Path] = typer.Argument(..., help="plantos.yaml or edge.yaml files to validate"),
) -> None:
    """Validate plant and edge files; exit code 1 if any has a problem."""
    failed = False
    for file in files:
        try:
            with reported_errors():
                summary, warnings = _check_one(file)
        except typer.Exit:
            failed = True
            continue
        for warning in warnings:
            out.print(f"[yellow]warning[/yellow] {warning}", highlight=False, soft_wrap=True)
        out.print(f"[green]ok[/green] {file}: {summary}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _check_one(file: Path) -> tuple[str, list[ConfigProblem]]:
    """What the file sets up in one line, and its warnings (problems raise)."""
    from pydantic import BaseModel

    from plantos.analytics.config import analytics_spec
    from plantos.edge.config import connector_specs, type_warnings
    from plantos.edge.gateway.config import load_edge_config
    from plantos.model import load_plant
    from plantos.model.loader import read_config_text
    from plantos.mom.config import mom_config
    from plantos.mom.masterdata import load_master_data
    from plantos.security.zones import zoning

    if _EDGE_FILE.search(read_config_text(file)):
        edge = load_edge_config(file)
        up = edge.spec.upstream
        return (
            f"edge gateway {up.group}/{up.edge_node}, {len(edge.connectors)} connectors "
            f"-> {up.broker}"
        ), []
    plant = load_plant(file)
    problems: list[ConfigProblem] = []
    connectors: list[BaseModel] = []
    try:
        connectors = connector_specs(plant)
    except ConfigError as exc:
        problems += exc.problems
    spc = 0
    oee: OeeSpec | None = None
    try:
        analytics, oee = analytics_spec(plant)
        spc = len(analytics.spc)
    except ConfigError as exc:
        problems += exc.problems
    master = None
    try:
        master_file = mom_config(plant).master_data
        master = load_master_data(master_file, assets=plant.assets) if master_file else None
    except ConfigError as exc:
        problems += exc.problems
    try:
        zoning(plant)  # zones, conduits and writable setpoints
    except ConfigError as exc:
        problems += exc.problems
    problems += _operations_problems(plant, oee)
    if problems:  # every section's problems together, top to bottom of the file
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    summary = (
        f"{len(plant.root.children)} sites, {len(plant.assets)} assets, "
        f"{len(plant.tags)} tags, {_connectors(plant, len(connectors))}, "
        f"{spc} SPC characteristics"
        + (f", {len(master.products)} products, {len(master.routings)} routings" if master else "")
    )
    return summary, type_warnings(plant, connectors)


def _operations_problems(plant: Plant, oee: OeeSpec | None) -> list[ConfigProblem]:
    """Every mistake of the notifications, quality, entry (checklists and scrap reasons)
    and maintenance sections, the preventive plans' included. A plan's meter is checked
    against the assets' machine states, so only once the analytics section is right."""
    from plantos.analytics.meters import machine_states
    from plantos.integration.notify.config import notification_config
    from plantos.mom.entry.config import entry_config
    from plantos.mom.maintenance.plan_config import checked_plans, plan_sections
    from plantos.mom.maintenance.policy import read_maintenance
    from plantos.mom.quality.policy import quality_policy

    problems: list[ConfigProblem] = []
    for read in (notification_config, quality_policy, entry_config):
        try:
            read(plant)
        except ConfigError as exc:
            problems += exc.problems
    problems += read_maintenance(plant)[1]
    if oee is not None:
        plans = plan_sections(plant)[0]  # their typing problems are read_maintenance's
        problems += checked_plans(plans, plant, partial(machine_states, plant, oee))[1]
    return problems


def _connectors(plant: Plant, configured: int) -> str:
    """How many connectors the platform builds: those configured, and for simulated
    assets those ``plantos demo`` adds to read its protocol devices."""
    from plantos.demo.devices.layout import DeviceLayout

    demo = len(DeviceLayout.of(plant).protocols())
    text = f"{configured} connector{'s' * (configured != 1)}"
    if demo:
        text += f" (+{demo} for the simulated assets under plantos demo)"
    return text
