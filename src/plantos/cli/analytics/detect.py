"""``plantos analytics detect``: anomaly scores for a CSV file, causally, with the
same detector classes as the stream."""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import console, reported_errors


def detect(
    input_path: Path = typer.Option(..., "--input", help="CSV file with a header row"),
    time_column: str = typer.Option(..., "--time-column", help="Column with the timestamps"),
    columns: str | None = typer.Option(
        None, help="Comma-separated columns to judge together (default: all but time)"
    ),
    train_until: str | None = typer.Option(
        None, help="Learn the healthy baseline from rows before this time (ISO 8601)"
    ),
    train_fraction: float | None = typer.Option(
        None, help="Learn it from this first fraction of the rows instead (default 0.15)"
    ),
    state_column: str | None = typer.Option(
        None,
        help="Column of operating-state codes (program, product, speed band): each state "
        "gets its own expected level and baseline; not judged itself",
    ),
    window: str | None = typer.Option(
        None,
        help="Feature window as a time (30s, 4h) or rows (25); default: 1/20 of the training rows",
    ),
    min_duration: str | None = typer.Option(
        None,
        "--min-duration",
        help="How long a score must stay high before an alarm, as a time (10min) or rows (6); "
        "default: a quarter of the window",
    ),
    output: Path = typer.Option(..., "--output", help="CSV to write: time, score, flag"),
) -> None:
    """Score every row for anomalies, causally, and flag alarms (1) with hysteresis."""
    from plantos.analytics.anomaly import offline
    from plantos.analytics.anomaly.timescale import parse_span

    with reported_errors():
        spans = {}
        for option, text, zero in (("window", window, False), ("min-duration", min_duration, True)):
            try:
                spans[option] = None if text is None else parse_span(text, allow_zero=zero)
            except ValueError as exc:
                raise ValueError(f"--{option}: {exc}") from None
        if train_until is not None and train_fraction is not None:
            raise ValueError("give --train-until or --train-fraction, not both")
        try:
            until_ns = None if train_until is None else offline.parse_timestamp_ns(train_until)
        except ValueError:
            raise ValueError(f"--train-until: bad timestamp {train_until!r}") from None
        if not input_path.is_file():
            raise ValueError(f"no such file: {input_path}")
        wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
        if wanted is not None and state_column is not None and state_column not in wanted:
            wanted.append(state_column)
        table = offline.read_table(input_path, time_column, wanted)
        train_rows = offline.train_rows_for(
            table.ts_ns, train_until_ns=until_ns, train_fraction=train_fraction
        )
        result = offline.detect(
            table,
            train_rows=train_rows,
            subject=input_path.stem,
            state_column=state_column,
            window=spans["window"],
            min_duration=spans["min-duration"],
        )
        offline.write_scores(output, table, time_column, result)
    for note in result.notes:
        console.print(f"[yellow]note[/yellow] {note}", highlight=False, soft_wrap=True)
    alarms = sum(1 for e in result.events if e.kind == "AnomalyRaised")
    console.print(
        f"{len(table.ts_ns)} rows, {result.train_rows} for training, {alarms} alarm(s); "
        f"wrote {output}",
        highlight=False,
    )
