"""A site with a known day of production, written into a data directory the way a
platform keeps it (historian, operations database, stop reasons), and the figures a
report of it must show, computed here from the schedule, not by PlantOS.

Monday 2025-03-03 in Berlin (UTC+1): shifts early 06:00-14:00 and late 14:00-22:00
local (05:00Z-13:00Z, 13:00Z-21:00Z). mixer-1 runs all shifts but is down 11:00Z-12:00Z
(an operator calls it ``jam``); mixer-2 runs all shifts. Each running mixer makes a part
every 15 minutes (at 7.5 min past the quarter); every 4th part of mixer-1 is scrap.
Order A runs on mixer-1; order B (40 parts) on mixer-2, then order C starts there at
the next part. bench-1 has no OEE.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plantos.analytics.oee.reason_store import REASONS_FILE, ReasonStore
from plantos.cli.common import open_plant_historian
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.core.timeparse import parse_time_ns
from plantos.model import Plant, load_plant
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.counting import Count
from plantos.mom.setup import open_service

S = 1_000_000_000
H = 3600 * S
DAY = "2025-03-03"
Z0 = parse_time_ns("2025-03-03T00:00:00Z", now_ns=0)
EARLY = (Z0 + 5 * H, Z0 + 13 * H)
LATE = (Z0 + 13 * H, Z0 + 21 * H)
LOCAL_DAY = (Z0 - H, Z0 + 23 * H)
DOWN = (Z0 + 11 * H, Z0 + 12 * H)
LINE = "site-1/mixing/line-1"
M1, M2, BENCH = f"{LINE}/mixer-1", f"{LINE}/mixer-2", f"{LINE}/bench-1"
NOW = Z0 + 30 * H

PLANT = """\
plantos: 1
enterprise: {id: testco, name: Test Company}
calendars:
  two:
    timezone: Europe/Berlin
    shifts:
      - {name: early, start: "06:00", end: "14:00", days: [mon, tue, wed, thu, fri, sat, sun]}
      - {name: late, start: "14:00", end: "22:00", days: [mon, tue, wed, thu, fri, sat, sun]}
asset_types:
  mixer:
    tags:
      - {signal: state, type: enum, states: {0: "off", 1: idle, 2: running, 3: down}}
      - {signal: good_count, type: int, unit: count}
      - {signal: scrap_count, type: int, unit: count}
  bench:
    tags:
      - {signal: temperature, unit: degC}
sites:
  - id: site-1
    name: Site One
    calendar: two
    areas:
      - id: mixing
        lines:
          - id: line-1
            assets:
              - {id: mixer-1, type: mixer}
              - {id: mixer-2, type: mixer}
              - {id: bench-1, type: bench}
analytics:
  oee:
    asset_types:
      mixer: {from_enum: state, ideal_cycle_time: 10m, stale_after: 5m,
              counters: {good: good_count, scrap: scrap_count}}
"""

MOM = f"""\
products:
  - {{id: paint, name: Paint, routing: paint}}
routings:
  - id: paint
    product: paint
    operations:
      - name: mix
        assets:
          - {{asset: {M1}, setup: 5m, run_per_unit: 10m}}
          - {{asset: {M2}, setup: 5m, run_per_unit: 10m}}
"""


@dataclass(frozen=True)
class Part:
    asset: str
    ts_ns: int
    scrap: bool


def running(asset: str) -> list[tuple[int, int]]:
    if asset == M1:
        return [(EARLY[0], DOWN[0]), (DOWN[1], LATE[1])]
    return [(EARLY[0], LATE[1])]


def parts() -> list[Part]:
    out = []
    for asset in (M1, M2):
        made = 0
        for a, b in running(asset):
            for ts in range(a + 450 * S, b, 900 * S):
                out.append(Part(asset, ts, asset == M1 and made % 4 == 3))
                made += 1
    return sorted(out, key=lambda p: p.ts_ns)


def overlap(spans: list[tuple[int, int]], start_ns: int, end_ns: int) -> int:
    return sum(max(0, min(b, end_ns) - max(a, start_ns)) for a, b in spans)


def write_site(folder: Path) -> Path:
    """The plant file, its master data and a data directory holding the day; the config."""
    config = folder / "plantos.yaml"
    config.write_text(PLANT)
    (folder / "mom.yaml").write_text(MOM)
    data = folder / "data"
    data.mkdir()
    plant = load_plant(config)
    _history(plant, data)
    clock = ManualClock(Z0)
    mom = open_service(plant, data_dir=data, clock=clock)
    due = Z0 + 48 * H
    mom.create_orders([NewOrder("A", "paint", 1000, due, None, 1),
                       NewOrder("B", "paint", 40, due, None, 2),
                       NewOrder("C", "paint", 1000, due + H, None, 1)])  # fmt: skip
    clock.advance_to(EARLY[0])
    mom.transition("A", "running", asset=M1)
    mom.transition("B", "running", asset=M2)
    for p in parts():  # one booking per part, as the live counters book them
        mom.book([Count("machine", p.asset, p.ts_ns, int(not p.scrap), int(p.scrap))])
    clock.advance_to(NOW)
    mom.engine.dispose()
    ReasonStore(data / REASONS_FILE).book(clock=clock).assign_reason(M1, DOWN[0], "jam", by="t")
    return config


def _history(plant: Plant, data: Path) -> None:
    historian = open_plant_historian(plant, data, writable=True)
    try:
        ids = historian.register_tags(plant.tags.values())
        ts = np.arange(Z0 + 4 * H, Z0 + 22 * H, 30 * S, dtype=np.int64)
        made = parts()
        batches = []
        for asset in (M1, M2):
            state = np.zeros(len(ts))
            for a, b in running(asset):
                state[(ts >= a) & (ts < b)] = 2.0
            if asset == M1:
                state[(ts >= DOWN[0]) & (ts < DOWN[1])] = 3.0
            mine = [p for p in made if p.asset == asset]
            good = np.array([sum(1 for p in mine if p.ts_ns <= t and not p.scrap) for t in ts])
            scrap = np.array([sum(1 for p in mine if p.ts_ns <= t and p.scrap) for t in ts])
            for signal, values in (("state", state), ("good_count", good), ("scrap_count", scrap)):
                tag = ids[f"{asset}/{signal}"]
                batches.append(SampleBatch.of(np.full(len(ts), tag), ts, values.astype(float)))
        historian.write(SampleBatch.concat(batches))
    finally:
        historian.close()
