"""What the commands over historian ranges share: the range, output formats and the
options that choose a plant file or a running server."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from plantos.cli.common import DEFAULT_DATA_DIR
from plantos.core.clock import WallClock
from plantos.core.errors import QueryError
from plantos.core.timeparse import parse_time_ns
from plantos.core.timeunits import NS_PER_S as NS

CHUNK_NS = 3600 * NS
"""Samples are read an hour at a time: bounded memory, and the stream's batch rhythm."""
MAX_RANGE_NS = 31 * 24 * 3600 * NS
"""The longest range the server's OEE endpoint accepts; the CLI keeps the same bound."""
SAMPLES_PER_CHUNK = 1_000_000
DEFAULT_ROLLING = 50
"""Rolling limits when neither the plant file nor an option says: 50 subgroups, enough
for a steady estimate of sigma."""


class Format(StrEnum):
    table = "table"
    json = "json"


class By(StrEnum):
    shift = "shift"
    day = "day"


CONFIG_OPTION = typer.Option(
    Path("examples/demo-plant/plantos.yaml"), "--config", "-c", help="Plant file"
)
DATA_DIR_OPTION = typer.Option(DEFAULT_DATA_DIR, help="Data directory of the historian")
API_OPTION = typer.Option(
    None, help="Ask a running server instead (it holds the historian), e.g. http://127.0.0.1:8080"
)
TOKEN_OPTION = typer.Option(None, envvar="PLANTOS_TOKEN", help="API token for --api")


def time_range(start: str, end: str) -> tuple[int, int]:
    """The asked range in ns; relative times count back from this machine's clock."""
    now = WallClock().now_ns()
    start_ns, end_ns = parse_time_ns(start, now_ns=now), parse_time_ns(end, now_ns=now)
    if end_ns <= start_ns:
        raise QueryError(f"empty range: --to {end!r} is not after --from {start!r}")
    if end_ns - start_ns > MAX_RANGE_NS:
        raise QueryError("--from and --to are at most 31 days apart")
    return start_ns, end_ns


def ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def number_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"
