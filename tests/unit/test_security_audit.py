"""The audit trail's hash chain: an edited, deleted or reordered record is found and
named; exports as JSON lines and RFC 5424 syslog lines."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from plantos.core.clock import ManualClock
from plantos.security.audit import AuditLog
from plantos.security.audit_export import json_lines, syslog_line
from plantos.security.audit_verify import verify


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.sqlite", clock=ManualClock(1_700_000_000_000_000_000))
    for i in range(5):
        audit.append(f"user-{i}", "alarm.ack", f"site-1/a/{i}", reason=f"r{i}")
    return audit


def _sql(log: AuditLog, statement: str) -> None:
    db = sqlite3.connect(log.path)
    db.execute(statement)
    db.commit()
    db.close()


def test_an_untouched_chain_holds(log: AuditLog) -> None:
    assert verify(log.path) == (5, None)


def test_an_edited_record_is_named(log: AuditLog) -> None:
    _sql(log, "UPDATE audit SET actor = 'someone-else' WHERE seq = 3")
    _, broken = verify(log.path)
    assert broken is not None and broken.seq == 3 and "edited" in broken.problem


def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(log: AuditLog) -> None:
    _sql(log, "UPDATE audit SET detail = '{}', hash = 'f' || substr(hash, 2) WHERE seq = 2")
    _, broken = verify(log.path)
    assert broken is not None and broken.seq == 2


def test_a_deleted_record_is_found_at_the_next_one(log: AuditLog) -> None:
    _sql(log, "DELETE FROM audit WHERE seq = 2")
    _, broken = verify(log.path)
    assert broken is not None and broken.seq == 3 and "deleted" in broken.problem


def test_reordered_records_are_found(log: AuditLog) -> None:
    """Records 2 and 3 swap places: their numbers stay where they were, their content moves."""
    db = sqlite3.connect(log.path)
    two, three = db.execute("SELECT * FROM audit WHERE seq IN (2, 3) ORDER BY seq").fetchall()
    db.execute("DELETE FROM audit WHERE seq IN (2, 3)")
    db.executemany(
        "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [(2, *three[1:]), (3, *two[1:])]
    )
    db.commit()
    db.close()
    _, broken = verify(log.path)
    assert broken is not None and broken.position == 2 and broken.seq == 2


def test_json_lines_carry_every_field(log: AuditLog) -> None:
    first = json.loads(next(json_lines(log.records())))
    assert first["actor"] == "user-0" and first["detail"] == {"reason": "r0"}
    assert first["time"] == "2023-11-14T22:13:20.000Z" and len(first["hash"]) == 64


def test_syslog_lines_follow_rfc_5424(log: AuditLog) -> None:
    record = log.append('eve "x"', "auth.password", "ann]", outcome="failed")
    line = syslog_line(record, hostname="plant host")
    pattern = (
        r"<84>1 2023-11-14T22:13:20\.000Z planthost plantos - auth\.password "
        r'\[plantos@32473 seq="6" actor="eve \\"x\\"" target="ann\\]" outcome="failed" '
        r'hash="[0-9a-f]{64}"\] \{\}'
    )
    assert re.fullmatch(pattern, line), line
