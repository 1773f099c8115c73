"""Every configured asset's :class:`StateTracker`, fed from plant-wide sample batches.

Batches carry samples of all tags mixed; this routes them with two lookup
arrays indexed by tag id (which tracker, which of its inputs) and one stable
sort, so a batch costs a few numpy passes however many assets there are.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from plantos.analytics.oee.binding import bind
from plantos.analytics.oee.config import OeeSpec
from plantos.analytics.oee.state import StateTracker
from plantos.core.batch import SampleBatch
from plantos.core.events import MachineStateChanged
from plantos.model.plant import Plant


class PlantTracker:
    """State trackers for every asset with an OEE spec, keyed by asset path."""

    def __init__(self, plant: Plant, config: OeeSpec, tag_ids: Mapping[str, int]) -> None:
        self.trackers: dict[str, StateTracker] = {}
        routes: list[tuple[int, int, int]] = []
        for path, asset in plant.assets.items():
            spec = config.for_asset(path, asset.type)
            if spec is None:
                continue
            tracker = StateTracker(bind(spec, asset))
            index = len(self.trackers)
            self.trackers[path] = tracker
            for slot, signal in enumerate(tracker.inputs):
                tag_id = tag_ids.get(f"{path}/{signal}")
                if tag_id is not None:
                    routes.append((int(tag_id), index, slot))
        size = max((r[0] for r in routes), default=-1) + 1
        self._tracker = np.full(size, -1, dtype=np.int32)
        self._slot = np.zeros(size, dtype=np.intp)
        for tag_id, index, slot in routes:
            self._tracker[tag_id], self._slot[tag_id] = index, slot
        self._order = list(self.trackers.values())

    def feed(self, batch: SampleBatch) -> list[MachineStateChanged]:
        """Route one batch to the trackers; return every state change, in time order."""
        ids = batch.tag_id
        inside = (ids >= 0) & (ids < len(self._tracker))
        owner = np.full(len(ids), -1, dtype=np.int32)
        owner[inside] = self._tracker[ids[inside]]
        rows = np.flatnonzero(owner >= 0)
        if len(rows) == 0:
            return []
        rows = rows[np.argsort(owner[rows], kind="stable")]
        owners = owner[rows]
        bounds = np.flatnonzero(np.diff(owners)) + 1
        events: list[MachineStateChanged] = []
        for part in np.split(rows, bounds):
            tracker = self._order[int(owner[part[0]])]
            events += tracker.feed(
                batch.ts[part],
                self._slot[batch.tag_id[part]],
                batch.value[part],
                batch.quality[part],
            )
        events.sort(key=lambda e: e.ts_ns)
        return events

    def forget(self, before_ns: int) -> None:
        """Let every tracker drop what ended before ``before_ns``."""
        for tracker in self.trackers.values():
            tracker.forget(before_ns)
