"""Escalation: a station notification nobody acknowledges is taken further.

When a notification has waited ``after`` on a station without a person acknowledging
it, the escalation roles are told (on their channels, with retries like any
notification), and reminded every ``after`` while it stays unacknowledged, up to
``reminders`` times in all. Times are the plant's clock: the wait is the floor's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from plantos.core.clock import Clock
from plantos.integration.notify import store
from plantos.integration.notify.config import STATION, Escalation, Target
from plantos.integration.notify.routing import Address, Notice
from plantos.integration.notify.tables import notifications as n

KIND = "NotificationEscalated"


class Escalator:
    def __init__(
        self,
        engine: sa.Engine,
        policy: Escalation,
        roles: Mapping[str, Sequence[Target]],
        *,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock
        self.addresses = [
            Address(t.channel, recipient=t.to) for role in policy.to for t in roles.get(role, ())
        ]

    def run_once(self) -> int:
        """Escalate every station notification whose wait is over; how many it escalated."""
        now = self.clock.now_ns()
        due = sa.select(n).where(
            n.c.channel == STATION,
            n.c.state == "open",
            n.c.escalations < self.policy.reminders,
            sa.func.coalesce(n.c.escalated_ns, n.c.created_ns) <= now - self.policy.after_ns,
        )
        count = 0
        with self.engine.begin() as c:
            for row in c.execute(due).all():
                store.queue(c, self._notice(row), self.addresses, now_ns=now)
                c.execute(
                    n.update()
                    .where(n.c.id == row.id)
                    .values(escalations=row.escalations + 1, escalated_ns=now)
                )
                count += 1
        return count

    def _notice(self, row: sa.Row[object]) -> Notice:
        station = str(row.station)
        reminder = int(row.escalations) + 1
        return Notice(
            asset=str(row.asset),
            line=station,
            site=station.split("/", 1)[0],
            kind=KIND,
            priority=int(row.priority),
            reference=str(row.reference),
            title=f"Not acknowledged at {station} ({reminder}): {row.title}",
            body={"station": station, "notification": str(row.id), "reminder": reminder},
        )
