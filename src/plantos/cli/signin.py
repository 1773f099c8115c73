"""``plantos signin-link``: a one-time link that signs a browser in (valid 15 minutes)."""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import out
from plantos.core.clock import WallClock
from plantos.security import TokenStore


def signin_link(
    data_dir: Path = typer.Option(Path("data/demo"), help="Data directory of the platform"),
    base_url: str = typer.Option("http://127.0.0.1:8080", help="Where the web UI is served"),
) -> None:
    """Print a one-time sign-in link for the admin."""
    store = TokenStore(data_dir / "security.sqlite", clock=WallClock())
    out.print(
        f"{base_url.rstrip('/')}/signin?token={store.issue_signin()}",
        highlight=False,
        soft_wrap=True,
    )
