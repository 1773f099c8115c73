"""A simulated bearing wear through the spindle watch: found early as a warning, graded up
by its velocity zone, critical before the bearing fails."""

from __future__ import annotations

from pathlib import Path

from plantos.analytics.anomaly.events import AnomalyEscalated, AnomalyRaised
from plantos.analytics.anomaly.spindle import SpindleTags
from plantos.analytics.spindles import SpindleWatch
from plantos.core.events import Event
from plantos.core.timeparse import parse_time_ns
from plantos.demo.simulator import Simulator, parse_scenario
from plantos.model import load_plant

NS = 1_000_000_000
HOUR_NS = 3600 * NS
CNC = "plant-a/machining/line-1/cnc-01"
SIGNALS = ("spindle_vibration_waveform", "spindle_speed", "spindle_vibration")


def test_bearing_wear_starts_below_critical_and_is_critical_before_failure(
    demo_plant_path: Path,
) -> None:
    plant = load_plant(demo_plant_path)
    ids = {f"{CNC}/{s}": i for i, s in enumerate(SIGNALS)}  # only this spindle is simulated
    waveform = plant.tags[f"{CNC}/{SIGNALS[0]}"].waveform
    assert waveform is not None
    tags = SpindleTags(0, 1, 2, rate_hz=waveform.rate_hz, samples=waveform.samples)
    start = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)
    # onset on the second day (the first day's running states are learned by then), failure
    # 12 h later; the run ends an hour after it (about 1.5 s)
    wear = parse_scenario(f"bearing-wear:{CNC}:24h:12h", plant)
    sim = Simulator(plant, ids, seed=0, start_ns=start, scenarios=[wear])
    truth = sim.ground_truth()[0]
    onset, failure = int(truth["onset_ns"]), int(truth["functional_failure_ns"])
    watch = SpindleWatch(CNC, tags)
    events: list[Event] = []
    for until in range(start + 300 * NS, failure + HOUR_NS + 1, 300 * NS):
        batch, _ = sim.step(until)
        events += watch.judge(batch)
    graded = [e for e in events if isinstance(e, AnomalyRaised | AnomalyEscalated)]
    assert graded and all(onset <= e.ts_ns for e in graded)  # no alarm before the wear
    first = graded[0]
    assert isinstance(first, AnomalyRaised) and first.ts_ns < onset + 2 * HOUR_NS
    assert first.severity != "critical"
    critical = next(e for e in graded if e.severity == "critical")
    assert first.ts_ns + 2 * HOUR_NS < critical.ts_ns < failure
    assert critical.time_to_threshold_s == 0.0
    # A maintenance loop can rank them: the rank follows the severity, the priority the rank,
    # and every estimate sits inside its own interval.
    ranks = [e.severity_rank for e in graded]
    assert ranks == sorted(ranks) and ranks[-1] == 2 and first.severity_rank < 2
    assert [e.priority for e in graded] == sorted(e.priority for e in graded)
    for e in graded:
        if e.time_to_threshold_s is not None:
            low, high = e.time_to_threshold_low_s, e.time_to_threshold_high_s
            assert low is not None and low <= e.time_to_threshold_s
            assert high is None or e.time_to_threshold_s <= high
    assert (critical.time_to_threshold_low_s, critical.time_to_threshold_high_s) == (0.0, 0.0)
