"""The demo plant as the analytics benches feed it: its samples in 5-minute batches.

The OEE and analytics-stage benches judge the same simulated plant in the same
batches the headless demo feeds; one generator keeps their figures comparable.
"""

from __future__ import annotations

from collections.abc import Sequence

from common import REPO, TIMES, Timing

from plantos.core.batch import SampleBatch
from plantos.core.timeparse import parse_time_ns
from plantos.demo.simulator import Simulator, parse_scenario
from plantos.model import Plant, load_plant

CONFIG = REPO / "examples" / "demo-plant" / "plantos.yaml"
START = "2026-01-05T05:00:00Z"
NS = 1_000_000_000
CHUNK_NS = 300 * NS
"""The headless demo's batch: five minutes of data time."""


def start_ns() -> int:
    """The first instant of the simulated data (a Monday's early shift)."""
    return parse_time_ns(START, now_ns=0)


def demo_plant() -> tuple[Plant, dict[str, int]]:
    """The demo plant and tag ids numbered from 1 in the plant file's order."""
    plant = load_plant(CONFIG)
    return plant, {path: i + 1 for i, path in enumerate(plant.tags)}


def simulate(
    plant: Plant, ids: dict[str, int], hours: float, scenarios: Sequence[str] = ()
) -> list[SampleBatch]:
    """``hours`` of the plant from :data:`START` (seed 1), one batch per :data:`CHUNK_NS`.

    ``scenarios`` are simulator scenario strings (``furnace-drift:furnace-1:15m``).
    """
    start = start_ns()
    sim = Simulator(
        plant,
        ids,
        seed=1,
        start_ns=start,
        scenarios=[parse_scenario(s, plant) for s in scenarios],
    )
    end = start + int(hours * 3600 * NS)
    out = []
    while sim.now_ns < end:
        out.append(sim.step(min(end, sim.now_ns + CHUNK_NS))[0])
    return out


def real_time_rows(
    timings: dict[str, Timing], simulated_s: float, samples: int, goal: float
) -> list[list[str]]:
    """Per contender: median wall, samples/s, speed against real time and whether it meets
    ``goal`` (times real time): the table both analytics benches report their run in."""
    rows = []
    for name, timing in timings.items():
        speed = simulated_s / timing.median
        rows.append(
            [
                name,
                f"{timing.median:.3f} s",
                f"{samples / timing.median / 1e6:.2f} M",
                f"{speed:,.0f}{TIMES}",
                "yes" if speed >= goal else "**no**",
            ]
        )
    return rows
