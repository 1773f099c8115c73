"""``plantos user``: local users managed from a shell on the server (works while it runs).

Passwords are never taken on the command line (it lands in shell history and process
lists): they are asked for on a terminal, read from a file or standard input, or made up
and shown once. ``passwd`` is also the recovery path for a lost admin password: it needs
shell access to the data directory, lifts a lock-out and is audited.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from plantos.cli.common import console, reported_errors
from plantos.core.errors import PlantOSError
from plantos.core.timeparse import iso
from plantos.security.bootstrap import new_password
from plantos.security.stores import SecurityStores, shell_actor

app = typer.Typer(help="Local users: add, list, grant, disable, enable, change a password.")

DATA_DIR = typer.Option(Path("data"), help="Data directory of the platform")


def read_password(password_file: Path | None, *, generate: bool) -> tuple[str, bool]:
    """The new password and whether it was made up here (then it must be shown once)."""
    if generate:
        return new_password(), True
    if password_file is not None:
        return password_file.read_text().rstrip("\r\n"), False
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise PlantOSError("no password: give --password-file, --generate or one on stdin")
    return line, False


def _show_once(name: str, password: str) -> None:
    typer.echo(password)
    console.print(f"new password of {name!r} printed once on standard output", highlight=False)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name (lower case)"),
    role: str = typer.Option(..., help="viewer, operator, maintenance, quality, planner, ..."),
    scope: str = typer.Option("", help="Plant path the grant covers; empty: the enterprise"),
    password_file: Path | None = typer.Option(None, help="Read the password from this file"),
    generate: bool = typer.Option(False, help="Make up a password and print it once"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Add a user with one grant (a role over a scope)."""
    with reported_errors():
        stores = SecurityStores.open(data_dir)
        password, made = read_password(password_file, generate=generate)
        user = stores.users.add(name, password, role, scope=scope)
        stores.audit.append(shell_actor(), "user.add", name, role=user.role, scope=user.scope)
    console.print(f"added {name!r} as {user.role} for {user.scope or 'the enterprise'}")
    if made:
        _show_once(name, password)


@app.command("list")
def list_users(data_dir: Path = DATA_DIR) -> None:
    """Every user with grant and state (one per line, tab separated)."""
    with reported_errors():
        users = SecurityStores.open(data_dir).users.list()
    typer.echo("name\trole\tscope\tstate\tcreated")
    for u in users:
        state = "disabled" if u.disabled else ("locked" if u.locked_until_ns else "active")
        row = f"{u.name}\t{u.role}\t{u.scope or '*'}\t{state}\t{iso(u.created_ns)}"
        typer.echo(row)


def _set_disabled(name: str, data_dir: Path, disabled: bool) -> None:
    with reported_errors():
        stores = SecurityStores.open(data_dir)
        try:
            stores.users.set_disabled(name, disabled)
        except LookupError as exc:
            raise PlantOSError(str(exc).strip('"')) from None
        ended = stores.tokens.end_sessions(name) if disabled else 0
        action = "user.disable" if disabled else "user.enable"
        stores.audit.append(shell_actor(), action, name, sessions_ended=ended)
    console.print(f"{name!r} {'disabled' if disabled else 'enabled'}")


@app.command("disable")
def disable(name: str = typer.Argument(...), data_dir: Path = DATA_DIR) -> None:
    """Disable a user and end their sessions at once."""
    _set_disabled(name, data_dir, True)


@app.command("enable")
def enable(name: str = typer.Argument(...), data_dir: Path = DATA_DIR) -> None:
    """Enable a disabled user again."""
    _set_disabled(name, data_dir, False)


@app.command("grant")
def grant(
    name: str = typer.Argument(...),
    role: str = typer.Option(..., help="The new role"),
    scope: str = typer.Option("", help="Plant path the grant covers; empty: the enterprise"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Change what a user may do; their sessions end so the new grant applies at once."""
    with reported_errors():
        stores = SecurityStores.open(data_dir)
        try:
            user = stores.users.set_grant(name, role, scope=scope)
        except LookupError as exc:
            raise PlantOSError(str(exc).strip('"')) from None
        stores.tokens.end_sessions(name)
        stores.audit.append(shell_actor(), "user.grant", name, role=user.role, scope=user.scope)
    console.print(f"{name!r} is now {user.role} for {user.scope or 'the enterprise'}")


@app.command("passwd")
def passwd(
    name: str = typer.Argument(...),
    password_file: Path | None = typer.Option(None, help="Read the password from this file"),
    generate: bool = typer.Option(False, help="Make up a password and print it once"),
    data_dir: Path = DATA_DIR,
) -> None:
    """Set a new password (also the recovery path for a lost admin password; lifts a
    lock-out and ends the user's sessions)."""
    with reported_errors():
        stores = SecurityStores.open(data_dir)
        password, made = read_password(password_file, generate=generate)
        try:
            stores.users.set_password(name, password)
        except LookupError as exc:
            raise PlantOSError(str(exc).strip('"')) from None
        stores.tokens.end_sessions(name)
        stores.audit.append(shell_actor(), "user.passwd", name, via="shell")
    console.print(f"password of {name!r} changed")
    if made:
        _show_once(name, password)
