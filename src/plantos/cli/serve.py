"""``plantos serve``: run the platform for a plant file, with its API and web UI."""

from __future__ import annotations

from pathlib import Path

import typer
import uvicorn
from rich.markup import escape

from plantos.app import Platform, Settings, create_app
from plantos.cli.common import DEFAULT_DATA_DIR, console, reported_errors, setup_logging


def announce_credentials(platform: Platform, host: str, port: int) -> None:
    """Print the first-run admin token (once, ever) and a fresh one-time sign-in link."""
    admin = platform.tokens.bootstrap_admin()
    if admin:
        console.print(
            f"[bold]Admin API token[/bold] (shown only now; store it safely):\n  {admin}",
            highlight=False,
            soft_wrap=True,
        )
    link = f"http://{host}:{port}/signin?token={platform.tokens.issue_signin()}"
    console.print(f"[bold green]Sign in:[/bold green] {link}", highlight=False, soft_wrap=True)


def run_server(platform: Platform, host: str, port: int) -> None:
    """Serve until stopped; if a bus consumer gave up, stop and exit 1 so that a service
    manager restarts PlantOS (never a server that answers while its data path stalls)."""
    announce_credentials(platform, host, port)
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host=host, port=port, log_level="warning")
    )
    platform.pipeline.on_failure(lambda _reason: setattr(server, "should_exit", True))
    server.run()
    if platform.pipeline.failure is not None:
        console.print(
            f"[red]error[/red] {escape(platform.pipeline.failure)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def serve(
    config: Path = typer.Option(..., "--config", "-c", help="The plantos.yaml to run"),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Where the historian and tokens live"),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8080),
) -> None:
    """Serve the platform for a plant file."""
    setup_logging()
    with reported_errors():
        platform = Platform(Settings(config=config, data_dir=data_dir, host=host, port=port))
    run_server(platform, host, port)
