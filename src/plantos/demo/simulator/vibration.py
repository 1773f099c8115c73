"""Spindle vibration: the 1 s velocity RMS and the raw acceleration snapshots.

A healthy spindle shows its shaft frequency and a few harmonics over broadband
noise. An outer-race bearing defect adds an impact each time a rolling
element passes it, at BPFO (about 3.57 x the shaft frequency for a typical
spindle bearing); each impact rings the housing's structural resonance
(~3 kHz). That is why condition monitoring looks at the resonance band and the
envelope spectrum, and why the simulator must put the defect there, not only
in the overall RMS.
"""

from __future__ import annotations

import math

import numpy as np

from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.simulator.signals import Chunk, FloatArray, IntArray
from plantos.model.plant import Waveform

BPFO_ORDER = 3.57
REFERENCE_RPM = 12_000.0
RESONANCE_HZ = 3_000.0
DEFECT_RMS_MM_S = 10.0
DEFECT_PEAK_M_S2 = 80.0
_HARMONICS = ((1, 2.5), (2, 1.2), (3, 0.6))


def rms_velocity(
    speed_rpm: FloatArray,
    load_pct: FloatArray,
    gain: float,
    defect_mm_s: FloatArray,
    noise: FloatArray,
) -> FloatArray:
    """Velocity RMS in mm/s (ISO 10816 style): ~1.5 mm/s at 12,000 rpm, ~0.2 at standstill.

    Speed dominates (imbalance grows with speed), cutting adds a little, and a
    defect adds in quadrature because independent vibration sources add power.
    """
    healthy = 0.18 + gain * 1.3 * (speed_rpm / REFERENCE_RPM) ** 1.5 * (1.0 + 0.002 * load_pct)
    return np.asarray(np.sqrt(healthy**2 + defect_mm_s**2) * np.maximum(1.0 + 0.05 * noise, 0.5))


class WaveformSensor:
    """A condition-monitoring sensor that sends a burst of raw samples every few minutes.

    Each asset's sensor has its own phase (offset) so that a line of machines
    does not report all at once, as with real wireless sensors.
    """

    def __init__(
        self,
        waveform: Waveform,
        rng: np.random.Generator,
        scenario_rng: np.random.Generator,
        *,
        limits: tuple[float, float] | None,
    ) -> None:
        self.every_ns = waveform.every_ns
        self.rate_hz = waveform.rate_hz
        self.offset_ns = int(rng.integers(max(1, waveform.every_ns // NS))) * NS
        self.rel_ns = np.round(np.arange(waveform.samples) * (NS / waveform.rate_hz)).astype(
            np.int64
        )
        self.t = np.arange(waveform.samples) / waveform.rate_hz
        self.resonance_hz = min(RESONANCE_HZ * rng.uniform(0.95, 1.05), 0.4 * waveform.rate_hz)
        tau_s = 0.0006
        kt = np.arange(int(6 * tau_s * waveform.rate_hz) + 1) / waveform.rate_hz
        self.kernel = np.exp(-kt / tau_s) * np.sin(2 * math.pi * self.resonance_hz * kt)
        self.limits = limits or (-math.inf, math.inf)
        self._rng = rng
        self._srng = scenario_rng

    def burst_starts(self, chunk: Chunk) -> IntArray:
        """Start times of the bursts that begin inside ``chunk``."""
        first = -(-(chunk.start_ns - self.offset_ns) // self.every_ns)
        last = -(-(chunk.end_ns - self.offset_ns) // self.every_ns)
        return np.asarray(self.offset_ns + self.every_ns * np.arange(first, last, dtype=np.int64))

    def burst(self, rpm: float, nominal_rpm: float, severity: float) -> FloatArray:
        """One snapshot of acceleration in m/s^2 at spindle speed ``rpm``."""
        rng, n = self._rng, len(self.t)
        x = rng.normal(0.0, 0.6, n)
        phases = rng.uniform(0.0, 2 * math.pi, len(_HARMONICS))
        shaft_hz = rpm / 60.0
        if rpm > 1.0:
            scale = (rpm / REFERENCE_RPM) ** 2
            for (order, amp), phase in zip(_HARMONICS, phases, strict=True):
                x += scale * amp * np.sin(2 * math.pi * order * shaft_hz * self.t + phase)
        if severity > 0.0 and rpm > 1.0:
            x += self._impacts(BPFO_ORDER * shaft_hz, severity * min(rpm / nominal_rpm, 1.5))
        return np.clip(x, *self.limits)

    def _impacts(self, bpfo_hz: float, strength: float) -> FloatArray:
        """Impacts at BPFO with slight slip, each ringing the structural resonance."""
        n, period = len(self.t), 1.0 / bpfo_hz
        count = int(self.t[-1] * bpfo_hz) + 2
        times = self._srng.uniform(0.0, period) + np.arange(count) * period
        times += self._srng.normal(0.0, 0.01 * period, count)
        idx = np.round(times * self.rate_hz).astype(np.int64)
        amps = DEFECT_PEAK_M_S2 * strength * (1.0 + 0.15 * self._srng.normal(size=count))
        ok = (idx >= 0) & (idx < n)
        impulses = np.zeros(n)
        impulses[idx[ok]] = amps[ok]
        return np.convolve(impulses, self.kernel)[:n]
