"""One operating-state timeline per asset, shared by every model.

States come from two sources: the shift calendar (off outside shifts, idle in
breaks) and random disruptions during planned production (micro-stops,
changeovers with a program change, breakdowns), drawn as Poisson processes
from the asset's own random stream. A scenario can force the asset down for
good at its functional failure. The timeline is a list of segments generated
ahead of need; a chunk samples it onto its grid with one ``searchsorted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from plantos.core.events import Event, MachineStateChanged
from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.simulator.schedule import BREAK, OFF_SHIFT, PlannedSchedule
from plantos.demo.simulator.signals import Chunk, IntArray

STATES = ("off", "idle", "running", "down", "changeover", "starved", "blocked")
OFF, IDLE, RUNNING, DOWN, CHANGEOVER, STARVED, BLOCKED = range(len(STATES))
_FOREVER = 2**62


@dataclass(frozen=True, slots=True)
class Disruptions:
    """How often and how long an asset is interrupted while production is planned."""

    micro_stops_per_h: float = 0.0
    micro_stop_s: tuple[float, float] = (10.0, 120.0)
    micro_stop_states: tuple[tuple[int, float], ...] = ((IDLE, 1.0),)
    changeovers_per_h: float = 0.0
    changeover_s: tuple[float, float] = (600.0, 1500.0)
    mtbf_h: float | None = None
    repair_s: tuple[float, float] = (1200.0, 3600.0)
    off_state: int = OFF
    break_state: int = IDLE


@dataclass(slots=True)
class Segment:
    start_ns: int
    end_ns: int
    state: int
    program: int
    reason: str


@dataclass(frozen=True, slots=True)
class Transition:
    ts_ns: int
    previous: str
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class TimelineChunk:
    """The timeline sampled on a chunk's grid, with the state changes inside the chunk."""

    state: npt.NDArray[np.int8]
    program: IntArray
    transitions: list[Transition]


class StateTimeline:
    """Generates and samples the operating states of one asset."""

    def __init__(
        self,
        schedule: PlannedSchedule,
        disruptions: Disruptions,
        rng: np.random.Generator,
        *,
        start_ns: int,
        programs: int = 1,
        fail_ns: int | None = None,
        fail_reason: str = "functional failure",
        outage: tuple[int, int] | None = None,
    ) -> None:
        self._schedule = schedule
        self._d = disruptions
        self._rng = rng
        self._programs = programs
        self._fail_ns = _FOREVER if fail_ns is None else fail_ns
        self._fail_reason = fail_reason
        self._outage = outage or (_FOREVER, _FOREVER)
        """``[start, end)`` of a breakdown the scenario forces: down, then back."""
        self._pending: tuple[int, int, str, int] | None = None
        self._rates = self._stop_rates()
        self._segments = [self._next(start_ns, int(rng.integers(programs)))]
        self._emitted_first = False

    @property
    def initial(self) -> tuple[int, int]:
        """State and program at the start, so models can begin in a steady condition."""
        return self._segments[0].state, self._segments[0].program

    def sample(self, chunk: Chunk) -> TimelineChunk:
        """States and programs at each grid second of ``chunk`` and the transitions in it."""
        segs = self._segments
        while segs[-1].end_ns < chunk.end_ns:
            self._append(self._next(segs[-1].end_ns, segs[-1].program))
        starts = np.fromiter((s.start_ns for s in segs), dtype=np.int64, count=len(segs))
        idx = np.searchsorted(starts, chunk.grid, side="right") - 1
        state = np.array([s.state for s in segs], dtype=np.int8)[idx]
        program = np.array([s.program for s in segs], dtype=np.int64)[idx]
        transitions = []
        for i, seg in enumerate(segs):
            if chunk.start_ns <= seg.start_ns < chunk.end_ns:
                if i == 0 and not self._emitted_first:
                    previous = "unknown"
                else:
                    previous = STATES[segs[i - 1].state]
                name = STATES[seg.state]
                transitions.append(Transition(seg.start_ns, previous, name, seg.reason))
        self._emitted_first = True
        keep = max(0, sum(1 for s in segs if s.end_ns <= chunk.end_ns) - 1)
        del segs[:keep]
        return TimelineChunk(state, program, transitions)

    def _append(self, seg: Segment) -> None:
        """Add a segment, merging it into the last one when nothing visible changes.

        The functional failure is never merged away: if it strikes during a
        breakdown, a down-to-down change still records why the machine is down.
        """
        last = self._segments[-1]
        failure = seg.reason == self._fail_reason and last.reason != self._fail_reason
        if last.state == seg.state and last.program == seg.program and not failure:
            last.end_ns = seg.end_ns
        else:
            self._segments.append(seg)

    def _stop_rates(self) -> list[tuple[float, str]]:
        d = self._d
        rates = [(d.micro_stops_per_h, "micro-stop"), (d.changeovers_per_h, "changeover")]
        if d.mtbf_h:
            rates.append((1.0 / d.mtbf_h, "breakdown"))
        return [(r, name) for r, name in rates if r > 0]

    def _next(self, t: int, program: int) -> Segment:
        """The segment starting at ``t``; its end is natural, never clipped to a chunk."""
        if t >= self._fail_ns:
            return Segment(t, _FOREVER, DOWN, program, self._fail_reason)
        down_from, down_until = self._outage
        if down_from <= t < down_until:
            self._pending = None
            return Segment(t, min(down_until, self._fail_ns), DOWN, program, "breakdown")
        status, boundary = self._schedule.status_at(t)
        limit = min(boundary, self._fail_ns, down_from if t < down_from else _FOREVER)
        if status == OFF_SHIFT:
            return Segment(t, limit, self._d.off_state, program, "no shift")
        if status == BREAK:
            return Segment(t, limit, self._d.break_state, program, "break")
        if self._pending is not None:
            state, dur_ns, reason, program = self._pending
            self._pending = None
            return Segment(t, min(limit, _whole_s(t + dur_ns)), state, program, reason)
        return self._running(t, limit, program)

    def _running(self, t: int, limit: int, program: int) -> Segment:
        rates = self._rates
        total = sum(r for r, _ in rates)
        if total <= 0:
            return Segment(t, limit, RUNNING, program, "production")
        end = _whole_s(t + int(self._rng.exponential(3600.0 / total) * NS))
        if end >= limit:
            return Segment(t, limit, RUNNING, program, "production")
        probs = np.array([r for r, _ in rates]) / total
        kind = rates[int(self._rng.choice(len(rates), p=probs))][1]
        self._pending = self._stop(kind, program)
        return Segment(t, end, RUNNING, program, "production")

    def _stop(self, kind: str, program: int) -> tuple[int, int, str, int]:
        d, rng = self._d, self._rng
        if kind == "changeover":
            lo, hi = d.changeover_s
            if self._programs > 1:
                program = (program + 1 + int(rng.integers(self._programs - 1))) % self._programs
            return CHANGEOVER, int(rng.uniform(lo, hi) * NS), "changeover", program
        if kind == "breakdown":
            lo, hi = d.repair_s
            return DOWN, int(rng.uniform(lo, hi) * NS), "breakdown", program
        lo, hi = d.micro_stop_s
        states = [s for s, _ in d.micro_stop_states]
        weights = np.array([w for _, w in d.micro_stop_states])
        state = states[int(rng.choice(len(states), p=weights / weights.sum()))]
        reason = "micro-stop" if state == IDLE else STATES[state]
        return state, int(rng.uniform(lo, hi) * NS), reason, program


def _whole_s(ts_ns: int) -> int:
    """Round up to a whole second, so random state changes line up with 1 s samples."""
    return -(-ts_ns // NS) * NS


def state_events(subject: str, transitions: list[Transition]) -> list[Event]:
    """The transitions of a chunk as bus events about ``subject``."""
    events: list[Event] = [
        MachineStateChanged(
            ts_ns=t.ts_ns, subject=subject, previous=t.previous, state=t.state, reason=t.reason
        )
        for t in transitions
    ]
    return events
