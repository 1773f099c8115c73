"""A worn spindle that stops for a break: its standstill snapshots are counted, not judged,
so the break neither clears the alarm nor becomes the evidence of one."""

from __future__ import annotations

import numpy as np

from plantos.analytics.anomaly.events import AnomalyCleared, AnomalyEscalated, AnomalyRaised
from plantos.analytics.anomaly.spindle import SpindleTags
from plantos.analytics.spindles import STANDSTILL, SpindleWatch
from plantos.core.batch import SampleBatch
from plantos.core.events import Event
from plantos.demo.simulator.vibration import WaveformSensor, rms_velocity
from plantos.model.plant import Waveform

NS = 1_000_000_000
EVERY_NS = 300 * NS
RPM = 12_000.0
WAVEFORM, SPEED, RMS = 0, 1, 2


def snapshot(sensor: WaveformSensor, ts: int, rpm: float, severity: float) -> SampleBatch:
    """One burst with the speed and a minute of 1 s velocity RMS around it, as a sensor
    and the machine's controller send them."""
    burst = sensor.burst(rpm, RPM, severity)
    defect_mm_s = 8.0 * severity if rpm > 0 else 0.0  # a standing bearing does not ring
    rms_ts = ts + np.arange(-5, 65) * NS
    rms = rms_velocity(
        np.full(len(rms_ts), rpm), np.zeros(len(rms_ts)), 1.0,
        np.full(len(rms_ts), defect_mm_s), np.zeros(len(rms_ts)),
    )  # fmt: skip
    return SampleBatch.of(
        np.concatenate(([SPEED], np.full(len(burst), WAVEFORM), np.full(len(rms_ts), RMS))),
        np.concatenate(([ts - NS], ts + sensor.rel_ns, rms_ts)),
        np.concatenate(([rpm], burst, rms)),
    )


def run(plan: list[tuple[float, float]], seed: int) -> tuple[SpindleWatch, list[Event]]:
    """A spindle watch fed one snapshot every five minutes, each at ``(rpm, severity)``;
    its events, and the bearing's one evidence feature checked for each raise."""
    waveform = Waveform(rate_hz=10_000, samples=4096, every_ns=EVERY_NS)
    rng = np.random.default_rng(seed)
    sensor = WaveformSensor(waveform, rng, np.random.default_rng(seed + 1), limits=(-200, 200))
    watch = SpindleWatch("cnc", SpindleTags(WAVEFORM, SPEED, RMS, rate_hz=10_000, samples=4096))
    events: list[Event] = []
    for k, (rpm, severity) in enumerate(plan):
        events += watch.judge(snapshot(sensor, (k + 1) * EVERY_NS, rpm, severity))
    for raised in (e for e in events if isinstance(e, AnomalyRaised)):
        top = raised.evidence[0]
        assert top.feature.startswith("band_") and top.expected is not None
        assert top.value > 2 * top.expected, top  # the defect's resonance, not a quiet snapshot
    return watch, events


def test_a_break_neither_clears_a_worn_spindles_alarm_nor_is_its_evidence() -> None:
    # healthy: a break long enough to learn the standstill state too, then a program;
    # worn: running until the alarm, then a two-hour break, then running again
    plan = (
        [(0.0, 0.0)] * 30 + [(RPM, 0.0)] * 30 + [(RPM, 0.35)] * 10 + [(0.0, 0.35)] * 24
        + [(RPM, 0.35)] * 3
    )  # fmt: skip
    watch, events = run(plan, seed=7)
    raised = [e for e in events if isinstance(e, AnomalyRaised)]
    assert len(raised) == 1, events
    stop = (60 + 10 + 1) * EVERY_NS  # the break's first snapshot
    assert raised[0].ts_ns < stop
    assert not [e for e in events if isinstance(e, AnomalyCleared)], events
    assert watch.standstill_rows == 30 + 24
    assert watch.rows_seen == len(plan)
    assert STANDSTILL not in watch.monitor.learned_ns
    assert not [ts for ts, _, _ in watch.scores if stop <= ts < stop + 24 * EVERY_NS]


def test_wear_found_before_a_break_is_raised_when_the_spindle_runs_a_new_program() -> None:
    """The minimum duration runs out during a break, and the spindle then runs a program it
    has not learned (and may not learn while it drifts): the alarm is raised at the first
    snapshot after the break, with the evidence of the worn snapshots before it, and graded
    up as the vibration grows though that program is not judged."""
    plan = (
        [(RPM, 0.0)] * 30 + [(RPM, 0.35)] * 3 + [(0.0, 0.35)] * 12
        + [(9_000.0, 0.35)] * 4 + [(9_000.0, 0.9)] * 4
    )  # fmt: skip
    watch, events = run(plan, seed=11)
    raised = [e for e in events if isinstance(e, AnomalyRaised)]
    assert len(raised) == 1, events
    assert raised[0].ts_ns == (30 + 3 + 12 + 1) * EVERY_NS  # the new program's first snapshot
    assert raised[0].score > watch.monitor.policy.raise_at
    assert 9_000 not in watch.monitor.learned_ns
    assert watch.monitor.alarmed_rows_not_learned == 8
    escalated = [e for e in events if isinstance(e, AnomalyEscalated)]
    assert escalated and escalated[-1].severity == "critical", events
    assert escalated[0].ts_ns > raised[0].ts_ns


def test_a_worn_spindle_on_a_new_program_near_a_learned_one_is_judged_not_learned() -> None:
    """Wear first seen on a program not learned yet, 2 % faster than a learned one: judged
    against that one, raised, and the worn program is not learned as its normal."""
    new_program = RPM + 250.0
    plan = [(RPM, 0.0)] * 30 + [(new_program, 0.35)] * 30
    watch, events = run(plan, seed=21)
    raised = [e for e in events if isinstance(e, AnomalyRaised)]
    assert len(raised) == 1, events
    assert raised[0].ts_ns <= (30 + 5) * EVERY_NS  # the minimum duration after the wear
    assert set(watch.monitor.learned_ns) == {12_000}
    assert watch.monitor.provisional_rows == 30
