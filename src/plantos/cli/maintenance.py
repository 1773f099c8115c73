"""``plantos maintenance``: maintenance figures from a shell, read from the data directory
(the historian read-only, so beside a running server too); preventive plans disabled,
enabled and deleted on a running PlantOS, which checks the token's role and audits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from plantos.cli.analytics.ranges import CONFIG_OPTION, DATA_DIR_OPTION, Format
from plantos.cli.common import api_call, open_plant_historian, out, reported_errors
from plantos.core.clock import WallClock
from plantos.core.errors import QueryError
from plantos.core.timeparse import parse_time_ns

if TYPE_CHECKING:
    from plantos.model.plant import Plant
    from plantos.mom.maintenance.workorder import WorkOrder

app = typer.Typer(
    help="Maintenance: reliability of assets, preventive plans.", no_args_is_help=True
)

plans_app = typer.Typer(
    help="Preventive plans: listed from the data directory (without a sub-command), "
    "disabled, enabled or deleted on a running PlantOS."
)
app.add_typer(plans_app, name="plans")

MAX_RANGE_NS = 366 * 24 * 3600 * 1_000_000_000
API = typer.Option("http://127.0.0.1:8080", help="The running PlantOS")
TOKEN = typer.Option(
    None, help="API token of a role with workorders:write (default: PLANTOS_TOKEN)"
)
PLAN_ID = typer.Argument(..., help="The plan's id")


@app.command("reliability")
def reliability(
    asset: str = typer.Option(..., "--asset", help="The asset's path"),
    start: str = typer.Option(..., "--from", help="ISO 8601, 'now' or relative like -30d"),
    end: str = typer.Option("now", "--to", help="ISO 8601, 'now' or relative like -1h"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """MTBF, MTTR and availability of an asset over a range, from its machine states in
    the historian, per failure mode of the work orders that covered its failures."""
    from plantos.analytics.config import analytics_spec
    from plantos.analytics.reliability import asset_reliability, reliability_answer
    from plantos.model import load_plant

    with reported_errors():
        now = WallClock().now_ns()
        try:
            start_ns, end_ns = parse_time_ns(start, now_ns=now), parse_time_ns(end, now_ns=now)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        if not 0 < end_ns - start_ns <= MAX_RANGE_NS:
            raise QueryError("--from must be before --to, at most 366 days apart")
        plant = load_plant(config)
        _, oee_config = analytics_spec(plant)
        orders = _work_orders(plant, data_dir, asset)
        historian = open_plant_historian(plant, data_dir)
        try:
            figures = asset_reliability(
                historian, plant, oee_config, asset, start_ns, end_ns, orders=orders
            )
        finally:
            historian.close()
        answer = reliability_answer(asset, figures)
    if fmt is Format.json:
        out.print_json(json.dumps(answer))
        return
    out.print(_table(answer))


def _work_orders(plant: Plant, data_dir: Path, asset: str) -> list[WorkOrder]:
    """The asset's work orders from the plant's operations database."""
    from plantos.mom.maintenance.policy import maintenance_policy
    from plantos.mom.maintenance.service import MaintenanceService
    from plantos.mom.setup import open_service

    if not data_dir.is_dir():
        raise QueryError(f"no data directory {data_dir}")
    engine = open_service(plant, data_dir=data_dir, clock=WallClock()).engine
    try:
        service = MaintenanceService(
            engine,
            clock=WallClock(),
            catalogue=maintenance_policy(plant).catalogue,
            asset_types={path: a.type for path, a in plant.assets.items()},
        )
        return service.list(asset=asset)
    finally:
        engine.dispose()


@plans_app.callback(invoke_without_command=True)
def plans(
    ctx: typer.Context,
    asset: str = typer.Option("", "--asset", help="Only the plans at or below this path"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """The preventive plans with their next due date or meter reading and open work
    order, as the running platform last evaluated them (read from the data directory)."""
    if ctx.invoked_subcommand is not None:
        return
    from plantos.loops.preventive import PlanView
    from plantos.model import load_plant
    from plantos.mom.maintenance.plan_store import PlanRepository
    from plantos.mom.setup import open_service
    from plantos.security.scope import covers

    with reported_errors():
        plant = load_plant(config)
        if not data_dir.is_dir():
            raise QueryError(f"no data directory {data_dir}")
        engine = open_service(plant, data_dir=data_dir, clock=WallClock()).engine
        try:
            with engine.connect() as connection:
                found = PlanRepository(connection).list()
        finally:
            engine.dispose()
        views = [PlanView(p, s).to_dict() for p, s in found if covers(asset.strip("/"), p.asset)]
    if fmt is Format.json:
        out.print_json(json.dumps({"plans": views}))
        return
    table = Table(title="Preventive plans")
    columns = ("plan", "asset", "every", "next due", "reading", "work order", "last done")
    for column in (*columns, "status"):
        table.add_column(column)
    for v in views:
        unit = f" {v['unit']}" if v["unit"] else ""
        every = f"{v['every']:g}{unit}" if v["kind"] == "meter" else f"{v['every'] / 86400:g} d"
        reading = "-" if v["reading"] is None else f"{v['reading']:.1f}{unit}"
        due = v["next_due"] if v["kind"] == "calendar" else f"{v['next_due']:g}{unit}"
        table.add_row(
            v["id"], v["asset"], f"{every} {v['interval']}", str(due), reading,
            v["work_order"] or "-", v["last_done"] or "-",
            "enabled" if v["enabled"] else f"disabled by {v['disabled_by']}",
        )  # fmt: skip
    out.print(table)


@plans_app.command("disable")
def disable(plan_id: str = PLAN_ID, api: str = API, token: str | None = TOKEN) -> None:
    """Stop a plan opening work orders (one already open stays open); it keeps counting."""
    _plan_action(api, token, "POST", f"{plan_id}/disable", "disabled")


@plans_app.command("enable")
def enable(plan_id: str = PLAN_ID, api: str = API, token: str | None = TOKEN) -> None:
    """Let a disabled plan open work orders again (at once if it fell due meanwhile)."""
    _plan_action(api, token, "POST", f"{plan_id}/enable", "enabled")


@plans_app.command("delete")
def delete(plan_id: str = PLAN_ID, api: str = API, token: str | None = TOKEN) -> None:
    """Delete a plan made over the API; its work orders stay. Refused while its work
    order is open, and for a plan of the plant file (remove it there)."""
    _plan_action(api, token, "DELETE", plan_id, "deleted")


def _plan_action(api: str, token: str | None, method: str, route: str, done: str) -> None:
    with reported_errors():
        plan = api_call(method, api, token, f"maintenance/plans/{route}").json()
    typer.echo(f"plan {plan['id']} on {plan['asset']} {done}")


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.2f} h"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _table(answer: dict[str, Any]) -> Table:
    table = Table(title=f"{answer['asset']}  {answer['from']} to {answer['to']}")
    for column in ("failure mode", "failures", "MTBF", "MTTR", "availability", "down"):
        table.add_column(column)
    rows = [("all", answer), *answer["failure_modes"].items()]
    for name, f in rows:
        table.add_row(
            name,
            str(f["failures"]),
            _hours(f["mtbf_s"]),
            _hours(f["mttr_s"]),
            _ratio(f["availability"]),
            _hours(f["down_s"]),
        )
    table.caption = (
        f"up {_hours(answer['up_s'])}, uptime share {_ratio(answer['uptime_share'])}, "
        f"planned {_hours(answer['planned_s'])}, unknown {_hours(answer['unknown_s'])}"
    )
    return table
