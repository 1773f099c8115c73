"""Part counts of the assets that make orders, read from their counter tags.

The counter signals of an asset are the ones its OEE configuration names (``good`` and
``scrap``, or ``total``, optionally with an ``inspection`` pass/fail tag), so the
operations layer counts exactly the parts OEE counts. Deltas come from
:func:`~plantos.analytics.oee.counters.counter_deltas`, which survives resets,
rollovers and bad samples. Each sample that counted parts becomes one machine
:class:`~plantos.mom.domain.counting.Count` with its own timestamp, so a batch that
finishes one order and starts the next splits at the right part.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.analytics.oee.config import OeeSpec
from plantos.analytics.oee.counters import counter_deltas
from plantos.core.batch import SampleBatch
from plantos.core.quality import is_bad
from plantos.model.plant import Plant
from plantos.mom.domain.counting import Count

Int64 = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _Slot:
    asset: str
    role: str  # good, scrap, total or inspection
    rollover: int | None


class CounterReader:
    """Turns sample batches into machine counts for ``assets``."""

    def __init__(
        self, plant: Plant, oee: OeeSpec, tag_ids: Mapping[str, int], *, assets: Collection[str]
    ) -> None:
        self.slots: list[_Slot] = []
        ids: list[int] = []
        for path in sorted(assets):
            asset = plant.assets.get(path)
            spec = oee.for_asset(path, asset.type) if asset else None
            if spec is None:
                continue
            c = spec.counters
            for role, signal in (
                ("good", c.good),
                ("scrap", c.scrap),
                ("total", c.total),
                ("inspection", c.inspection),
            ):
                tag_id = tag_ids.get(f"{path}/{signal}") if signal else None
                if tag_id is not None:
                    self.slots.append(_Slot(path, role, c.rollover))
                    ids.append(int(tag_id))
        self.assets = {s.asset for s in self.slots}
        self._lookup = np.full(max(ids, default=-1) + 1, -1, dtype=np.int32)
        self._lookup[ids] = np.arange(len(ids), dtype=np.int32)
        self._last = np.full(len(ids), np.nan)

    def read(self, batch: SampleBatch) -> list[Count]:
        """The machine counts in ``batch``, in time order."""
        ids = batch.tag_id
        inside = (ids >= 0) & (ids < len(self._lookup))
        slot = np.full(len(ids), -1, dtype=np.int32)
        slot[inside] = self._lookup[ids[inside]]
        rows = np.flatnonzero(slot >= 0)
        if len(rows) == 0:
            return []
        rows = rows[np.argsort(slot[rows], kind="stable")]
        out: list[Count] = []
        for part in np.split(rows, np.flatnonzero(np.diff(slot[rows])) + 1):
            k = int(slot[part[0]])
            out += self._counts(k, batch.ts[part], batch.value[part], ~is_bad(batch.quality[part]))
        out.sort(key=lambda c: c.ts_ns)
        return out

    def _counts(self, k: int, ts: Int64, values: Float, ok: Bool) -> list[Count]:
        s = self.slots[k]
        if s.role == "inspection":
            failed = np.flatnonzero(ok & (values < 0.5))
            return [Count("machine", s.asset, int(ts[i]), 0, 1, from_good=True) for i in failed]
        deltas, self._last[k] = counter_deltas(
            values, last=float(self._last[k]), valid=ok, rollover=s.rollover
        )
        hits = np.flatnonzero(deltas)
        if s.role == "scrap":
            return [Count("machine", s.asset, int(ts[i]), 0, int(deltas[i])) for i in hits]
        return [Count("machine", s.asset, int(ts[i]), int(deltas[i])) for i in hits]
