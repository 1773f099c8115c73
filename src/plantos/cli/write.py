"""``plantos write PATH VALUE``: ask a running PlantOS to write a value into OT.

The server does the checking (conduit, role, limits, approval) and the auditing, so this
command holds no privilege of its own: it needs a token whose role may write.
"""

from __future__ import annotations

import typer

from plantos.cli.common import api_call, console, reported_errors


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
        route = f"tags/{path.strip('/')}/write"
        body = {"value": value}
        response = api_call("POST", api, token, route, body=body, expect=(200, 202))
    answer = response.json()
    typer.echo(f"{answer['state']}\t{answer['id']}")
    if answer["state"] == "pending":
        console.print(
            f"{path} = {value} waits for a second person's approval (request {answer['id']})",
            highlight=False,
        )
