"""Notifications end to end on SQLite and PostgreSQL: routed, queued in the caller's
transaction, folded when they flood, delivered over STARTTLS e-mail (aiosmtpd) and a
signed webhook (a real HTTP server) with retries; a receiver that is down and comes back
gets each notification once; station notifications wait for a person's acknowledgement."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.core.clock import ManualClock, WallClock
from plantos.integration.channels.retry import RetryPolicy
from plantos.integration.channels.smtp import SmtpChannel
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.notify import store
from plantos.integration.notify.config import Escalation, Rule, Target
from plantos.integration.notify.dispatcher import Dispatcher
from plantos.integration.notify.escalation import Escalator
from plantos.integration.notify.routing import Notice, Router
from plantos.integration.notify.store import NotificationError
from tests.support.mosquitto import free_port
from tests.support.receivers import SECRET, Mailbox, Receiver, mail_server, serving

pytestmark = pytest.mark.timeout(90)

NS = 1_000_000_000
T0 = 1_767_225_600 * NS
LINE = "plant-a/machining/line-1"
ASSET = f"{LINE}/cnc-07"


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    with mail_server(tmp_path) as running:
        yield running


ROUTER = Router(
    [
        Rule(kinds=["WorkOrderOpened"], priority_at_most=2, to=["maintenance", "station"]),
        Rule(kinds=["WorkOrderOpened"], lines=["plant-b/assembly/line-2"], to=["station"]),
    ],
    {
        "maintenance": [
            Target(channel="maintenance-mail", to="maintenance@acme.example"),
            Target(channel="maintenance-hook"),
        ]
    },
)


def notice(priority: int = 1, reference: str = "WO-1") -> Notice:
    return Notice(
        asset=ASSET, line=LINE, site="plant-a", kind="WorkOrderOpened", priority=priority,
        reference=reference, title=f"{reference} vibration on cnc-07",
        body={"work_order": reference, "failure_mode": "VIB"},
    )  # fmt: skip


def queue(engine: sa.Engine, item: Notice) -> list[store.Notification]:
    with engine.begin() as c:
        return store.queue(c, item, ROUTER.route(item), now_ns=T0)


def dispatcher(engine: sa.Engine, mail_port: int, ca_file: Path, hook_port: int) -> Dispatcher:
    channels = {
        "maintenance-mail": SmtpChannel(
            "127.0.0.1", mail_port, sender="plantos@acme.example", ca_file=ca_file,
            name="maintenance-mail", timeout_s=5.0,
        ),
        "maintenance-hook": WebhookChannel(
            f"http://127.0.0.1:{hook_port}/alerts", secret=SECRET, clock=WallClock(),
            name="maintenance-hook", timeout_s=5.0,
        ),
    }  # fmt: skip
    wall = ManualClock(int(datetime(2026, 3, 2, tzinfo=UTC).timestamp()) * NS)
    return Dispatcher(engine, channels, wall=wall, retry=RetryPolicy(initial_s=5, max_s=60))


def test_routing_reaches_roles_and_the_line_station_by_priority(engine: sa.Engine) -> None:
    routed = queue(engine, notice(priority=1))
    assert sorted((n.channel, n.recipient, n.station, n.state) for n in routed) == [
        ("maintenance-hook", None, None, "queued"),
        ("maintenance-mail", "maintenance@acme.example", None, "queued"),
        ("station", None, LINE, "open"),
    ]
    assert queue(engine, notice(priority=3, reference="WO-2")) == []  # too low for any rule
    other_line = Notice(**{**notice(priority=3).__dict__, "line": "plant-b/assembly/line-2"})
    assert [(a.channel, a.station) for a in ROUTER.route(other_line)] == [
        ("station", "plant-b/assembly/line-2")
    ]


def test_a_flood_becomes_one_message_per_address(engine: sa.Engine) -> None:
    for i in range(20):
        queue(engine, notice(reference=f"WO-{i}"))
    rows = store.listing(engine)
    assert len(rows) == 3
    assert {n.occurrences for n in rows} == {20}
    assert {n.reference for n in rows} == {"WO-19"}


def test_each_alert_is_delivered_once_even_when_the_receiver_was_down(
    engine: sa.Engine, mail: tuple[Mailbox, int, Path]
) -> None:
    mailbox, mail_port, ca_file = mail
    hook_port, receiver = free_port(), Receiver()
    queue(engine, notice())
    sender = dispatcher(engine, mail_port, ca_file, hook_port)

    async def run() -> None:
        assert await sender.run_once() == 1  # the e-mail; the webhook receiver is down
        hook = next(n for n in store.listing(engine) if n.channel == "maintenance-hook")
        assert (hook.state, hook.attempts) == ("retrying", 1) and hook.last_error
        assert await sender.run_once() == 0  # not due yet: back-off
        assert isinstance(sender.wall, ManualClock)
        sender.wall.advance_to(sender.wall.now_ns() + 10 * NS)
        with serving(receiver, hook_port):
            assert await sender.run_once() == 1
            assert await sender.run_once() == 0  # delivered ones are never sent again
        await sender.close()

    asyncio.run(run())
    states = {n.channel: (n.state, n.attempts) for n in store.listing(engine)}
    assert states == {
        "maintenance-mail": ("delivered", 1),
        "maintenance-hook": ("delivered", 2),
        "station": ("open", 0),
    }
    assert len(mailbox.received) == 1 and mailbox.received[0][0] == ["maintenance@acme.example"]
    assert b"WO-1 vibration on cnc-07" in mailbox.received[0][1]
    assert receiver.requests == 1 and len(receiver.effects) == 1
    (envelope,) = receiver.effects.values()
    assert envelope["payload"]["work_order"] == "WO-1" and envelope["payload"]["priority"] == 1


def test_station_notification_is_acknowledged_once_by_a_person(engine: sa.Engine) -> None:
    queue(engine, notice())
    (station,) = store.listing(engine, station=LINE)
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    done = store.acknowledge(engine, station.id, by="olga", at=at)
    assert (done.state, done.acknowledged_by) == ("acknowledged", "olga")
    with pytest.raises(NotificationError, match="acknowledged already by olga"):
        store.acknowledge(engine, station.id, by="piet", at=at)
    mail_row = next(n for n in store.listing(engine) if n.channel == "maintenance-mail")
    with pytest.raises(NotificationError, match="no station notification"):
        store.acknowledge(engine, mail_row.id, by="olga", at=at)


def test_an_unacknowledged_station_notification_is_escalated_with_reminders(
    engine: sa.Engine,
) -> None:
    queue(engine, notice())
    clock = ManualClock(T0)
    lead = [Target(channel="maintenance-mail", to="lead@acme.example")]
    escalator = Escalator(
        engine, Escalation(after_ns=900 * NS, to=["lead"], reminders=2), {"lead": lead}, clock=clock
    )
    assert escalator.run_once() == 0  # not waited long enough
    clock.advance_to(T0 + 900 * NS)
    assert escalator.run_once() == 1
    assert escalator.run_once() == 0  # the next reminder is another 15 minutes away
    (told,) = [n for n in store.listing(engine) if n.kind == "NotificationEscalated"]
    assert (told.recipient, told.state, told.occurrences) == ("lead@acme.example", "queued", 1)
    assert told.title.startswith(f"Not acknowledged at {LINE} (1)")
    clock.advance_to(T0 + 1800 * NS)
    assert escalator.run_once() == 1  # the reminder folds into the undelivered message
    clock.advance_to(T0 + 2700 * NS)
    assert escalator.run_once() == 0  # two in all
    (told,) = [n for n in store.listing(engine) if n.kind == "NotificationEscalated"]
    assert told.occurrences == 2


def test_an_acknowledged_notification_is_not_escalated(engine: sa.Engine) -> None:
    queue(engine, notice())
    (station,) = store.listing(engine, station=LINE)
    store.acknowledge(engine, station.id, by="olga", at=datetime(2026, 3, 2, tzinfo=UTC))
    clock = ManualClock(T0 + 3600 * NS)
    lead = {"lead": [Target(channel="maintenance-mail", to="lead@acme.example")]}
    escalator = Escalator(engine, Escalation(900 * NS, ["lead"], 2), lead, clock=clock)
    assert escalator.run_once() == 0
