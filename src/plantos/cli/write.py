"""``plantos write PATH VALUE``: ask a running PlantOS to write a value into OT.

The server does the checking (conduit, role, limits, approval) and the auditing, so this
command holds no privilege of its own: it needs a token whose role may write.
"""

from __future__ import annotations

import os

import httpx
import typer

from plantos.cli.common import console, reported_errors
from plantos.core.errors import PlantOSError


def write(
    path: str = typer.Argument(..., help="The tag to write, e.g. plant-a/.../setpoint"),
    value: float = typer.Argument(..., help="The value, in the tag's unit"),
    api: str = typer.Option("http://127.0.0.1:8080", help="The running PlantOS"),
    token: str | None = typer.Option(
        None, help="API token (default: the PLANTOS_TOKEN environment variable)"
    ),
) -> None:
    """Write a value to a tag through its conduit; says whether it was written or now
    waits for a second person's approval."""
    with reported_errors():
        credential = token or os.environ.get("PLANTOS_TOKEN")
        if not credential:
            raise PlantOSError("give --token or set PLANTOS_TOKEN")
        try:
            response = httpx.post(
                f"{api.rstrip('/')}/api/v1/tags/{path.strip('/')}/write",
                json={"value": value},
                headers={"Authorization": f"Bearer {credential}"},
                timeout=30,
            )
        except httpx.HTTPError as exc:
            raise PlantOSError(f"cannot reach {api}: {exc}") from None
        if response.status_code not in (200, 202):
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise PlantOSError(f"refused ({response.status_code}): {detail}")
    answer = response.json()
    typer.echo(f"{answer['state']}\t{answer['id']}")
    if answer["state"] == "pending":
        console.print(
            f"{path} = {value} waits for a second person's approval (request {answer['id']})",
            highlight=False,
        )
