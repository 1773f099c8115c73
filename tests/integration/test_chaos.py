"""The chaos run, short: two Modbus machines behind an edge gateway (``plantos edge``),
Mosquitto, and a PlantOS core in its own process. During the run the analytics consumer
fails once, the core is killed with SIGKILL twice, the historian refuses every commit for a
while and the broker restarts. Afterwards the historian holds exactly the samples the
machines produced (counted at the machines), each once, in order per tag.

The long version is ``bench/chaos_run.py``, which writes the reliability section of
docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.chaos import chaos_run
from tests.support.mosquitto import mosquitto_binary


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_nothing_is_lost_or_doubled_whatever_dies(tmp_path: Path) -> None:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker binary (/usr/sbin/mosquitto) is not installed")
    run, outcome = asyncio.run(chaos_run(tmp_path, run_s=3.0, refuse_s=8.0))
    story = "\n".join(f"{t:7.1f} s  {what}" for t, what in run.events)
    assert all(n > 50 for n in outcome.produced.values()), story
    assert outcome.stored == outcome.produced, f"{outcome}\n{story}"
    assert not any(outcome.duplicates.values()), f"{outcome}\n{story}"
    assert not any(outcome.out_of_order.values()), f"{outcome}\n{story}"
