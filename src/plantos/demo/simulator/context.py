"""What the engine hands each asset model, and the one method a model must have.

Keeping construction uniform lets the engine build any model from a table
keyed by ``asset.simulator["model"]``, the way the YAML names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from plantos.demo.simulator.scenarios import Degradation
from plantos.demo.simulator.schedule import PlannedSchedule
from plantos.demo.simulator.signals import Chunk, ChunkOutput, TagWriter
from plantos.model.plant import AssetDef


@dataclass(frozen=True, slots=True)
class AssetContext:
    """One asset's inputs: definition, parameters, tag output, planned time and random streams.

    The random streams are independent children of the asset's seed: the state
    timeline, the signal noise and the scenario each draw from their own, so an
    injected fault leaves the healthy part of the data byte-identical.
    """

    asset: AssetDef
    params: dict[str, Any]
    writer: TagWriter
    schedule: PlannedSchedule
    start_ns: int
    timeline_rng: np.random.Generator
    rng: np.random.Generator
    scenario_rng: np.random.Generator
    degradation: Degradation | None


class AssetModel(Protocol):
    """A simulated asset: produces its samples and events for one chunk at a time."""

    def generate(self, chunk: Chunk) -> ChunkOutput: ...
