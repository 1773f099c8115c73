"""``plantos signin-link``: a one-time link that signs a browser in (valid 15 minutes).

Having the data directory is what authorises it, like every security command; the link
carries the user's grant and is audited.
"""

from __future__ import annotations

from pathlib import Path

import typer

from plantos.cli.common import DEFAULT_DATA_DIR, out, reported_errors
from plantos.core.errors import PlantOSError
from plantos.security.bootstrap import ADMIN
from plantos.security.stores import SECURITY_FILE, SecurityStores, shell_actor


def signin_link(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Data directory of the platform"),
    base_url: str = typer.Option("http://127.0.0.1:8080", help="Where the web UI is served"),
    user: str = typer.Option(ADMIN, help="Sign in as this user (with their role and scope)"),
) -> None:
    """Print a one-time sign-in link (for the admin unless --user says otherwise)."""
    with reported_errors():
        if not (data_dir / SECURITY_FILE).is_file():
            raise PlantOSError(
                f"no PlantOS data in {data_dir}: give the --data-dir the server runs with "
                "(plantos serve and the live demo print a link when they start)"
            )
        stores = SecurityStores.open(data_dir)
        role, scope = "admin", ""
        if user != ADMIN or stores.users.any_admin():
            try:
                found = stores.users.get(user)
            except LookupError as exc:
                raise PlantOSError(str(exc).strip('"')) from None
            if found.disabled:
                raise PlantOSError(f"user {user!r} is disabled")
            role, scope = found.role, found.scope
        token = stores.tokens.issue_signin(user, role, scope=scope)
        stores.audit.append(shell_actor(), "auth.link.issue", user, role=role, scope=scope)
    out.print(f"{base_url.rstrip('/')}/signin?token={token}", highlight=False, soft_wrap=True)
