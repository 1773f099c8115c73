"""The security stores of one data directory, as the server and the CLI open them."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from plantos.core.clock import WallClock
from plantos.security.audit import AUDIT_FILE, AuditLog
from plantos.security.tokens import TokenStore
from plantos.security.users import UserStore

SECURITY_FILE = "security.sqlite"


@dataclass(frozen=True, slots=True)
class SecurityStores:
    tokens: TokenStore
    users: UserStore
    audit: AuditLog

    @classmethod
    def open(cls, data_dir: Path) -> SecurityStores:
        """Open (creating if new) the users, tokens and audit trail under ``data_dir``."""
        clock = WallClock()
        return cls(
            TokenStore(data_dir / SECURITY_FILE, clock=clock),
            UserStore(data_dir / SECURITY_FILE, clock=clock),
            AuditLog(data_dir / AUDIT_FILE, clock=clock),
        )


def shell_actor() -> str:
    """Who acts from a shell on the server: the operating-system account, marked as such
    (having the data directory is what authorises a CLI command)."""
    try:
        return f"shell:{getpass.getuser()}"
    except (KeyError, OSError):
        return "shell:unknown"
