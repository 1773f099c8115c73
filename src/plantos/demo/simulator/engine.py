"""The simulated plant: every simulated asset stepped through time, as batches and events.

Output must not depend on how callers step (one 8 h step or 28,800 steps of
1 s), so the engine always generates in fixed chunks of simulated time and
buffers: :meth:`Simulator.step` hands out what is finished and keeps the rest.
Each asset draws from its own random streams seeded by the simulation seed and
its path, so adding an asset to the plant leaves the others unchanged.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from plantos.core.batch import SampleBatch
from plantos.core.events import Event
from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.simulator.assembly import AssemblyStation
from plantos.demo.simulator.cnc import CncMill
from plantos.demo.simulator.context import AssetContext, AssetModel
from plantos.demo.simulator.furnace import Furnace
from plantos.demo.simulator.scenarios import KINDS, Degradation, Scenario
from plantos.demo.simulator.schedule import PlannedSchedule
from plantos.demo.simulator.signals import Chunk, FloatArray, IntArray, TagWriter
from plantos.demo.simulator.weld import WeldCell
from plantos.model.plant import Plant

CHUNK_NS = 300 * NS
MODELS: dict[str, Callable[[AssetContext], AssetModel]] = {
    "cnc-mill": CncMill,
    "furnace": Furnace,
    "weld-cell": WeldCell,
    "assembly-station": AssemblyStation,
}
_Columns = tuple[np.ndarray[Any, np.dtype[np.int32]], IntArray, FloatArray]


class Simulator:
    """Produces the samples and events of the simulated assets of a plant, deterministically.

    ``tag_ids`` maps tag paths to the historian's integer ids; only tags in it
    are emitted. The same plant, seed, start and scenarios give byte-identical
    output however :meth:`step` is called.
    """

    def __init__(
        self,
        plant: Plant,
        tag_ids: Mapping[str, int],
        *,
        seed: int = 0,
        start_ns: int,
        scenarios: Sequence[Scenario] = (),
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if isinstance(start_ns, bool) or not isinstance(start_ns, int):
            raise TypeError(f"start_ns must be integer nanoseconds, got {start_ns!r}")
        self._now = self._horizon = start_ns
        self._degradations = _resolve(plant, scenarios, start_ns)
        by_asset = {d.asset: d for d in self._degradations}
        schedules: dict[str | None, PlannedSchedule] = {}
        self._models: list[AssetModel] = []
        #: Paths of the assets being simulated, in plant order.
        self.assets: tuple[str, ...] = tuple(
            p for p, a in plant.assets.items() if a.simulator.get("model") in MODELS
        )
        for path in self.assets:
            asset = plant.assets[path]
            if asset.calendar not in schedules:
                schedules[asset.calendar] = PlannedSchedule(plant.calendar_for(path))
            streams = np.random.SeedSequence([seed, zlib.crc32(path.encode())]).spawn(3)
            ctx = AssetContext(
                asset=asset,
                params=dict(asset.simulator),
                writer=TagWriter(asset, tag_ids),
                schedule=schedules[asset.calendar],
                start_ns=start_ns,
                timeline_rng=np.random.default_rng(streams[0]),
                rng=np.random.default_rng(streams[1]),
                scenario_rng=np.random.default_rng(streams[2]),
                degradation=by_asset.get(path),
            )
            self._models.append(MODELS[asset.simulator["model"]](ctx))
        self._ready: deque[_Columns] = deque()
        self._pending: _Columns = _empty()
        self._events: deque[Event] = deque()

    @property
    def now_ns(self) -> int:
        """How far the simulation has been handed out: the ``until_ns`` of the last step."""
        return self._now

    def step(self, until_ns: int) -> tuple[SampleBatch, list[Event]]:
        """Every sample with a timestamp in ``[now_ns, until_ns)`` and the events of that range.

        Samples come as one batch sorted by time; events as a list in time order.
        """
        if until_ns < self._now:
            raise ValueError(f"cannot step back: until {until_ns} is before now {self._now}")
        while self._horizon < until_ns:
            self._generate()
        parts: list[_Columns] = []
        while self._ready:
            ids, ts, values = self._ready[0]
            if ts[-1] < until_ns:
                parts.append(self._ready.popleft())
                continue
            k = int(np.searchsorted(ts, until_ns, side="left"))
            if k:
                parts.append((ids[:k], ts[:k], values[:k]))
                self._ready[0] = (ids[k:], ts[k:], values[k:])
            break
        events = []
        while self._events and self._events[0].ts_ns < until_ns:
            events.append(self._events.popleft())
        self._now = until_ns
        return _batch(parts), events

    def ground_truth(self) -> list[dict[str, Any]]:
        """Per scenario: kind, asset, onset and functional failure (ISO and ns) and parameters."""
        return [d.ground_truth() for d in self._degradations]

    def _generate(self) -> None:
        start, end = self._horizon, self._horizon + CHUNK_NS
        chunk = Chunk(start, end, np.arange(-(-start // NS) * NS, end, NS, dtype=np.int64))
        ids, stamps, values = [self._pending[0]], [self._pending[1]], [self._pending[2]]
        events: list[Event] = []
        for model in self._models:
            out = model.generate(chunk)
            for tag_id, ts, v in out.series:
                ids.append(np.full(len(ts), tag_id, dtype=np.int32))
                stamps.append(ts)
                values.append(v)
            events += out.events
        ts_all = np.concatenate(stamps)
        order = np.argsort(ts_all, kind="stable")
        cols = (np.concatenate(ids)[order], ts_all[order], np.concatenate(values)[order])
        cut = int(np.searchsorted(cols[1], end, side="left"))
        if cut:
            self._ready.append((cols[0][:cut], cols[1][:cut], cols[2][:cut]))
        self._pending = (cols[0][cut:], cols[1][cut:], cols[2][cut:])
        events.sort(key=lambda e: e.ts_ns)
        self._events.extend(events)
        self._horizon = end


def _resolve(plant: Plant, scenarios: Sequence[Scenario], start_ns: int) -> list[Degradation]:
    out: list[Degradation] = []
    for sc in scenarios:
        asset = plant.assets.get(sc.asset)
        kind = KINDS.get(sc.kind)
        if kind is None:
            raise ValueError(f"unknown scenario kind {sc.kind!r}")
        if asset is None or asset.simulator.get("model") != kind.model:
            raise ValueError(f"scenario {sc.kind} needs a simulated {kind.model}, not {sc.asset!r}")
        if any(d.asset == sc.asset for d in out):
            raise ValueError(f"two scenarios on one asset {sc.asset!r}: give one per asset")
        out.append(sc.resolve(start_ns, PlannedSchedule(plant.calendar_for(sc.asset))))
    return out


def _empty() -> _Columns:
    return np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.float64)


def _batch(parts: list[_Columns]) -> SampleBatch:
    """One batch from buffered pieces; a single piece is handed out without a copy."""
    if not parts:
        return SampleBatch.empty()
    if len(parts) == 1:
        ids, ts, values = parts[0]
    else:
        ids = np.concatenate([p[0] for p in parts])
        ts = np.concatenate([p[1] for p in parts])
        values = np.concatenate([p[2] for p in parts])
    return SampleBatch(ids, ts, values, np.zeros(len(ts), dtype=np.uint32))
