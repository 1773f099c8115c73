"""The one way PlantOS writes into OT: :meth:`OtWrites.request`.

Every attempt passes the same checks, in this order, and every one is audited whatever its
outcome: the tag is declared writable and a conduit from the core's zone into the tag's
zone lets it be written; the caller's role holds ``ot:write`` over the tag; the value is a
finite number within the declared limits. Where the tag needs approval the write waits,
pending, until a second person (``ot:approve`` over the tag, not the requester) approves
it within :data:`PENDING_TTL_NS`; only then does it reach the device.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from plantos.core.clock import Clock
from plantos.core.errors import PlantOSError
from plantos.core.sqlite_file import sqlite_session
from plantos.core.timeunits import NS_PER_S as NS
from plantos.security.audit import AuditLog
from plantos.security.authz import authorize
from plantos.security.errors import ConflictError, ForbiddenError, InvalidError
from plantos.security.identity import Identity
from plantos.security.zones import WritableSpec, Zoning

PENDING_TTL_NS = 3600 * NS

DeviceWriter = Callable[[WritableSpec, float], Awaitable[None]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ot_writes (
    id TEXT PRIMARY KEY,
    tag TEXT NOT NULL,
    value REAL NOT NULL,
    state TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_ns INTEGER NOT NULL,
    decided_by TEXT,
    decided_ns INTEGER,
    detail TEXT NOT NULL DEFAULT ''
);
"""


class WriteFailedError(PlantOSError):
    """The device could not be reached or refused the write (answered 502)."""


class UnknownWriteError(PlantOSError):
    """No write request with this id (answered 404)."""


@dataclass(frozen=True, slots=True)
class WriteRequest:
    id: str
    tag: str
    value: float
    state: str
    """``pending``, ``written``, ``rejected``, ``failed`` or ``expired``."""
    requested_by: str
    requested_ns: int
    decided_by: str | None = None
    decided_ns: int | None = None
    detail: str = ""


class OtWrites:
    """Checks, holds for approval, performs and audits writes into OT."""

    def __init__(
        self, zoning: Zoning, *, audit: AuditLog, path: Path, writer: DeviceWriter, clock: Clock
    ) -> None:
        self.zoning = zoning
        self._audit = audit
        self._path = path
        self._writer = writer
        self._clock = clock
        with sqlite_session(path) as db:
            db.executescript(_SCHEMA)

    def _check(self, identity: Identity, tag: str, value: float) -> WritableSpec:
        writable = self.zoning.writable(tag)
        if writable is None or self.zoning.conduit_for_write(tag) is None:
            raise ForbiddenError(f"no conduit lets PlantOS write {tag!r}: OT is read-only here")
        authorize(identity, "ot:write", tag)
        if not math.isfinite(value) or not writable.min <= value <= writable.max:
            raise InvalidError(
                f"{value} is outside the limits of {tag!r}: {writable.min} to {writable.max}"
            )
        return writable

    async def request(self, identity: Identity, tag: str, value: float) -> WriteRequest:
        """Check and write, or hold for approval; refusals raise after being audited."""
        tag = tag.strip("/")
        try:
            writable = self._check(identity, tag, value)
        except (ForbiddenError, InvalidError) as exc:
            self._audit.append(identity.subject, "ot.write", tag, outcome="denied",
                               value=value, reason=str(exc))  # fmt: skip
            raise
        request = WriteRequest(
            f"w_{secrets.token_hex(6)}", tag, value, "pending", identity.subject,
            self._clock.now_ns(),
        )  # fmt: skip
        self._save(request)
        if writable.approval:
            self._audit.append(identity.subject, "ot.write", tag, outcome="pending",
                               value=value, request=request.id)  # fmt: skip
            return request
        return await self._perform(request, writable, decided_by=None)

    async def approve(self, identity: Identity, write_id: str) -> WriteRequest:
        """A second person approves a pending write, which then reaches the device."""
        request = self._pending(identity, write_id, "ot.write.approve")
        writable = self.zoning.writable(request.tag)
        if writable is None:
            raise ForbiddenError(f"{request.tag!r} is no longer writable")
        return await self._perform(request, writable, decided_by=identity.subject)

    def reject(self, identity: Identity, write_id: str) -> WriteRequest:
        request = self._pending(identity, write_id, "ot.write.reject")
        done = self._decide(request, "rejected", identity.subject, "")
        self._audit.append(identity.subject, "ot.write.reject", request.tag, request=write_id)
        return done

    def _pending(self, identity: Identity, write_id: str, action: str) -> WriteRequest:
        request = self.get(write_id)
        try:
            authorize(identity, "ot:approve", request.tag)
            if request.state != "pending":
                raise ConflictError(f"write {write_id} is {request.state}, not pending")
            if identity.subject == request.requested_by:
                raise ConflictError("a second person must approve: not the one who asked")
            if self._clock.now_ns() - request.requested_ns > PENDING_TTL_NS:
                self._decide(request, "expired", None, "not approved within an hour")
                raise ConflictError(f"write {write_id} expired unapproved")
        except (ForbiddenError, ConflictError) as exc:
            self._audit.append(identity.subject, action, request.tag, outcome="denied",
                               request=write_id, reason=str(exc))  # fmt: skip
            raise
        return request

    async def _perform(
        self, request: WriteRequest, writable: WritableSpec, *, decided_by: str | None
    ) -> WriteRequest:
        action = "ot.write.approve" if decided_by else "ot.write"
        actor = decided_by or request.requested_by
        try:
            await self._writer(writable, request.value)
        except (ConnectionError, ValueError) as exc:
            self._decide(request, "failed", decided_by, str(exc))
            self._audit.append(
                actor, action, request.tag, outcome="failed", value=request.value,
                request=request.id, reason=str(exc),
            )  # fmt: skip
            raise WriteFailedError(f"writing {request.tag!r} failed: {exc}") from exc
        done = self._decide(request, "written", decided_by, "")
        self._audit.append(actor, action, request.tag, value=request.value, request=request.id,
                           requested_by=request.requested_by)  # fmt: skip
        return done

    def _save(self, r: WriteRequest) -> None:
        with sqlite_session(self._path) as db:
            db.execute(
                "INSERT INTO ot_writes (id, tag, value, state, requested_by, requested_ns)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (r.id, r.tag, r.value, r.state, r.requested_by, r.requested_ns),
            )

    def _decide(
        self, r: WriteRequest, state: str, decided_by: str | None, detail: str
    ) -> WriteRequest:
        now = self._clock.now_ns()
        with sqlite_session(self._path) as db:
            db.execute(
                "UPDATE ot_writes SET state = ?, decided_by = ?, decided_ns = ?, detail = ?"
                " WHERE id = ?",
                (state, decided_by, now, detail, r.id),
            )
        return WriteRequest(r.id, r.tag, r.value, state, r.requested_by, r.requested_ns,
                            decided_by, now, detail)  # fmt: skip

    def get(self, write_id: str) -> WriteRequest:
        with sqlite_session(self._path) as db:
            row = db.execute("SELECT * FROM ot_writes WHERE id = ?", (write_id,)).fetchone()
        if row is None:
            raise UnknownWriteError(f"no write request {write_id!r}")
        return WriteRequest(*row)

    def recent(self, *, limit: int = 200) -> list[WriteRequest]:
        """The newest requests, pending ones first."""
        with sqlite_session(self._path) as db:
            rows = db.execute(
                "SELECT * FROM ot_writes ORDER BY state != 'pending', requested_ns DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [WriteRequest(*row) for row in rows]
