"""Known machine states of a mixer in the historian, and a work order covering its first
failure: what the reliability tests (API, CLI, page) compute figures from."""

from __future__ import annotations

import time

import numpy as np

from plantos.app import Platform
from plantos.core.batch import SampleBatch
from plantos.mom.maintenance.workorder import Window, WorkOrder
from tests.support.server import RunningServer, wait_until

NS = 1_000_000_000
H = 3600 * NS
MIXER = "site-1/mixing/line-1/mixer-1"
RUNNING, DOWN = 2.0, 3.0
T0 = (time.time_ns() // H - 8) * H
"""Running 2 h, down 30 min, running 1 h, down 30 min, running 1 h 30 min."""
DOWNS = [(T0 + 2 * H, T0 + 5 * H // 2), (T0 + 7 * H // 2, T0 + 4 * H)]
END = T0 + 11 * H // 2


def states(ids: dict[str, int]) -> SampleBatch:
    ts = np.arange(T0, END, 60 * NS)
    down = np.zeros(len(ts), dtype=bool)
    for a, b in DOWNS:
        down |= (ts >= a) & (ts < b)
    return SampleBatch.of(
        np.full(len(ts), ids[f"{MIXER}/state"]), ts, np.where(down, DOWN, RUNNING)
    )


def add_order(platform: Platform) -> None:
    """A corrective work order whose window covers the first failure."""
    order = WorkOrder.request(
        by="test", id="wo-bearing", asset=MIXER, kind="corrective", title="bearing",
        opened_ns=DOWNS[0][0], failure_mode="VIB",
    )  # fmt: skip
    order.window = Window(DOWNS[0][0] + 60 * NS, DOWNS[0][1])
    platform.maintenance.service.change(lambda uow: uow.work_orders.add(order))


def feed(running: RunningServer) -> None:
    batch = states(running.platform.tag_ids)
    running.call(running.platform.ingest(batch, source="test"))
    wait_until(lambda: running.platform.writer.acked_rows >= len(batch.ts), "the history commit")
    add_order(running.platform)
