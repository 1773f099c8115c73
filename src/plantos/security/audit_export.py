"""The audit trail for a SIEM: JSON lines, or syslog lines as RFC 5424 describes them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator

from plantos.core.timeparse import iso
from plantos.security.audit import AuditRecord

FACILITY_AUTHPRIV = 10
SEVERITY = {"ok": 6, "pending": 5, "denied": 4, "failed": 4}
"""Syslog severity per outcome: informational, notice, warning."""
SD_ID = "plantos@32473"
"""Structured-data id; 32473 is the enterprise number RFC 5612 reserves for examples."""


def json_lines(records: Iterable[AuditRecord]) -> Iterator[str]:
    for r in records:
        yield json.dumps(r.to_dict() | {"time": iso(r.ts_ns)}, sort_keys=True)


def _sd_value(text: str) -> str:
    """Escape a structured-data parameter value (``"``, ``\\`` and ``]``, RFC 5424 6.3.3)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _printable(text: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, ``-`` when empty."""
    kept = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return kept or "-"


def syslog_line(record: AuditRecord, *, hostname: str | None = None) -> str:
    """One RFC 5424 line: ``<PRI>1 TIMESTAMP HOST plantos - ACTION [SD] MSG``."""
    pri = FACILITY_AUTHPRIV * 8 + SEVERITY.get(record.outcome, 5)
    params = {
        "seq": str(record.seq),
        "actor": record.actor,
        "target": record.target,
        "outcome": record.outcome,
        "hash": record.hash,
    }
    sd = " ".join(f'{k}="{_sd_value(v)}"' for k, v in params.items())
    host = _printable(hostname or socket.gethostname(), 255)
    msg = json.dumps(record.detail, sort_keys=True, default=str)
    return (
        f"<{pri}>1 {iso(record.ts_ns)} {host} plantos - {_printable(record.action, 32)} "
        f"[{SD_ID} {sd}] {msg}"
    )


def syslog_lines(records: Iterable[AuditRecord], *, hostname: str | None = None) -> Iterator[str]:
    for r in records:
        yield syslog_line(r, hostname=hostname)
