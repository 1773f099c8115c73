"""``plantos lots``: lots listed and shown from the data directory's operations database
(so beside a running server too); held and released on a running PlantOS, which checks
the token's role and audits."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from plantos.cli.analytics.ranges import CONFIG_OPTION, DATA_DIR_OPTION, Format
from plantos.cli.common import api_call, out, reported_errors
from plantos.core.clock import WallClock
from plantos.core.errors import QueryError
from plantos.core.timeparse import iso

if TYPE_CHECKING:
    from plantos.mom.domain.lot import Lot
    from plantos.mom.store.lots import LotRepository

app = typer.Typer(
    help="Lots: listed and shown from the data directory, held and released on a running PlantOS.",
    no_args_is_help=True,
)

API = typer.Option("http://127.0.0.1:8080", help="The running PlantOS")
TOKEN = typer.Option(None, help="API token of a role with quality:write (default: PLANTOS_TOKEN)")
LOT_ID = typer.Argument(..., help="The lot's code")
REASON = typer.Option(..., "--reason", help="Why, for the audit trail")


@app.command("list")
def lot_list(
    asset: str = typer.Option("", "--asset", help="Only those at or below this path"),
    order: str = typer.Option("", "--order", help="Only those of this production order"),
    state: str = typer.Option("", "--state", help="open, on_hold, released, closed or scrapped"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """The lots, newest first: order, asset, state and parts."""
    from plantos.mom.domain.lot import STATES
    from plantos.security.scope import covers

    with reported_errors():
        if state and state not in STATES:
            raise QueryError(f"--state must be one of {', '.join(STATES)}, not {state!r}")
        found = _read(config, data_dir, lambda repo: repo.list(
            order=order or None, states=[state] if state else None))  # fmt: skip
        rows = [_row(lot) for lot in found if covers(asset.strip("/"), lot.asset)]
    if fmt is Format.json:
        out.print_json(json.dumps({"lots": rows}))
        return
    table = Table(title="Lots")
    for column in ("lot", "order", "asset", "state", "good", "scrap", "opened", "closed"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["id"], r["order"] or "-", r["asset"], r["state"].replace("_", " "),
            str(r["good"]), str(r["scrap"]), r["opened"], r["closed"] or "-",
        )  # fmt: skip
    out.print(table)


@app.command("show")
def lot_show(
    lot_id: str = LOT_ID,
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """One lot with its history (who moved it, when, why), as JSON."""
    with reported_errors():
        (lot,) = _read(config, data_dir, lambda repo: [repo.get(lot_id)])
        row = _row(lot)
    out.print_json(json.dumps({**row, "reason": lot.reason, "history": lot.history}))


@app.command("hold")
def lot_hold(lot_id: str = LOT_ID, reason: str = REASON, api: str = API,
             token: str | None = TOKEN) -> None:  # fmt: skip
    """Put a lot on hold; refused when it is on hold already or scrapped."""
    _move(api, token, lot_id, "hold", reason)


@app.command("release")
def lot_release(lot_id: str = LOT_ID, reason: str = REASON, api: str = API,
                token: str | None = TOKEN) -> None:  # fmt: skip
    """End a lot's hold; refused when it is not on hold."""
    _move(api, token, lot_id, "release", reason)


def _move(api: str, token: str | None, lot_id: str, move: str, reason: str) -> None:
    from urllib.parse import quote

    with reported_errors():
        lot = api_call(
            "POST", api, token, f"quality/lots/{quote(lot_id, safe='')}/{move}",
            body={"reason": reason},
        ).json()  # fmt: skip
    typer.echo(f"lot {lot['id']} {lot['state'].replace('_', ' ')}")


def _read(
    config: Path, data_dir: Path, query: Callable[[LotRepository], Sequence[Lot]]
) -> list[Lot]:
    """``query(repository)`` on the data directory's operations database, its lots still
    filling counted now."""
    from plantos.model import load_plant
    from plantos.mom.quality.lots import counted
    from plantos.mom.quality.uow import QualityUnitOfWork
    from plantos.mom.setup import open_service

    plant = load_plant(config)
    if not data_dir.is_dir():
        raise QueryError(f"no data directory {data_dir}")
    service = open_service(plant, data_dir=data_dir, clock=WallClock())
    try:
        with QualityUnitOfWork(service.engine, clock=WallClock(), read_only=True) as uow:
            return [counted(uow, lot) for lot in query(uow.lots)]
    finally:
        service.engine.dispose()


def _row(lot: Lot) -> dict[str, Any]:
    return {
        "id": lot.id, "order": lot.order, "product": lot.product, "asset": lot.asset,
        "state": lot.state, "good": lot.good, "scrap": lot.scrap,
        "opened": iso(lot.opened_ns), "closed": iso(lot.closed_ns) if lot.closed_ns else None,
    }  # fmt: skip
