"""What the sub-commands share: console, logging, error reporting."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.logging import RichHandler

from plantos.core.errors import ConfigError, PlantOSError

console = Console(stderr=True)
out = Console()


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=True)],
    )


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


def fail(message: str) -> None:
    console.print(f"[red]error[/red] {message}", highlight=False, soft_wrap=True)
    sys.exit(1)
