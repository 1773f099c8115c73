"""``plantos entry``: enter a reading or submit a checklist on a running PlantOS, for a
handheld or a script at the line. The server checks, stores and audits; the command holds
no privilege of its own: it needs a token whose role has ``entries:write``."""

from __future__ import annotations

from typing import Any

import typer

from plantos.cli.common import api_call, reported_errors
from plantos.core.errors import PlantOSError

app = typer.Typer(help="Enter readings and checklists by hand on a running PlantOS.")
API = typer.Option("http://127.0.0.1:8080", help="The running PlantOS")
TOKEN = typer.Option(None, help="API token (default: the PLANTOS_TOKEN environment variable)")


def _post(api: str, token: str | None, route: str, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = api_call("POST", api, token, route, body=body, expect=(201,)).json()
    return answer


@app.command()
def reading(
    path: str = typer.Argument(..., help="The manual tag, e.g. plant-a/.../coolant_concentration"),
    value: str = typer.Argument(..., help="A number, yes/no, a state or a text"),
    unit: str | None = typer.Option(None, help="The unit VALUE is in (default: the tag's)"),
    api: str = API,
    token: str | None = TOKEN,
) -> None:
    """Enter a value no sensor gives; prints the value stored, in the tag's unit."""
    with reported_errors():
        done = _post(api, token, f"readings/{path.strip('/')}", {"value": value, "unit": unit})
    typer.echo(f"{done['tag']}\t{done['value']}\t{done['unit'] or ''}\t{done['at']}")


@app.command()
def checklist(
    line: str = typer.Argument(..., help="The line, e.g. plant-a/machining/line-1"),
    checklist_id: str = typer.Argument(..., metavar="CHECKLIST", help="The checklist's id"),
    answer: list[str] = typer.Option([], help="ITEM=ANSWER, once per item"),
    work_order: str | None = typer.Option(None, help="For a lock-out/tag-out checklist"),
    api: str = API,
    token: str | None = TOKEN,
) -> None:
    """Submit a checklist once for this shift (or work order)."""
    with reported_errors():
        bad = [a for a in answer if "=" not in a]
        if bad:
            raise PlantOSError(f"an answer is ITEM=ANSWER, not {', '.join(bad)}")
        answers = dict(a.split("=", 1) for a in answer)
        body = {"answers": answers, "work_order": work_order}
        done = _post(api, token, f"stations/{line.strip('/')}/checklists/{checklist_id}", body)
    typer.echo(f"{done['checklist']}\t{done['instance']}\t{done['by']}\t{done['at']}")
