"""``plantos signin-link``: a one-time link that signs a browser in (valid 15 minutes)."""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import DEFAULT_DATA_DIR, fail, out
from plantos.core.clock import WallClock
from plantos.security import TokenStore


def signin_link(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Data directory of the platform"),
    base_url: str = typer.Option("http://127.0.0.1:8080", help="Where the web UI is served"),
) -> None:
    """Print a one-time sign-in link for the admin."""
    tokens = data_dir / "security.sqlite"
    if not tokens.is_file():
        fail(
            f"no PlantOS data in {data_dir}: give the --data-dir the server runs with "
            "(plantos serve and the live demo print a link when they start)"
        )
    store = TokenStore(tokens, clock=WallClock())
    out.print(
        f"{base_url.rstrip('/')}/signin?token={store.issue_signin()}",
        highlight=False,
        soft_wrap=True,
    )
