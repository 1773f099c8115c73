"""What the sub-commands share: console, logging, error reporting.

Every ``plantos`` invocation imports this module (and every command module), even for
``--help``: so the command modules import the platform, the historian and the plant model
inside the commands that use them, never at the top, and stay cheap to import."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from plantos.core.errors import ConfigError, PlantOSError

if TYPE_CHECKING:
    import httpx

    from plantos.historian.protocol import Historian
    from plantos.model import Plant

console = Console(stderr=True)
out = Console()

DEFAULT_DATA_DIR = Path("data")
"""Where ``serve`` keeps its data, and where ``query``, ``signin-link`` and ``deadletter``
look for it, unless ``--data-dir`` says otherwise."""


THIRD_PARTY_LOGGERS = (
    "asyncua",
    "pymodbus",
    "paho",
    "amqtt",
    "transitions",
    "uvicorn.access",
    "httpx",
    "alembic",
)
"""Libraries that log every connect, frame or request at INFO (about 80 lines per OPC UA
connect alone; httpx one per webhook delivery; alembic each plugin and migration step at
every start). They log at WARNING unless ``--verbose``."""


def setup_logging(level: str = "INFO", *, verbose: bool = False) -> None:
    """PlantOS's own log at ``level``; the protocol libraries at WARNING unless ``verbose``
    (then at ``level`` too, for tracing a device conversation)."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=True)],
    )
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(level if verbose else logging.WARNING)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn PlantOS errors into a plain message and exit code 1 instead of a traceback."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            console.print(f"[red]error[/red] {problem}", highlight=False, soft_wrap=True)
        console.print(f"{len(exc.problems)} problem(s) found", highlight=False)
        raise typer.Exit(1) from None
    except (PlantOSError, ValueError) as exc:
        console.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def open_plant_historian(plant: Plant, data_dir: Path, *, writable: bool = False) -> Historian:
    """A plant's historian opened from a shell: read-only (beside or without a server)
    unless ``writable`` (the server must be stopped)."""
    from plantos.historian import open_historian
    from plantos.historian.tiers import tiers_from_spec
    from plantos.historian.url import DEFAULT_HISTORIAN_URL

    if not data_dir.is_dir():
        raise PlantOSError(f"no data directory {data_dir}")
    tiers, _ = tiers_from_spec(plant.spec.historian)
    url = plant.spec.historian.url or DEFAULT_HISTORIAN_URL
    return open_historian(
        url, data_dir=data_dir, tiers=tiers, raw_retention_ns=None, read_only=not writable
    )


def api_call(
    method: str,
    api: str,
    token: str | None,
    route: str,
    *,
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    expect: tuple[int, ...] = (200,),
    timeout_s: float = 120,
) -> httpx.Response:
    """One call of a running server's ``/api/v1/<route>`` with a bearer token (``token``,
    else ``PLANTOS_TOKEN``); an unreachable server or an answer outside ``expect`` becomes
    a :class:`PlantOSError` naming the server's problem detail."""
    import httpx

    credential = token or os.environ.get("PLANTOS_TOKEN")
    if not credential:
        raise PlantOSError("give --token or set PLANTOS_TOKEN")
    try:
        response = httpx.request(
            method,
            f"{api.rstrip('/')}/api/v1/{route}",
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {credential}"},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        raise PlantOSError(f"cannot reach {api}: {exc}") from None
    if response.status_code not in expect:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise PlantOSError(f"server answered {response.status_code}: {detail}")
    return response


def api_get(api: str, token: str | None, route: str, params: dict[str, Any]) -> Any:
    """One GET of a running server's ``/api/v1/<route>``, as JSON (the server holds the
    historian file while it runs, so commands ask it)."""
    return api_call("GET", api, token, route, params=params).json()


def fail(message: str) -> None:
    console.print(f"[red]error[/red] {message}", highlight=False, soft_wrap=True)
    sys.exit(1)
