"""``plantos schedule``: the scheduler from the shell; ``solve`` plans a standard
job-shop instance so anyone can compare PlantOS with published results."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from plantos.cli.common import console, out

app = typer.Typer(
    help="Finite-capacity scheduling from the shell.",
    no_args_is_help=True,
)

BAD_INPUT_EXIT = 2


@app.command("solve")
def solve(
    jsplib: Path = typer.Option(..., "--jsplib", help="Job-shop instance in JSPLIB text format"),
    time_limit_s: float = typer.Option(
        10.0,
        "--time-limit",
        min=0.01,
        help="The work a quiet 2-core machine does in this many seconds: the same work, "
        "so the same schedule, on any machine (the clock stops it only as a safety net)",
    ),
    workers: int = typer.Option(2, "--workers", min=1, help="Solver threads"),
    output: Path | None = typer.Option(
        None, "--output", help="Write the schedule as JSON (makespan and every operation)"
    ),
) -> None:
    """Minimise the makespan of a job-shop instance and print it.

    The search is bounded by work, not by the clock (see
    :func:`~plantos.mom.scheduling.jobshop.work_budget`), so the same file and limit
    give the same schedule however busy the machine is."""
    from plantos.mom.scheduling.jobshop import solve_jobshop
    from plantos.mom.scheduling.jsplib import InstanceFormatError, read_jsplib

    try:
        shop = read_jsplib(jsplib)
    except InstanceFormatError as exc:
        console.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(BAD_INPUT_EXIT) from None
    schedule = solve_jobshop(shop, time_limit_s=time_limit_s, workers=workers)
    if output is not None:
        operations = [
            {
                "job": j,
                "index": k,
                "machine": machine,
                "start": schedule.starts[j][k],
                "duration": d,
            }
            for j, job in enumerate(shop.jobs)
            for k, (machine, d) in enumerate(job)
        ]
        output.write_text(json.dumps({"makespan": schedule.makespan, "operations": operations}))
    console.print(
        f"{len(shop.jobs)} jobs x {shop.machines} machines, {schedule.status} "
        f"in {schedule.solve_ms / 1000:.1f} s",
        highlight=False,
    )
    out.print(schedule.makespan, highlight=False)
