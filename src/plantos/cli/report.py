"""``plantos report shift|daily``: a site's shift report or daily production report as
JSON, CSV or XLSX, to stdout or a file (its format then from its suffix).

Offline it reads the data directory (historian and stop reasons read-only, the
operations database); with ``--api`` it asks a running server, which holds the
historian file while it runs.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from plantos.cli.analytics.ranges import API_OPTION, CONFIG_OPTION, DATA_DIR_OPTION, TOKEN_OPTION
from plantos.cli.common import api_call, open_plant_historian, reported_errors
from plantos.core.clock import WallClock
from plantos.core.errors import PlantOSError

if TYPE_CHECKING:
    from plantos.reports import ReportFormat, ReportRange


class Format(StrEnum):
    """The choices of :class:`plantos.reports.ReportFormat`, written out here because
    ``--help`` lists them and :mod:`plantos.reports` imports the historian and the
    spreadsheet writer; a unit test keeps the two equal."""

    json = "json"
    csv = "csv"
    xlsx = "xlsx"


app = typer.Typer(help="Shift and daily production reports.", no_args_is_help=True)
SITE = typer.Option(..., "--site", help="The site's id, e.g. plant-a")
FORMAT = typer.Option(None, "--format", help="json, csv or xlsx (default: --out's suffix, json)")
OUT = typer.Option(None, "--out", "-o", help="Write here instead of stdout")


@app.command("shift")
def shift(
    site: str = SITE,
    shift_name: str | None = typer.Option(None, "--shift", help="A shift of the site's calendar"),
    date: str | None = typer.Option(None, "--date", help="Local day it starts on, 2026-12-05"),
    fmt: Format | None = FORMAT,
    out_file: Path | None = OUT,
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
    api: str | None = API_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """One shift of a site; without --shift and --date the last one that has ended."""
    params = {"site": site, "shift": shift_name, "date": date}
    _report("shift", params, fmt, out_file, config, data_dir, api, token)


@app.command("daily")
def daily(
    site: str = SITE,
    date: str | None = typer.Option(None, "--date", help="Local day, 2026-12-05 (yesterday)"),
    fmt: Format | None = FORMAT,
    out_file: Path | None = OUT,
    config: Path = CONFIG_OPTION,
    data_dir: Path = DATA_DIR_OPTION,
    api: str | None = API_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """One calendar day of a site in its time zone, with each of its shifts."""
    _report("daily", {"site": site, "date": date}, fmt, out_file, config, data_dir, api, token)


def _report(
    kind: str,
    params: dict[str, str | None],
    fmt: Format | None,
    out_file: Path | None,
    config: Path,
    data_dir: Path,
    api: str | None,
    token: str | None,
) -> None:
    from plantos.reports import ReportFormat, render

    with reported_errors():
        chosen = ReportFormat(fmt.value) if fmt else _format_of(out_file)
        if api:
            body = _from_server(api, token, kind, params, chosen)
        else:
            body = render(_from_files(kind, params, config, data_dir), chosen)
        if out_file is None:
            sys.stdout.buffer.write(body)
            sys.stdout.buffer.flush()
        else:
            out_file.write_bytes(body)


def _format_of(path: Path | None) -> ReportFormat:
    from plantos.reports import ReportFormat

    if path is None or not path.suffix:
        return ReportFormat.json
    try:
        return ReportFormat(path.suffix.lstrip(".").lower())
    except ValueError:
        raise PlantOSError(f"{path.name}: the suffix must be .json, .csv or .xlsx") from None


def _from_files(
    kind: str, params: dict[str, str | None], config: Path, data_dir: Path
) -> dict[str, object]:
    from plantos.analytics.config import analytics_spec
    from plantos.analytics.oee.reason_store import REASONS_FILE, read_reasons
    from plantos.model import load_plant
    from plantos.mom.setup import open_service
    from plantos.reports import ReportSources, build_report, day_range, shift_range

    plant = load_plant(config)
    clock = WallClock()
    now = clock.now_ns()
    site = params["site"] or ""
    rng: ReportRange = (
        shift_range(plant, site, params["shift"], params["date"], now_ns=now)
        if kind == "shift"
        else day_range(plant, site, params["date"], now_ns=now)
    )
    _, oee_config = analytics_spec(plant)
    historian = open_plant_historian(plant, data_dir)
    mom = open_service(plant, data_dir=data_dir, clock=clock)
    try:
        sources = ReportSources(
            plant, historian, oee_config, read_reasons(data_dir / REASONS_FILE), mom
        )
        return build_report(sources, rng, now_ns=now)
    finally:
        historian.close()
        mom.engine.dispose()


def _from_server(
    api: str, token: str | None, kind: str, params: dict[str, str | None], fmt: ReportFormat
) -> bytes:
    query = {k: v for k, v in params.items() if v is not None} | {"format": fmt.value}
    response = api_call("GET", api, token, f"reports/{kind}", params=query, timeout_s=300)
    return response.content
