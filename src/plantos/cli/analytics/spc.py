"""``plantos analytics spc``: an SPC characteristic over a historian range, judged by the
same monitor as the stream (the monitor's run is in :mod:`plantos.cli.analytics.spc_run`)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from plantos.cli.analytics.ranges import (
    API_OPTION,
    CONFIG_OPTION,
    DATA_DIR_OPTION,
    TOKEN_OPTION,
    Format,
    number_text,
    time_range,
)
from plantos.cli.common import open_plant_historian, out, reported_errors
from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeparse import iso


class Chart(StrEnum):
    """The choices of :class:`plantos.analytics.spc.ChartKind`, written out here because
    ``--help`` lists them and the SPC package imports numpy; a unit test keeps the two
    equal."""

    i_mr = "i-mr"
    xbar_r = "xbar-r"
    xbar_s = "xbar-s"
    p = "p"
    np = "np"
    c = "c"
    u = "u"


def spc(
    tag: str = typer.Argument(
        ..., help="e.g. plant-a/heat-treat/furnace-line/furnace-1/zone_2_temperature"
    ),
    start: str = typer.Option(..., "--from", help="ISO 8601, 'now' or relative like -8h"),
    end: str = typer.Option("now", "--to", help="ISO 8601, 'now' or relative like -5m"),
    chart: Chart | None = typer.Option(None, help="Chart, if not as in analytics.spc"),
    window: str | None = typer.Option(None, help="Subgroups by time, e.g. 5m"),
    subgroup_size: int | None = typer.Option(None, help="Subgroups by count"),
    rolling: int | None = typer.Option(None, help="Rolling limits over this many subgroups"),
    baseline_from: str | None = typer.Option(None, help="Frozen limits from this baseline..."),
    baseline_to: str | None = typer.Option(None, help="...to this time (ISO 8601)"),
    rules: str | None = typer.Option(None, help="Comma-separated rule numbers, e.g. 1,2,5"),
    lsl: float | None = typer.Option(None, help="Lower specification limit (capability)"),
    usl: float | None = typer.Option(None, help="Upper specification limit (capability)"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
    api: str | None = API_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Run an SPC monitor over the tag's raw samples of a range, as the live stage does,
    and print its points, limits, capability and every rule violation. The characteristic
    is the plant file's (analytics.spc); options override it or stand in for it."""
    from plantos.cli.analytics import spc_run
    from plantos.model import load_plant

    overrides: dict[str, Any] = {
        "chart": chart and chart.value,
        "window": window,
        "subgroup_size": subgroup_size,
        "rules": None if rules is None else [int(r) for r in rules.split(",") if r.strip()],
    }
    limits: dict[str, Any] | None = None
    if rolling is not None:
        limits = {"rolling": rolling}
    if baseline_from is not None or baseline_to is not None:
        limits = {"baseline": {"from": baseline_from, "to": baseline_to, "frozen_by": "cli"}}
    specs = {"lsl": lsl, "usl": usl}
    with reported_errors(), ExitStack() as stack:
        if rolling is not None and "baseline" in (limits or {}):
            raise QueryError("give --rolling or --baseline-from/--baseline-to, not both")
        start_ns, end_ns = time_range(start, end)
        plant = load_plant(config)
        path = tag.strip("/")
        if path not in plant.tags:
            raise UnknownTagError(f"no tag {path!r} in the plant model")
        spec = spc_run.characteristic(plant, path, overrides, limits, specs)
        if api:
            reader = spc_run.server_reader(api, token, path)
        else:
            historian = open_plant_historian(plant, data_dir)
            stack.callback(historian.close)
            reader = spc_run.historian_reader(historian, path, data_dir)
        run = spc_run.run_spc(spec, reader, start_ns, end_ns)
        if not run.samples:
            raise QueryError(f"no samples of {path!r} from {iso(start_ns)} to {iso(end_ns)}")
        answer = spc_run.spc_answer(spec, run, start_ns, end_ns, plant.tags[path].unit)
    if fmt is Format.json:
        out.print_json(json.dumps(answer))
        return
    _print_spc(answer)


def _print_spc(answer: dict[str, Any]) -> None:
    unit = f" [{answer['unit']}]" if answer.get("unit") else ""
    grouping = f"window {answer['window']}" if answer["window"] else f"n={answer['subgroup_size']}"
    lim = answer["limits"]
    out.print(
        f"{escape(answer['tag'])}{escape(unit)}: {answer['chart']} chart, {grouping}, "
        f"{answer['from']} to {answer['to']}",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"{answer['samples']} samples, {answer['points']} points plotted, limits {lim['mode']}"
        + (f" over {lim['subgroups']} subgroups" if lim["mode"] == "rolling" else ""),
        highlight=False,
        soft_wrap=True,
    )
    latest = answer["latest_lines"]
    if latest:
        out.print(
            f"latest lines ({latest['time']}): centre {number_text(latest['center'])}, "
            f"LCL {number_text(latest['lcl'])}, UCL {number_text(latest['ucl'])}",
            highlight=False,
            soft_wrap=True,
        )
    cap = answer["capability"]
    if cap:
        out.print(
            "capability: "
            + ", ".join(f"{k} {number_text(cap[k])}" for k in ("cp", "cpk", "pp", "ppk"))
            + (f" ({cap['reason']})" if cap.get("reason") else ""),
            highlight=False,
            soft_wrap=True,
        )
    table = Table(title=f"{len(answer['violations'])} violation(s)")
    for name in ("time", "rule", "stat", "phase", "value", "centre", "LCL", "UCL"):
        left = name in ("time", "stat", "phase")
        table.add_column(name, justify="left" if left else "right", no_wrap=name == "time")
    for v in answer["violations"]:
        table.add_row(
            v["time"], str(v["rule"]), v["statistic"], v["phase"],
            *(number_text(v[k]) for k in ("value", "center", "lcl", "ucl")),
        )  # fmt: skip
    out.print(table)
    for s in answer["stuck_signals"]:
        out.print(
            f"stuck at {number_text(s['value'])} from {s['from']} to {s['to']}", highlight=False
        )
