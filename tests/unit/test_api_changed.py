"""A person's change that lost a race with the platform's own bookkeeping (the planner
marking the order scheduled, a part booked) is tried again, a few times, then refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plantos.api.orders import CHANGE_ATTEMPTS, changed
from plantos.core.events import Event, PartsCounted
from plantos.mom.store.repositories import ConcurrentChangeError


class Published:
    """Where ``changed`` publishes the events of the change that went through."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        self.events.append(event)


def racing(losses: int) -> tuple[list[int], Any]:
    tries: list[int] = []
    event = PartsCounted(ts_ns=1, subject="o-1", good=1, scrap=0)

    def work() -> tuple[str, list[Event]]:
        tries.append(len(tries) + 1)
        if len(tries) <= losses:
            raise ConcurrentChangeError("order o-1 changed meanwhile; try again")
        return "done", [event]

    return tries, work


def test_a_change_that_lost_a_race_goes_through_on_a_later_try() -> None:
    platform = Published()
    tries, work = racing(losses=CHANGE_ATTEMPTS - 1)
    assert asyncio.run(changed(platform, work)) == "done"  # type: ignore[arg-type]
    assert len(tries) == CHANGE_ATTEMPTS and len(platform.events) == 1


def test_a_change_that_keeps_losing_is_refused_and_publishes_nothing() -> None:
    platform = Published()
    tries, work = racing(losses=CHANGE_ATTEMPTS)
    with pytest.raises(ConcurrentChangeError):
        asyncio.run(changed(platform, work))  # type: ignore[arg-type]
    assert len(tries) == CHANGE_ATTEMPTS and platform.events == []
