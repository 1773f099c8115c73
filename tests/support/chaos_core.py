"""A PlantOS core for the chaos run, as its own process so it can be killed with SIGKILL.

``python -m tests.support.chaos_core PLANT DATA_DIR FAULTS_DIR`` builds the platform as
``plantos serve`` does (without the web server) and runs it until SIGTERM, writing
``status.json`` in ``FAULTS_DIR`` twice a second. Faults are switched by files the test
creates in ``FAULTS_DIR``:

* ``refuse-commits``: while it exists, every historian write raises (a full disk, a lost
  database), through a wrapper around the writer's historian;
* ``analytics-fault``: the next batch the analytics consumer judges raises once (the
  file is removed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

from plantos.app import Platform, Settings
from plantos.core.batch import SampleBatch
from plantos.core.events import Event

REFUSE = "refuse-commits"
ANALYTICS_FAULT = "analytics-fault"
STATUS = "status.json"


class RefusingHistorian:
    """The real historian, except that writes fail while the switch file exists."""

    def __init__(self, inner: Any, switch: Path) -> None:
        self._inner = inner
        self._switch = switch
        self.refused = 0

    def write(self, batch: SampleBatch) -> None:
        if self._switch.exists():
            self.refused += 1
            raise RuntimeError("injected fault: the historian refuses commits")
        self._inner.write(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def inject(platform: Platform, faults: Path) -> RefusingHistorian:
    historian = RefusingHistorian(platform.writer.historian, faults / REFUSE)
    platform.writer.historian = historian  # type: ignore[assignment]
    judge = platform.analytics.judge

    def judge_or_fail(batch: SampleBatch) -> list[Event]:
        switch = faults / ANALYTICS_FAULT
        if switch.exists():
            switch.unlink()
            raise RuntimeError("injected fault in the analytics consumer")
        return judge(batch)

    platform.analytics.judge = judge_or_fail  # type: ignore[method-assign]
    return historian


async def run(plant: Path, data_dir: Path, faults: Path) -> None:
    platform = Platform(Settings(config=plant, data_dir=data_dir))
    historian = inject(platform, faults)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await platform.start()
    while not stop.is_set():
        status = {
            "writer": platform.writer.metrics(),
            "refused_writes": historian.refused,
            "connectors": platform.metrics()["connectors"],
        }
        tmp = faults / (STATUS + ".tmp")
        tmp.write_text(json.dumps(status, default=str))
        tmp.replace(faults / STATUS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    await platform.stop()


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
