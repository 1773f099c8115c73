"""``plantos orders``: production orders from a shell, on the operations database directly.

Creating, importing and changing state here goes through the same handlers and
transaction as the API. A running server does not see these changes on its bus (it
finds them at its next read): use the API while a server runs if the floor must react
at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from plantos.cli.common import out, reported_errors
from plantos.core.clock import WallClock
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import parse_time_ns

if TYPE_CHECKING:
    from plantos.mom.service import MomService

app = typer.Typer(help="Production orders.", no_args_is_help=True)
CONFIG = typer.Option(..., "--config", "-c", help="The plantos.yaml")
DATA_DIR = typer.Option(Path("data"), help="Where the SQLite database lives")


def _service(config: Path, data_dir: Path) -> MomService:
    from plantos.model import load_plant
    from plantos.mom.setup import open_service

    data_dir.mkdir(parents=True, exist_ok=True)
    return open_service(load_plant(config), data_dir=data_dir, clock=WallClock())


@app.command("list")
def list_orders(
    config: Path = CONFIG,
    data_dir: Path = DATA_DIR,
    state: list[str] = typer.Option([], help="Only these states (repeat)"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table"),
) -> None:
    """Orders by due date with their counts and state."""
    from plantos.mom.views import order_view

    with reported_errors():
        mom = _service(config, data_dir)
        _, routings = mom.master()
        views = [order_view(o, routings.get(o.routing)) for o in mom.orders(states=state or None)]
    if as_json:
        out.print_json(json.dumps(views))
        return
    table = Table("id", "product", "state", "good/qty", "scrap", "due", "asset")
    for v in views:
        good = f"{v['good']}/{v['quantity']}"
        table.add_row(
            v["id"], v["product"], v["state"], good, str(v["scrap"]), v["due"], v["asset"] or ""
        )
    out.print(table)


@app.command("create")
def create(
    order_id: str = typer.Argument(..., help="The order id, e.g. PO-1042"),
    product: str = typer.Option(..., help="A product of the master data"),
    quantity: int = typer.Option(..., help="Good units to make"),
    due: str = typer.Option(..., help="ISO 8601 due date (UTC when no offset)"),
    priority: int = typer.Option(1, help="Weight of its lateness; 3 or more replans at once"),
    config: Path = CONFIG,
    data_dir: Path = DATA_DIR,
) -> None:
    """Release one order."""
    from plantos.mom.domain.commands import NewOrder

    with reported_errors():
        mom = _service(config, data_dir)
        now = mom.clock.now_ns()
        mom.create_orders(
            [NewOrder(order_id, product, quantity, parse_time_ns(due, now_ns=now), None, priority)]
        )
    out.print(f"released {order_id}", highlight=False)


@app.command("import")
def import_csv(
    file: Path = typer.Argument(
        ..., help="CSV with columns id, product, quantity, due[, release, priority, counting]"
    ),
    config: Path = CONFIG,
    data_dir: Path = DATA_DIR,
) -> None:
    """Release every order of a CSV file, all or none."""
    from plantos.mom.csv_import import parse_orders_csv

    with reported_errors():
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PlantOSError(f"cannot read {file}: {exc}") from None
        mom = _service(config, data_dir)
        created, _ = mom.create_orders(parse_orders_csv(text, now_ns=mom.clock.now_ns()))
    out.print(f"released {len(created)} orders from {file}", highlight=False)


@app.command("set-state")
def set_state(
    order_id: str = typer.Argument(...),
    state: str = typer.Argument(
        ..., help="released, scheduled, running, paused, completed, cancelled"
    ),
    asset: str | None = typer.Option(None, help="Where it runs (when it starts running)"),
    config: Path = CONFIG,
    data_dir: Path = DATA_DIR,
) -> None:
    """Move an order to another state (refused with the allowed moves)."""
    with reported_errors():
        _service(config, data_dir).transition(order_id, state, asset=asset)
    out.print(f"{order_id} is {state}", highlight=False)


@app.command("master")
def master(
    config: Path = CONFIG,
    data_dir: Path = DATA_DIR,
    reload: bool = typer.Option(False, "--reload", help="Replace stored master data by the file's"),
) -> None:
    """Show the stored products and routings, or reload them from the master data file."""
    from plantos.model import load_plant
    from plantos.mom.config import mom_config
    from plantos.mom.masterdata import load_master_data

    with reported_errors():
        plant = load_plant(config)
        mom = _service(config, data_dir)
        if reload:
            file = mom_config(plant).master_data
            if file is None:
                raise PlantOSError(
                    "the plant has no master data file (mom.master_data or mom.yaml)"
                )
            mom.seed_master_data(load_master_data(file, assets=plant.assets), replace=True)
        products, routings = mom.master()
    for p in products.values():
        steps = routings[p.routing].steps
        ops = " -> ".join(f"{s.name} [{', '.join(o.asset for o in s.options)}]" for s in steps)
        out.print(f"{p.id} ({p.name}): {ops}", highlight=False)


@app.command("history")
def history(
    order_id: str = typer.Argument(..., metavar="ORDER", help="The order id, e.g. 4711"),
    api: str = typer.Option("http://127.0.0.1:8080", help="The running PlantOS"),
    token: str | None = typer.Option(
        None, help="API token (default: the PLANTOS_TOKEN environment variable)"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table"),
) -> None:
    """What the ERP did to an order, oldest first: when, from which source, and each
    changed field (old -> new). Asks the running server."""
    from urllib.parse import quote

    from plantos.cli.common import api_get

    with reported_errors():
        answer = api_get(api, token, f"orders/{quote(order_id, safe='')}/history", {})
    if as_json:
        out.print_json(json.dumps(answer))
        return
    if not answer["history"]:
        out.print(f"{order_id} has no ERP history (released in PlantOS)", highlight=False)
        return
    table = Table("when", "source", "action", "changes", title=f"order {order_id}")
    for entry in answer["history"]:
        changes = "\n".join(
            f"{name}: {_shown(c['old'])} -> {_shown(c['new'])}"
            for name, c in entry["changes"].items()
        )
        table.add_row(entry["at"], entry["source"], entry["action"], changes)
    out.print(table)


def _shown(value: object) -> str:
    return "-" if value is None else str(value)
