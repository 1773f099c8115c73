"""A PlantOS core for the chaos run, as its own process so it can be killed with SIGKILL.

``python -m tests.support.chaos_core PLANT DATA_DIR FAULTS_DIR PORT`` serves the platform
on ``127.0.0.1:PORT`` as ``plantos serve`` does (its API, ``/api/v1/health`` and
``/healthz`` included; exit code 1 if a bus consumer gives up) until SIGTERM, writing
``status.json`` in ``FAULTS_DIR`` twice a second. Faults are switched by files the test
creates in ``FAULTS_DIR``:

* ``refuse-commits``: while it exists, every historian write raises (a full disk, a lost
  database), through a wrapper around the writer's historian;
* ``analytics-fault``: the next batch the analytics consumer judges raises once (the
  file is removed).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from plantos.app import Platform, Settings
from plantos.cli.serve import run_server
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


async def write_status(platform: Platform, historian: RefusingHistorian, faults: Path) -> None:
    """Until the platform stops: what the writer committed, for the run to wait on."""
    while True:
        status = {
            "writer": platform.writer.metrics(),
            "refused_writes": historian.refused,
            "connectors": platform.metrics()["connectors"],
        }
        tmp = faults / (STATUS + ".tmp")
        tmp.write_text(json.dumps(status, default=str))
        tmp.replace(faults / STATUS)
        await asyncio.sleep(0.5)


def run(plant: Path, data_dir: Path, faults: Path, port: int) -> None:
    platform = Platform(Settings(config=plant, data_dir=data_dir))
    historian = inject(platform, faults)
    platform.add_source(write_status(platform, historian, faults))
    run_server(platform, "127.0.0.1", port)  # stops on SIGTERM, exits 1 if a stage gives up


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
