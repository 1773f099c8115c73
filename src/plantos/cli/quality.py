"""``plantos quality``: nonconformances from a shell, read from the data directory's
operations database (so beside a running server too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from plantos.cli.analytics.ranges import CONFIG_OPTION, DATA_DIR_OPTION, Format
from plantos.cli.common import out, reported_errors
from plantos.core.clock import WallClock
from plantos.core.errors import QueryError
from plantos.core.timeparse import iso

app = typer.Typer(help="Quality: nonconformances and their dispositions.", no_args_is_help=True)


@app.command("ncs")
def nonconformances(
    asset: str = typer.Option("", "--asset", help="Only those at or below this path"),
    state: str = typer.Option("", "--state", help="open or closed (default: both)"),
    order: str = typer.Option("", "--order", help="Only those of this production order"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """The nonconformances, newest first: characteristic, order, hold, failed parts and
    disposition."""
    from plantos.model import load_plant
    from plantos.mom.quality.nonconformance import STATES
    from plantos.mom.quality.repository import NonconformanceRepository
    from plantos.mom.setup import open_service
    from plantos.security.scope import covers

    with reported_errors():
        if state and state not in STATES:
            raise QueryError(f"--state must be one of {', '.join(STATES)}, not {state!r}")
        plant = load_plant(config)
        if not data_dir.is_dir():
            raise QueryError(f"no data directory {data_dir}")
        engine = open_service(plant, data_dir=data_dir, clock=WallClock()).engine
        try:
            with engine.connect() as connection:
                found = NonconformanceRepository(connection).list(
                    states=[state] if state else None, order=order or None
                )
        finally:
            engine.dispose()
        rows: list[dict[str, Any]] = [
            {
                "id": nc.id, "asset": nc.asset, "characteristic": nc.characteristic,
                "trigger": nc.trigger, "order": nc.order, "state": nc.state, "held": nc.held,
                "quantity": nc.quantity, "occurrences": nc.occurrences,
                "opened": iso(nc.opened_ns), "disposition": nc.disposition,
                "scrapped": nc.scrapped,
            }
            for nc in found
            if covers(asset.strip("/"), nc.asset)
        ]  # fmt: skip
    if fmt is Format.json:
        out.print_json(json.dumps({"nonconformances": rows}))
        return
    table = Table(title="Nonconformances")
    for column in ("id", "characteristic", "finding", "order", "state", "hold", "parts", "opened"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["id"], r["characteristic"], r["trigger"].replace("_", " "), r["order"] or "-",
            r["disposition"] or r["state"], "held" if r["held"] else "-",
            str(r["quantity"]), r["opened"],
        )  # fmt: skip
    out.print(table)
