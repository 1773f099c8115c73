"""``plantos analytics oee``: OEE of a node over a historian range, recomputed with the
live stage's classes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from plantos.cli.analytics.ranges import (
    API_OPTION,
    CONFIG_OPTION,
    DATA_DIR_OPTION,
    TOKEN_OPTION,
    By,
    Format,
    ratio_text,
    time_range,
)
from plantos.cli.common import api_get, open_plant_historian, out, reported_errors
from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeparse import iso
from plantos.core.timeunits import NS_PER_S as NS

if TYPE_CHECKING:
    from plantos.analytics.oee import OeeReport, Period
    from plantos.model.plant import Node, Plant


def oee(
    path: str = typer.Argument("", help="A site, area, line or asset (default: the enterprise)"),
    start: str = typer.Option(..., "--from", help="ISO 8601, 'now' or relative like -8h"),
    end: str = typer.Option("now", "--to", help="ISO 8601, 'now' or relative like -5m"),
    by: By | None = typer.Option(None, "--by", help="Split the range into shifts or days"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
    api: str | None = API_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """OEE of a node and its children over a range, recomputed from the historian's raw
    samples by the same code as the live figures (so a past shift reads as it did live)."""
    from plantos.analytics.oee import Period
    from plantos.model import load_plant

    with reported_errors():
        start_ns, end_ns = time_range(start, end)
        periods = [Period(f"{iso(start_ns)} to {iso(end_ns)}", start_ns, end_ns)]
        if api and by is None:  # the server knows the plant: no plant file needed
            answers = [_oee_from_server(api, token, path, periods[0])]
        else:
            plant = load_plant(config)
            node = _node(plant, path)
            if by is not None:
                periods = _periods(plant, node, by, start_ns, end_ns)
            if not periods:
                raise QueryError(f"no {by} of {node.path!r} overlaps the range")
            if api:
                answers = [_oee_from_server(api, token, node.path, p) for p in periods]
            else:
                answers = _oee_from_file(plant, data_dir, node, periods)
        if answers[0]["totals"] is None:
            raise QueryError(f"no asset of {answers[0]['path']!r} has OEE (analytics.oee)")
        if all(_no_data(a) for a in answers):
            raise QueryError(
                f"no machine data for {answers[0]['path']!r} from {iso(start_ns)} to {iso(end_ns)}"
            )
    if by is None:
        result: dict[str, Any] = answers[0]
    else:
        named = [{"period": p.name} | a for p, a in zip(periods, answers, strict=True)]
        result = {"path": answers[0]["path"], "by": by.value, "periods": named}
    if fmt is Format.json:
        out.print_json(json.dumps(result))
        return
    for period, answer in zip(periods, answers, strict=True):
        out.print(_oee_table(answer, period.name))


def _oee_from_server(api: str, token: str | None, path: str, period: Period) -> dict[str, Any]:
    """The server's ``GET /api/v1/oee`` for one period: its historian, its stop reasons."""
    params = {"path": path, "from": iso(period.start_ns), "to": iso(period.end_ns)}
    answer: dict[str, Any] = api_get(api, token, "oee", params)
    return answer


def _node(plant: Plant, path: str) -> Node:
    wanted = path.strip("/") or plant.root.path
    for node in plant.iter_nodes():
        if node.path == wanted:
            return node
    raise UnknownTagError(f"no site, area, line or asset {wanted!r} in the plant model")


def _periods(plant: Plant, node: Node, by: By, start_ns: int, end_ns: int) -> list[Period]:
    """The shifts or days of the node's calendar; one calendar only, since the shifts of
    assets on different calendars do not line up into one table."""
    from plantos.analytics.oee import day_periods, shift_periods

    assets = [n.path for n in _walk(node) if n.level == "asset"]
    names = {plant.assets[a].calendar for a in assets}
    if len(names) > 1:
        raise QueryError(
            f"the assets of {node.path!r} follow different calendars "
            f"({', '.join(sorted(str(n) for n in names))}): pick a site or line"
        )
    calendar = plant.calendar_for(assets[0]) if assets else None
    if by is By.day:
        return day_periods(calendar, start_ns, end_ns)
    if calendar is None:
        raise QueryError(f"{node.path!r} has no shift calendar: use --by day")
    return shift_periods(calendar, start_ns, end_ns)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _oee_from_file(
    plant: Plant, data_dir: Path, node: Node, periods: list[Period]
) -> list[dict[str, Any]]:
    """Each period's answer, shaped as ``GET /api/v1/oee`` answers it, with the stop
    reasons the server keeps in the same data directory (read-only), as the server would."""
    from plantos.analytics.config import analytics_spec
    from plantos.analytics.oee import historical_report
    from plantos.analytics.oee.reason_store import REASONS_FILE, read_reasons

    _, oee_config = analytics_spec(plant)
    reasons = read_reasons(data_dir / REASONS_FILE)
    historian = open_plant_historian(plant, data_dir)
    try:
        reports = [
            historical_report(historian, plant, oee_config, p.start_ns, p.end_ns, reasons=reasons)
            for p in periods
        ]
    finally:
        historian.close()
    return [_oee_answer(node, r) for r in reports]


def _oee_answer(node: Node, report: OeeReport) -> dict[str, Any]:
    from plantos.analytics.oee import loss_pareto, reason_pareto

    def entry(path: str) -> dict[str, Any]:
        totals = report.nodes.get(path) or report.assets.get(path)
        if totals is None:
            return {"path": path, "totals": None, "losses_s": [], "reasons_s": []}
        return {
            "path": path,
            "totals": totals.to_dict(),
            "losses_s": [[k, ns / NS] for k, ns in loss_pareto(totals)],
            "reasons_s": [[k, ns / NS] for k, ns in reason_pareto(totals)],
        }

    return {
        "current_shift": False,
        "from": iso(report.start_ns),
        "to": iso(report.end_ns),
        **entry(node.path),
        "level": node.level,
        "name": node.name,
        "children": [entry(c.path) | {"name": c.name, "level": c.level} for c in node.children],
    }


def _no_data(answer: dict[str, Any]) -> bool:
    """Nothing ran, nothing was counted and every planned second is of unknown state."""
    t = answer["totals"]
    return bool(t["run_s"] == 0 and t["total"] == 0 and t["unknown_s"] >= t["planned_s"])


def _oee_table(answer: dict[str, Any], period: str) -> Table:
    table = Table(title=escape(f"OEE of {answer['path']}: {period}"))
    for name in ("node", "A", "P", "Q", "OEE", "good/total", "top losses"):
        table.add_column(name, justify="left" if name in ("node", "top losses") else "right")
    for row in [answer, *answer["children"]]:
        t = row["totals"]
        if t is None:
            table.add_row(escape(row["path"]), *["-"] * 6)
            continue
        losses = ", ".join(f"{k} {_duration(s)}" for k, s in row["losses_s"][:3]) or "-"
        table.add_row(
            escape(row["path"]),
            ratio_text(t["availability"]),
            ratio_text(t["performance"]),
            ratio_text(t["quality"]),
            ratio_text(t["oee"]),
            f"{t['good']}/{t['total']}",
            escape(losses),
        )
    return table


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
