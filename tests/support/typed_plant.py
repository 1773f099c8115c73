"""A plant with a tag of every type, and two hours of their history, for the tests that
follow text and exact integers from the gate to the API, the CLI and the pages."""

from __future__ import annotations

import numpy as np

from plantos.app import Platform
from plantos.core.batch import SampleBatch

NS = 1_000_000_000
CNC = "site-1/machining/line-1/cnc-1"
PROGRAMS = ["O1001 ROUGH", "O1002 FINISH", "O1003 DEBURR"]
ENERGY_START = 2**64 - 10_000
"""A uint64 totaliser near its end: every digit of it is beyond a float's reach."""

TYPED_PLANT = """\
plantos: 1
enterprise: {id: testco, name: Test Company}
sites:
  - id: site-1
    areas:
      - id: machining
        lines:
          - id: line-1
            assets:
              - id: cnc-1
                tags:
                  - {signal: spindle_load, unit: percent, sampling: 1m}
                  - {signal: program, type: text, max_length: 16, sampling: 1m}
                  - {signal: energy, type: uint, unit: Wh, sampling: 1m}
                  - {signal: parts, type: int, unit: count, sampling: 1m}
                  - {signal: door_open, type: bool, sampling: 1m}
                  - {signal: mode, type: enum, sampling: 1m,
                     states: {0: manual, 1: auto, 2: mdi}}
"""


def typed_history(platform: Platform, now_ns: int, minutes: int = 120) -> SampleBatch:
    """One sample a minute of every tag: the program changes every 10 minutes, the
    energy totaliser and part counter climb past 2**53."""
    ids = platform.tag_ids
    ts = now_ns - minutes * 60 * NS + np.arange(minutes, dtype=np.int64) * 60 * NS
    rows: list[tuple[int, int, object]] = []
    for i, t in enumerate(ts.tolist()):
        rows += [
            (ids[f"{CNC}/spindle_load"], t, 40.0 + i % 7),
            (ids[f"{CNC}/program"], t, PROGRAMS[(i // 10) % len(PROGRAMS)]),
            (ids[f"{CNC}/energy"], t, ENERGY_START + i),
            (ids[f"{CNC}/parts"], t, 2**53 + i),
            (ids[f"{CNC}/door_open"], t, i % 2 == 0),
            (ids[f"{CNC}/mode"], t, 1),
        ]
    tag_ids, times, values = zip(*rows, strict=True)
    return SampleBatch.from_values(list(tag_ids), list(times), list(values))
