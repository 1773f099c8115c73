"""The chaos run, short: two Modbus machines behind an edge gateway (``plantos edge``),
Mosquitto, and a PlantOS core serving its API in its own process. During the run the
analytics consumer fails once, the core is killed with SIGKILL twice, the historian
refuses every commit for a while and the broker restarts. Afterwards the historian holds
exactly the samples the machines produced (counted at the machines), each once, in order
per tag; and the core's health endpoints showed each fault and its recovery.

The long version is ``bench/chaos_run.py``, which writes the reliability section of
docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.chaos import chaos_run
from tests.support.chaos_health import DOWN, per_fault
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

    faults = per_fault(run.events, run.probes)
    seen = "\n".join(f"{f.fault}: {f.summary()}" for f in faults) + "\n" + story
    assert [f.fault for f in faults] == [
        "analytics consumer fault injected",
        "core killed (SIGKILL)",
        "historian refuses commits",
        "broker stopped",
        "core killed (SIGKILL)",
    ], seen
    analytics, kill_1, refusal, broker, kill_2 = faults
    # The analytics consumer is restarted by its supervisor; the error is on show.
    assert analytics.analytics_restarts() >= 1, seen
    errors = analytics.analytics_errors()
    assert any("injected fault in the analytics consumer" in e for e in errors), seen
    # A killed core answers nothing, then is ready again once restarted.
    for kill in (kill_1, kill_2):
        assert kill.readiness()[0] == DOWN, seen
        assert kill.readiness()[-1] == 200, seen
    # While commits are refused the historian stage says so and holds the samples.
    assert refusal.historian_refusing(), seen
    assert refusal.most_in_hand() > 0, seen
    assert not broker.historian_refusing(), seen
    # Every fault ends with every stage running and the core ready.
    assert all(f.recovered() for f in faults), seen
