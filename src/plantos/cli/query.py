"""``plantos query TAGPATH``: history of one tag, from the historian file or a running server.

A running PlantOS holds its DuckDB file exclusively; then ask that server with
``--api URL --token T`` (or set PLANTOS_TOKEN). Both paths use the same request
parser, so they accept the same words and answer alike.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from plantos.cli.common import (
    DEFAULT_DATA_DIR,
    api_get,
    open_plant_historian,
    out,
    reported_errors,
)
from plantos.core.clock import WallClock
from plantos.core.errors import UnknownTagError
from plantos.core.timeparse import iso


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def query(
    tag_path: str = typer.Argument(..., help="e.g. plant-a/machining/line-1/cnc-07/spindle_speed"),
    start: str = typer.Option("-1h", "--from", help="ISO 8601, 'now' or relative like -8h"),
    end: str = typer.Option("now", "--to", help="ISO 8601, 'now' or relative like -5m"),
    bucket: str | None = typer.Option(None, help="Bucket width, e.g. 1m; raw samples if absent"),
    agg: str | None = typer.Option(
        None, help="avg,min,max,sum,first,last,count,twa,changes (default avg; last for text)"
    ),
    limit: int = typer.Option(10_000, help="Raw samples at most"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json"),
    config: Path = typer.Option(
        Path("examples/demo-plant/plantos.yaml"), "--config", "-c", help="Plant file"
    ),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Data directory of the historian"),
    api: str | None = typer.Option(
        None, help="Ask a running server instead, e.g. http://127.0.0.1:8080"
    ),
    token: str | None = typer.Option(None, envvar="PLANTOS_TOKEN", help="API token for --api"),
) -> None:
    """Print the history of one tag."""
    words: dict[str, Any] = {
        "start": start,
        "end": end,
        "bucket": bucket,
        "agg": agg,
        "limit": limit,
    }
    with reported_errors():
        if api:
            answer = _ask_server(api, token, tag_path, words)
        else:
            answer = _ask_file(config, data_dir, tag_path, words)
    _print(answer, fmt)


def _ask_file(config: Path, data_dir: Path, tag_path: str, words: dict[str, Any]) -> dict[str, Any]:
    from plantos.historian.request import HistoryRequest
    from plantos.model import load_plant

    plant = load_plant(config)
    request = HistoryRequest.parse(now_ns=WallClock().now_ns(), **words)
    historian = open_plant_historian(plant, data_dir)
    try:
        tag_id = historian.tag_ids().get(tag_path)
        if tag_id is None:
            raise UnknownTagError(f"no tag {tag_path!r} in the historian at {data_dir}")
        tag = plant.tags.get(tag_path)
        dtype = tag.dtype if tag else "float"
        return {"tag": tag_path, "unit": tag.unit if tag else None, "type": dtype} | request.run(
            historian, tag_id, dtype
        )
    finally:
        historian.close()


def _ask_server(
    api: str, token: str | None, tag_path: str, words: dict[str, Any]
) -> dict[str, Any]:
    names = {"start": "from", "end": "to"}
    params = {names.get(k, k): v for k, v in words.items() if v is not None}
    answer: dict[str, Any] = api_get(api, token, f"tags/{tag_path}/samples", params)
    return answer


def _columns(answer: dict[str, Any]) -> list[str]:
    skip = {"t_ms", "tag", "unit", "type", "from", "to", "bucket", "source", "truncated"}
    return [k for k, v in answer.items() if k not in skip and isinstance(v, list)]


def _print(answer: dict[str, Any], fmt: Format) -> None:
    if fmt is Format.json:
        out.print_json(json.dumps(answer))
        return
    columns = _columns(answer)
    rows = [
        [iso(t * 1_000_000), *(answer[c][i] for c in columns)] for i, t in enumerate(answer["t_ms"])
    ]
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["time", *columns])
        writer.writerows(rows)
        print(buf.getvalue(), end="")
        return
    unit = f" [{answer['unit']}]" if answer.get("unit") else ""
    table = Table(title=escape(f"{answer['tag']}{unit}"), caption=f"from {answer['source']}")
    for name in ["time", *columns]:
        table.add_column(name, justify="left" if name in ("time", "quality") else "right")
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    out.print(table)
    if answer.get("truncated"):
        out.print("(truncated: raise --limit or use --bucket)")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(str(value))  # a device's text is data, never markup
