"""``plantos token``: API tokens for machines and integrations, from a shell on the server.

``issue`` prints the token once on standard output (and nothing else there), so
``TOKEN=$(plantos token issue ...)`` works; only its hash is stored.
"""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import console, reported_errors
from plantos.core.timeparse import iso, parse_duration_ns
from plantos.security.stores import SecurityStores, shell_actor

app = typer.Typer(help="API tokens: issue (shown once), list, revoke.")

DATA_DIR = typer.Option(Path("data"), help="Data directory of the platform")


@app.command("issue")
def issue(
    role: str = typer.Option(..., help="The token's role (e.g. integration, viewer)"),
    scope: str = typer.Option("", help="Plant path the token covers; empty: the enterprise"),
    expires: str | None = typer.Option(None, help="Lifetime, e.g. 90d or 12h; none: no expiry"),
    name: str = typer.Option("", help="What the token is for (shown in lists and audit)"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Issue an API token and print it once."""
    with reported_errors():
        ttl_ns = parse_duration_ns(expires) if expires else None
        stores = SecurityStores.open(data_dir)
        token, token_id = stores.tokens.issue(
            "api", name or shell_actor(), role, scope=scope, ttl_ns=ttl_ns, name=name
        )
        stores.audit.append(
            shell_actor(), "token.issue", token_id, role=role, scope=scope, name=name,
            expires=expires,
        )  # fmt: skip
    typer.echo(token)
    console.print(f"token {token_id} issued; it is shown only now", highlight=False)


@app.command("list")
def list_tokens(data_dir: Path = DATA_DIR) -> None:
    """Every API token (never its secret), newest first, tab separated."""
    with reported_errors():
        tokens = SecurityStores.open(data_dir).tokens.list()
    typer.echo("id\tname\trole\tscope\tcreated\texpires\tstate\tlast_used")
    for t in tokens:
        state = "revoked" if t.revoked_ns else "active"
        cells = [
            t.id,
            t.name or t.subject,
            t.role,
            t.scope or "*",
            iso(t.created_ns),
            iso(t.expires_ns) if t.expires_ns else "never",
            state,
            iso(t.last_used_ns) if t.last_used_ns else "never",
        ]
        typer.echo("\t".join(cells))


@app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The id from 'plantos token list'"),
           data_dir: Path = DATA_DIR) -> None:  # fmt: skip
    """Revoke an API token; it stops working at once, also on a running server."""
    with reported_errors():
        stores = SecurityStores.open(data_dir)
        stores.tokens.revoke_id(token_id)
        stores.audit.append(shell_actor(), "token.revoke", token_id)
    console.print(f"token {token_id} revoked")
