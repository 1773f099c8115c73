"""The demo plant's orders: a deterministic stream per seed, released as simulated time
passes, and the simulator's ground truth of the parts each order got.

The stream is described in the master data file's ``order_stream`` section. The ground
truth of an order is what the simulator itself finished on the order's assets while the
order ran there (its ``runs``): the platform counts the same parts from the counter
tags, so the two agree unless a part is lost or counted twice on the way.
"""

from __future__ import annotations

import asyncio
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from plantos.app import Platform
from plantos.core.clock import ManualClock
from plantos.core.events import Event, PartsCounted
from plantos.core.timeparse import iso, parse_duration_ns
from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.feed import SimulatorFeed
from plantos.demo.simulator import Simulator
from plantos.mom.config import mom_config
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.order import ProductionOrder
from plantos.mom.masterdata import load_master_data

URGENT = 3


def order_stream(
    spec: Mapping[str, Any], *, seed: int, start_ns: int, end_ns: int
) -> list[NewOrder]:
    """Every order the stream releases in ``[start_ns, end_ns)``, in release order.

    ``ValueError`` names a wrong field of the ``order_stream`` section."""
    products = spec.get("products") or {}
    if not isinstance(products, Mapping) or not products:
        raise ValueError("order_stream.products must map product ids to quantity and due_after")
    every = parse_duration_ns(str(spec.get("every", "1h")))
    if every <= 0:
        raise ValueError("order_stream.every must be positive")
    initial = int(spec.get("initial", 0))
    urgent_share = float(spec.get("urgent_share", 0.0))
    rng = np.random.default_rng([seed, zlib.crc32(b"order-stream")])
    names = sorted(products)
    releases = [start_ns] * initial + list(range(start_ns + every, end_ns, every))
    out = []
    for n, release in enumerate(releases, start=1):
        product = names[int(rng.integers(len(names)))]
        p = products[product]
        lo, hi = (int(q) for q in p["quantity"])
        due_lo, due_hi = (parse_duration_ns(str(d)) for d in p["due_after"])
        quantity = int(rng.integers(lo, hi + 1))
        due = release + int(rng.uniform(due_lo, due_hi)) // 60_000_000_000 * 60_000_000_000
        urgent = bool(rng.uniform() < urgent_share)
        out.append(
            NewOrder(f"PO-{n:04d}", product, quantity, due, release, URGENT if urgent else 1)
        )
    return out


class RecordingSimulator(Simulator):
    """The simulator, keeping the parts it finished (its ground truth) per asset."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parts: dict[str, tuple[list[int], list[int], list[int]]] = {}

    def step(self, until_ns: int) -> tuple[Any, list[Event]]:
        batch, events = super().step(until_ns)
        for e in events:
            if isinstance(e, PartsCounted):
                ts, good, scrap = self.parts.setdefault(e.subject, ([], [], []))
                ts.append(e.ts_ns)
                good.append(e.good)
                scrap.append(e.scrap)
        return batch, events

    def truth(self, order: ProductionOrder, *, end_ns: int) -> dict[str, int]:
        """Good and scrap parts the simulator finished on the order's assets while it ran
        there (each run from its start to its end, both included)."""
        good = scrap = 0
        for asset, start, stop in order.runs:
            ts, g, s = self.parts.get(asset, ([], [], []))
            i, j = bisect_left(ts, start), bisect_right(ts, end_ns if stop is None else stop)
            good += sum(g[i:j])
            scrap += sum(s[i:j])
        return {"good": good, "scrap": scrap}


def releases_due(pending: Sequence[NewOrder], until_ns: int) -> int:
    """How many of the release-ordered ``pending`` orders are released before ``until_ns``."""
    return sum(1 for o in pending if (o.release_ns or 0) < until_ns)


async def run_with_orders(
    feed: SimulatorFeed,
    platform: Platform,
    pending: Sequence[NewOrder],
    *,
    end_ns: int,
    clock: ManualClock,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Headless: like :meth:`SimulatorFeed.run_until`, releasing each order of ``pending``
    (in release order) before the chunk in which it falls."""
    released = 0
    while feed.simulator.now_ns < end_ns:
        target = min(end_ns, feed.simulator.now_ns + feed.chunk_ns)
        n = releases_due(pending[released:], target)
        if n:
            batch = list(pending[released : released + n])
            _, events = await asyncio.to_thread(platform.mom.service.create_orders, batch)
            released += n
            for event in events:
                await platform.emit(event)
        clock.advance_to(target)
        await feed.advance_to(target)
        if on_progress is not None:
            on_progress(target)


def orders_report(
    platform: Platform, simulator: RecordingSimulator, end_ns: int
) -> list[dict[str, Any]]:
    """The report's ``orders``: every order with its counts, state and ground truth."""
    return [
        {
            "id": o.id,
            "product": o.product,
            "quantity": o.quantity,
            "good": o.good_total,
            "scrap": o.scrap_total,
            "state": o.state,
            "due": iso(o.due_ns),
            "completed": iso(o.completed_ns) if o.completed_ns is not None else None,
            "late": o.completed_ns is not None and o.completed_ns > o.due_ns,
            "ground_truth": simulator.truth(o, end_ns=end_ns),
        }
        for o in sorted(platform.mom.service.orders(), key=lambda o: o.id)
    ]


def schedule_changes_report(platform: Platform) -> list[dict[str, Any]]:
    """The report's ``schedule_changes``: every recalculation with what moved."""

    def when(side: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "asset": side["asset"],
            "start": iso(side["start_s"] * NS),
            "end": iso(side["end_s"] * NS),
        }

    return [
        {
            "at": iso(c.at_ns),
            "trigger": c.trigger,
            "asset": c.asset,
            "plan_id": c.plan_id,
            "solver": c.solver,
            "moved": [
                {
                    "order": m["order"],
                    "index": m["index"],
                    "old": when(m["old"]),
                    "new": when(m["new"]),
                }
                for m in c.moved
            ],
            "late_orders": list(c.late_orders),
            "solve_ms": round(c.solve_ms, 1),
            "weighted_tardiness_s": c.weighted_tardiness_s,
            "dispatch_weighted_tardiness_s": c.dispatch_weighted_tardiness_s,
            "assets_down": list(c.down),
            "planned_on_down_assets": c.planned_on_down,
        }
        for c in platform.mom.changes
    ]


def stream_for(platform: Platform, *, seed: int, start_ns: int, end_ns: int) -> list[NewOrder]:
    """The plant's order stream over ``[start_ns, end_ns)`` (none without master data)."""
    master_file = mom_config(platform.plant).master_data
    if master_file is None:
        return []
    spec = load_master_data(master_file, assets=platform.plant.assets).order_stream
    return order_stream(spec, seed=seed, start_ns=start_ns, end_ns=end_ns) if spec else []


async def release_live(
    platform: Platform, pending: Sequence[NewOrder], *, poll_s: float = 1.0
) -> None:
    """Live demo: release each order (in release order) once platform time reaches its
    release; those already due when it starts go at once. Orders that exist already (a
    restarted demo keeping its data) are skipped."""
    known = {o.id for o in await asyncio.to_thread(platform.mom.service.orders)}
    waiting = [o for o in pending if o.id not in known]
    while waiting:
        n = releases_due(waiting, platform.clock.now_ns() + 1)
        if n:
            batch, waiting = list(waiting[:n]), waiting[n:]
            _, events = await asyncio.to_thread(platform.mom.service.create_orders, batch)
            for event in events:
                await platform.emit(event)
        else:
            await asyncio.sleep(poll_s)
