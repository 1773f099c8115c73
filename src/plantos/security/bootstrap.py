"""The first start: an admin user with a one-time password, and how it reaches a person.

There is no default credential. The password is made on the first start and shown once,
on a terminal only: logs are collected, kept and shipped (a service manager's journal, a
container log), so it never goes to a log. Without a terminal it is written to a file in
the data directory that only the owner may read, for the person with shell access to take
and delete.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from plantos.security.audit import AuditLog
from plantos.security.users import UserStore

ADMIN = "admin"
SECRET_FILE = "initial-admin-password.txt"


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    """The admin made on this start; ``password`` is set only when it goes to a terminal,
    ``file`` only when it went to a file instead."""

    password: str | None
    file: Path | None


def new_password() -> str:
    return secrets.token_urlsafe(18)


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner alone, created so from the start
    (no moment where another user could open it)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def ensure_admin(
    users: UserStore, audit: AuditLog, data_dir: Path, *, terminal: bool
) -> FirstAdmin | None:
    """Create the admin on the first start; ``None`` when an admin exists already."""
    if users.any_admin():
        return None
    password = new_password()
    users.add(ADMIN, password, "admin")
    if terminal:
        audit.append("plantos", "user.bootstrap", ADMIN, shown="terminal")
        return FirstAdmin(password, None)
    path = data_dir / SECRET_FILE
    write_secret_file(
        path,
        f"PlantOS first administrator\nuser: {ADMIN}\npassword: {password}\n"
        "Sign in, then delete this file.\n",
    )
    audit.append("plantos", "user.bootstrap", ADMIN, shown="file", file=path.name)
    return FirstAdmin(None, path)
