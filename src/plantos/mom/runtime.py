"""The operations layer in the running platform: three bus consumers.

* counts: every sample batch's part counters booked to the orders running on the
  assets (database work in a worker thread, never on the event loop), then their
  ``OrderProgressed``/``OrderStateChanged`` events published;
* floor: machine state changes and released orders turned into replanning triggers
  (an asset down or back, an urgent order); it never publishes, so it can never wait
  on its own queue;
* planner: takes the triggers, coalesced, pauses the order of a machine that went
  down, recalculates the plan and publishes ``ScheduleChanged``.

Each consumer logs, counts and survives a failing message: one bad batch never stops
order tracking.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from plantos.bus.protocol import SubscriptionPort
from plantos.core.batch import SampleBatch
from plantos.core.events import Event, MachineStateChanged
from plantos.mom.counters import CounterReader
from plantos.mom.domain.counting import Count
from plantos.mom.domain.events import OrderReleased
from plantos.mom.handlers import Booking
from plantos.mom.planner import Planner, ScheduleChange
from plantos.mom.service import MomService
from plantos.mom.store.repositories import ConcurrentChangeError

log = logging.getLogger(__name__)

DOWN = "down"
URGENT_PRIORITY = 3
"""Orders of at least this priority are planned the moment they are released."""
CHANGES_KEPT = 1000
RETRIES = 5
# Which trigger names a coalesced recalculation, most significant first.
TRIGGER_RANK = (
    "asset down",
    "asset back",
    "urgent order",
    "order finished late",
    "orders released",
    "start",
)

Emit = Callable[[Event], Awaitable[None]]


class MomRuntime:
    def __init__(
        self, service: MomService, reader: CounterReader, planner: Planner | None, *, emit: Emit
    ) -> None:
        self.service = service
        self.reader = reader
        self.planner = planner
        self.emit = emit
        self.states: dict[str, str] = {}
        self.down: set[str] = set()
        self.changes: deque[ScheduleChange] = deque(maxlen=CHANGES_KEPT)
        self.counters: Counter[str] = Counter()
        self.unassigned: Counter[str] = Counter()
        self._pending: dict[tuple[str, str | None], None] = {}
        self._down_at: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._closing = False
        self._counted_ns = 0
        self._floor_ns = 0
        self._counts_done = False
        self._counted = asyncio.Condition()

    def tasks(
        self, samples: SubscriptionPort, events: SubscriptionPort
    ) -> list[asyncio.Task[None]]:
        """Start the three consumers; they end when the bus closes."""
        self.trigger("start")
        return [
            asyncio.create_task(self._follow_counts(samples), name="mom-counts"),
            asyncio.create_task(self._follow_floor(events), name="mom-floor"),
            asyncio.create_task(self._plan_on_triggers(), name="mom-planner"),
        ]

    def trigger(self, kind: str, asset: str | None = None) -> None:
        """Ask for a recalculation; triggers that arrive while one runs are coalesced."""
        self._pending[(kind, asset)] = None
        self._wake.set()

    async def _follow_counts(self, sub: SubscriptionPort) -> None:
        try:
            async for msg in sub:
                if not isinstance(msg, SampleBatch) or not len(msg):
                    continue
                try:
                    counts = self.reader.read(msg)
                    if counts:
                        await self._book(counts)
                except Exception:
                    self.counters["count_errors"] += 1
                    log.exception("booking part counts failed")
                async with self._counted:
                    self._counted_ns = max(self._counted_ns, int(msg.ts.max()))
                    self._counted.notify_all()
        finally:
            async with self._counted:
                self._counts_done = True
                self._counted.notify_all()

    async def _counted_until(self, ts_ns: int) -> None:
        """Wait until every part made up to ``ts_ns`` is booked: an order paused at a
        breakdown keeps exactly the parts made before it."""
        async with self._counted:
            await self._counted.wait_for(lambda: self._counted_ns >= ts_ns or self._counts_done)

    async def _book(self, counts: list[Count]) -> None:
        for attempt in range(RETRIES):
            try:
                booking, events = await asyncio.to_thread(self.service.book, counts)
                break
            except ConcurrentChangeError:
                if attempt == RETRIES - 1:
                    raise
        self._note(booking)
        for event in events:
            await self.emit(event)

    def _note(self, booking: Booking) -> None:
        self.counters["parts_booked"] += booking.booked
        self.unassigned.update(booking.unassigned)
        self.counters["orders_completed"] += len(booking.completed)
        if booking.late:
            self.trigger("order finished late")

    async def _follow_floor(self, sub: SubscriptionPort) -> None:
        try:
            async for msg in sub:
                if isinstance(msg, MachineStateChanged | OrderReleased):
                    self._floor_ns = max(self._floor_ns, msg.ts_ns)
                if isinstance(msg, MachineStateChanged) and msg.subject in self.reader.assets:
                    self._machine_state(msg)
                elif isinstance(msg, OrderReleased):
                    urgent = msg.priority >= URGENT_PRIORITY
                    self.trigger(
                        "urgent order" if urgent else "orders released",
                        msg.subject if urgent else None,
                    )
        finally:
            self._closing = True
            self._wake.set()

    def _machine_state(self, event: MachineStateChanged) -> None:
        self.states[event.subject] = event.state
        if event.state == DOWN and event.subject not in self.down:
            self.down.add(event.subject)
            self._down_at[event.subject] = event.ts_ns
            self.trigger("asset down", event.subject)
        elif event.state != DOWN and event.subject in self.down:
            self.down.discard(event.subject)
            self.trigger("asset back", event.subject)

    async def _plan_on_triggers(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = list(self._pending), {}
            if pending:
                try:
                    await self._recalculate(pending)
                except Exception:
                    self.counters["plan_errors"] += 1
                    log.exception("recalculating the plan failed")
            if self._closing and not self._pending:
                return

    async def _recalculate(self, pending: list[tuple[str, str | None]]) -> None:
        for kind, asset in pending:
            if kind == "asset down" and asset is not None:
                at = self._down_at.get(asset, self.service.clock.now_ns())
                await self._counted_until(at)
                for event in await asyncio.to_thread(self.service.pause_on, asset, ts_ns=at):
                    await self.emit(event)
        if self.planner is None:
            return
        kind, asset = min(
            pending, key=lambda p: TRIGGER_RANK.index(p[0]) if p[0] in TRIGGER_RANK else 99
        )
        change, events = await asyncio.to_thread(
            self.planner.replan, kind, asset=asset, down=set(self.down), now_ns=self.data_now_ns()
        )
        if change is not None:
            self.changes.append(change)
            self.counters["plans_published"] += 1
        for event in events:
            await self.emit(event)

    def data_now_ns(self) -> int:
        """The time of the newest fact from the floor: plans start there. Live, this is
        the present; in a headless run, where the stages may lag the simulated clock,
        it keeps the plan in step with what the plant has reported."""
        seen = max(self._counted_ns, self._floor_ns)
        return seen or self.service.clock.now_ns()

    def metrics(self) -> dict[str, Any]:
        return {
            **dict(self.counters),
            "unassigned_parts": dict(self.unassigned),
            "assets_down": sorted(self.down),
            "planner": self.planner is not None,
        }
