"""The operations layer in the running platform: three bus consumers.

* counts: every sample batch's part counters booked to the orders running on the
  assets (database work in a worker thread, never on the event loop), then their
  ``OrderProgressed``/``OrderStateChanged`` events published;
* floor: machine state changes and released orders turned into replanning triggers
  (an asset down or back, an urgent order); it never publishes, so it can never wait
  on its own queue;
* planner: takes the triggers, coalesced, pauses the order of a machine that went
  down, publishes the plan in force repaired for each trigger at once, then CP-SAT's
  better plan for the last of them (skipped when newer triggers came meanwhile: their
  own repair and search follow), each with ``ScheduleChanged``.

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
from plantos.mom.domain.events import OrderAmended, OrderReleased, OrderStateChanged
from plantos.mom.handlers import Booking
from plantos.mom.planner import Draft, Planner, ScheduleChange
from plantos.mom.service import MomService
from plantos.mom.store.repositories import ConcurrentChangeError

log = logging.getLogger(__name__)

DOWN = "down"
URGENT_PRIORITY = 3
"""Orders of at least this priority are planned the moment they are released."""
CHANGES_KEPT = 1000
OUTAGES_KEPT = 16
RETRIES = 5
COUNT_BATCHES_PER_BOOKING = 256
"""At most this many queued sample batches are booked in one transaction."""
BOOKING_RETRY_S = 2.0
"""How soon counts whose booking failed are tried again when no batch comes first."""
UNBOOKED_LIMIT = 100_000
"""Part counts held at most while their booking fails (a few MB); beyond, the oldest
are given up and counted."""
# Which trigger names a coalesced recalculation, most significant first.
TRIGGER_RANK = (
    "maintenance window",
    "asset down",
    "asset back",
    "urgent order",
    "order finished late",
    "manual",
    "orders released",
    "orders changed",
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
        self._timed: list[tuple[int, str, str]] = []
        """Machine-state triggers (time, kind, asset): each replans as of its time."""
        self._untimed: dict[tuple[str, str | None], None] = {}
        """Other triggers, coalesced into one recalculation as of the newest fact."""
        self._outages: dict[str, deque[list[int | None]]] = {}
        self._wake = asyncio.Event()
        self._closing = False
        self._counted_ns = 0
        self._floor_ns = 0
        self._counts_done = False
        self._counted = asyncio.Condition()

    def stages(
        self, samples: SubscriptionPort, events: SubscriptionPort
    ) -> dict[str, Callable[[], Awaitable[None]]]:
        """The three consumers by name, for the platform's supervisor to run: counts from
        ``samples``, machine states and releases from ``events``, and the planner; they end
        when the bus closes. Asks for a first plan."""
        self.trigger("start")
        return {
            "mom-counts": lambda: self._follow_counts(samples),
            "mom-floor": lambda: self._follow_floor(events),
            "mom-planner": self._plan_on_triggers,
        }

    def trigger(self, kind: str, asset: str | None = None, *, at_ns: int | None = None) -> None:
        """Ask for a recalculation, as of ``at_ns`` (when the fact that asks for it
        happened) or of the newest fact; untimed triggers are coalesced."""
        if at_ns is not None and asset is not None:
            self._timed.append((at_ns, kind, asset))
        else:
            self._untimed[(kind, asset)] = None
        self._wake.set()

    def down_at(self, ts_ns: int) -> set[str]:
        """The assets whose machine state was down at ``ts_ns``, as far as known then."""
        return {
            asset
            for asset, spans in self._outages.items()
            if any(s is not None and s <= ts_ns and (e is None or e > ts_ns) for s, e in spans)
        }

    async def _follow_counts(self, sub: SubscriptionPort) -> None:
        """Book the part counts in the samples. Whatever queued while one booking ran is
        booked in the next, in one transaction: a booking costs a commit, so taking batches
        one by one would let this queue fill and hold every publisher on the bus.

        A booking that fails (the database is away) loses nothing: its counts wait,
        with those read meanwhile, and are booked in time order with the next batch or
        after :data:`BOOKING_RETRY_S`; the queue keeps draining, so the bus is never held.
        Only beyond :data:`UNBOOKED_LIMIT` waiting counts are the oldest given up,
        counted in ``counts_dropped`` and logged."""
        unbooked: list[Count] = []
        read_ns = 0  # the newest sample read: booked up to there once nothing waits
        try:
            while (
                samples := await _queued(sub, BOOKING_RETRY_S if unbooked else None)
            ) is not None:
                if samples:
                    batch = SampleBatch.concat(samples)
                    read_ns = max(read_ns, int(batch.ts.max()))
                    try:
                        unbooked += self.reader.read(batch)
                    except Exception:
                        self.counters["count_errors"] += 1
                        log.exception("reading part counts failed")
                if unbooked and not await self._book_waiting(unbooked):
                    self._bound(unbooked)
                    continue
                async with self._counted:
                    self._counted_ns = max(self._counted_ns, read_ns)
                    self._counted.notify_all()
            if unbooked and not await self._book_waiting(unbooked):
                self.counters["counts_dropped"] += len(unbooked)
                log.error("stopping with %d part counts not booked", len(unbooked))
        finally:
            async with self._counted:
                self._counts_done = True
                self._counted.notify_all()

    async def _book_waiting(self, unbooked: list[Count]) -> bool:
        """Book ``unbooked`` and empty it; False, with it kept, when the booking's
        transaction fails. Once it committed, the counts are never booked again: a
        failure to publish its events is counted and logged."""
        try:
            booking, events = await self._book(unbooked)
        except Exception:
            self.counters["count_errors"] += 1
            if not self.counters["counts_waiting"]:
                log.exception("booking part counts failed; they wait and are booked later")
            self.counters["counts_waiting"] = len(unbooked)
            return False
        if self.counters["counts_waiting"]:
            log.info("booked %d part counts that waited for the database", len(unbooked))
        self.counters["counts_waiting"] = 0
        unbooked.clear()
        self._note(booking)
        try:
            for event in events:
                await self.emit(event)
        except Exception:
            self.counters["count_errors"] += 1
            log.exception("publishing the events of booked part counts failed")
        return True

    def _bound(self, unbooked: list[Count]) -> None:
        """Give up the oldest waiting counts beyond :data:`UNBOOKED_LIMIT`, visibly."""
        excess = len(unbooked) - UNBOOKED_LIMIT
        if excess > 0:
            del unbooked[:excess]
            self.counters["counts_dropped"] += excess
            self.counters["counts_waiting"] = len(unbooked)
            log.error("gave up the %d oldest part counts waiting to be booked", excess)

    async def _counted_until(self, ts_ns: int) -> None:
        """Wait until every part made up to ``ts_ns`` is booked: an order paused at a
        breakdown keeps exactly the parts made before it."""
        async with self._counted:
            await self._counted.wait_for(lambda: self._counted_ns >= ts_ns or self._counts_done)

    async def _book(self, counts: list[Count]) -> tuple[Booking, list[Event]]:
        """One transaction, tried again when another writer changed the same orders."""
        for _ in range(RETRIES - 1):
            try:
                return await asyncio.to_thread(self.service.book, counts)
            except ConcurrentChangeError:
                continue
        return await asyncio.to_thread(self.service.book, counts)

    def _note(self, booking: Booking) -> None:
        self.counters["bookings"] += 1
        self.counters["parts_booked"] += booking.booked
        self.unassigned.update(booking.unassigned)
        self.counters["orders_completed"] += len(booking.completed)
        if booking.late:
            self.trigger("order finished late")

    async def _follow_floor(self, sub: SubscriptionPort) -> None:
        try:
            async for msg in sub:
                if isinstance(msg, MachineStateChanged):
                    self._floor_ns = max(self._floor_ns, msg.ts_ns)
                if isinstance(msg, MachineStateChanged) and msg.subject in self.reader.assets:
                    self._machine_state(msg)
                elif isinstance(msg, OrderReleased):
                    urgent = msg.priority >= URGENT_PRIORITY
                    self.trigger(
                        "urgent order" if urgent else "orders released",
                        msg.subject if urgent else None,
                    )
                elif isinstance(msg, OrderAmended) or (
                    isinstance(msg, OrderStateChanged) and msg.state == "cancelled"
                ):
                    self.trigger("orders changed")  # the ERP changed or withdrew an order
        finally:
            self._closing = True
            self._wake.set()
            if self.planner is not None:
                self.planner.stop()  # a search under way must not hold up the stop

    def _machine_state(self, event: MachineStateChanged) -> None:
        self.states[event.subject] = event.state
        spans = self._outages.setdefault(event.subject, deque(maxlen=OUTAGES_KEPT))
        if event.state == DOWN and event.subject not in self.down:
            self.down.add(event.subject)
            spans.append([event.ts_ns, None])
            self.trigger("asset down", event.subject, at_ns=event.ts_ns)
        elif event.state != DOWN and event.subject in self.down:
            self.down.discard(event.subject)
            if spans:
                spans[-1][1] = event.ts_ns
            self.trigger("asset back", event.subject, at_ns=event.ts_ns)

    async def _plan_on_triggers(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            timed, self._timed = sorted(self._timed), []
            untimed, self._untimed = list(self._untimed), {}
            try:
                await self._recalculate(timed, untimed)
            except Exception:
                self.counters["plan_errors"] += 1
                log.exception("recalculating the plan failed")
            if self._closing and not self._timed and not self._untimed:
                return

    async def _recalculate(
        self, timed: list[tuple[int, str, str]], untimed: list[tuple[str, str | None]]
    ) -> None:
        """Each breakdown and repair in time order (pausing the order of a machine that
        went down once its parts up to then are booked), then the other triggers, each
        with its repaired plan; then one search for a better plan than the last."""
        last: Draft | None = None
        for at, kind, asset in timed:
            if kind == "asset down":
                await self._counted_until(at)
                for event in await asyncio.to_thread(self.service.pause_on, asset, ts_ns=at):
                    await self.emit(event)
            last = await self._repair(kind, asset, at) or last
        if untimed:
            kind, name = min(untimed, key=lambda t: TRIGGER_RANK.index(t[0]))
            last = await self._repair(kind, name, self.data_now_ns()) or last
        if last is not None:
            await self._improve(last)

    async def _repair(self, kind: str, asset: str | None, now_ns: int) -> Draft | None:
        if self.planner is None:
            return None
        draft = await asyncio.to_thread(
            self.planner.repair, kind, asset=asset, down=self.down_at(now_ns), now_ns=now_ns
        )
        if draft is not None:
            await self._published(draft)
        return draft

    async def _improve(self, draft: Draft) -> None:
        """CP-SAT's plan after the repair, unless a newer trigger or the stop came first."""
        if self.planner is None or self._superseded():
            self.counters["searches_superseded"] += 1
            return
        better = await asyncio.to_thread(self.planner.improve, draft)
        if better is not None:
            await self._published(better)

    def _superseded(self) -> bool:
        """Whether triggers are waiting (their repair comes first, and a search after
        them) or the platform is stopping. A search once started is published, so
        triggers coming faster than searches end never starve the plan of one."""
        return self._wake.is_set() or self._closing

    async def _published(self, draft: Draft) -> None:
        self.changes.append(draft.change)
        self.counters["plans_published"] += 1
        for event in draft.events:
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


async def _queued(sub: SubscriptionPort, wait_s: float | None) -> list[SampleBatch] | None:
    """The sample batches of the next message and of those queued behind it (at most
    :data:`COUNT_BATCHES_PER_BOOKING` messages); empty when ``wait_s`` passed first,
    None once the bus closed. ``asyncio.timeout``, not ``wait_for``: on Python 3.11 that
    drops a cancellation arriving as the message does, and the platform's stop hangs."""
    try:
        async with asyncio.timeout(wait_s):  # not wait_for: see the docstring
            messages = [await sub.get()]
    except TimeoutError:
        messages = []
    except StopAsyncIteration:
        return None
    while len(messages) < COUNT_BATCHES_PER_BOOKING and (more := sub.get_nowait()) is not None:
        messages.append(more)
    return [m for m in messages if isinstance(m, SampleBatch) and len(m)]
