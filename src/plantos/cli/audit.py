"""``plantos audit``: check the audit trail's hash chain, export it for a SIEM."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from plantos.cli.common import console, reported_errors
from plantos.core.clock import WallClock
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import parse_time_ns
from plantos.security.audit import AUDIT_FILE
from plantos.security.audit_export import json_lines, syslog_lines
from plantos.security.audit_verify import verify as verify_chain
from plantos.security.stores import SecurityStores, shell_actor

app = typer.Typer(help="The audit trail: verify its chain, export it.")

DATA_DIR = typer.Option(Path("data"), help="Data directory of the platform")


@app.command("verify")
def verify(data_dir: Path = DATA_DIR) -> None:
    """Exit 0 if the chain holds; else exit 1 naming the first record edited, deleted or
    moved."""
    with reported_errors():
        try:
            checked, broken = verify_chain(data_dir / AUDIT_FILE)
        except FileNotFoundError as exc:
            raise PlantOSError(str(exc)) from None
    if broken is not None:
        console.print(f"[red]audit chain broken[/red] at {broken}", highlight=False)
        raise typer.Exit(1)
    console.print(f"audit chain intact: {checked} records", highlight=False)


@app.command("export")
def export(
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or syslog (RFC 5424 lines)"),
    start: str | None = typer.Option(None, "--from", help="ISO 8601 or e.g. -24h"),
    end: str | None = typer.Option(None, "--to"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Write the records (oldest first) to standard output; the export itself is audited."""
    with reported_errors():
        if fmt not in ("jsonl", "syslog"):
            raise PlantOSError(f"--format {fmt!r}: jsonl or syslog")
        now = WallClock().now_ns()
        since = parse_time_ns(start, now_ns=now) if start else None
        until = parse_time_ns(end, now_ns=now) if end else None
        stores = SecurityStores.open(data_dir)
        records = stores.audit.records(since_ns=since, until_ns=until)
    lines = json_lines(records) if fmt == "jsonl" else syslog_lines(records)
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    stores.audit.append(shell_actor(), "audit.export", fmt, records=len(records))
