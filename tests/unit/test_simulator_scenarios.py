"""Injected faults: parsing, ground truth, and that each one shows in the data as it should."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plantos.core.batch import SampleBatch
from plantos.core.events import Event, InspectionRecorded, MachineStateChanged, PartsCounted
from plantos.core.timeparse import parse_time_ns
from plantos.demo.simulator import Scenario, Simulator, parse_scenario
from plantos.model import Plant, load_plant

S = 1_000_000_000
MIN = 60 * S
H = 3600 * S
START = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)  # 06:00 in Stuttgart: early shift
LINE = "plant-a/machining/line-1"
CNC7 = f"{LINE}/cnc-07"
FURNACE = "plant-a/heat-treat/furnace-line/furnace-1"
WELD = "plant-a/welding/weld-line/weld-cell-1"

Run = tuple[SampleBatch, list[Event]]


@pytest.fixture(scope="module")
def plant(request: pytest.FixtureRequest) -> Plant:
    return load_plant(Path(request.config.rootpath) / "examples" / "demo-plant" / "plantos.yaml")


@pytest.fixture(scope="module")
def ids(plant: Plant) -> dict[str, int]:
    return {p: i for i, p in enumerate(sorted(plant.tags))}


def simulate(
    plant: Plant, ids: dict[str, int], prefix: str, hours: float, *scenarios: Scenario
) -> Run:
    wanted = {p: i for p, i in ids.items() if p.startswith(prefix)}
    sim = Simulator(plant, wanted, seed=42, start_ns=START, scenarios=scenarios)
    return sim.step(START + int(hours * H))


def series(run: Run, ids: dict[str, int], path: str) -> tuple[np.ndarray, np.ndarray]:
    mask = run[0].tag_id == ids[path]
    return run[0].ts[mask], run[0].value[mask]


@pytest.fixture(scope="module")
def worn(plant: Plant, ids: dict[str, int]) -> Run:
    """Bearing wear on cnc-07 from 1 h after the start, failing 3 h later; 5 h simulated."""
    scenario = parse_scenario(f"bearing-wear:{CNC7}:1h:3h", plant)
    return simulate(plant, ids, LINE, 5, scenario)


@pytest.fixture(scope="module")
def healthy(plant: Plant, ids: dict[str, int]) -> Run:
    return simulate(plant, ids, LINE, 5)


ONSET, FAILURE = START + H, START + 4 * H


def window_mean(run: Run, ids: dict[str, int], asset: str, signal: str, lo: int, hi: int) -> float:
    ts, values = series(run, ids, f"{asset}/{signal}")
    _, state = series(run, ids, f"{asset}/state")
    mask = (ts >= lo) & (ts < hi) & (state == 2)
    return float(values[mask].mean())


def test_parse_scenario_defaults_and_unique_asset_ids(plant: Plant) -> None:
    assert parse_scenario("bearing-wear:cnc-07", plant) == Scenario(
        "bearing-wear", CNC7, 4 * H, 12 * H
    )
    assert parse_scenario(f"bearing-wear:{CNC7}:90m:2h", plant) == Scenario(
        "bearing-wear", CNC7, 90 * MIN, 2 * H
    )
    drift = parse_scenario("furnace-drift:furnace-1", plant)
    assert (drift.asset, drift.onset_after_ns) == (FURNACE, 2 * H)
    weld = parse_scenario("weld-defect-trend:weld-cell-1:30m", plant)
    assert (weld.asset, weld.onset_after_ns) == (WELD, 30 * MIN)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rust:cnc-07", "unknown scenario kind 'rust'"),
        ("bearing-wear", "must be written bearing-wear:asset"),
        ("bearing-wear:cnc-99", "unknown asset 'cnc-99'"),
        ("bearing-wear:cnc-01", "ambiguous"),
        ("bearing-wear:furnace-1", "needs a cnc-mill asset"),
        ("furnace-drift:cnc-07", "needs a furnace asset"),
        ("bearing-wear:cnc-07:soon", "bad onset 'soon'"),
        ("bearing-wear:cnc-07:1h:0s", "time to failure must be positive"),
        ("furnace-drift:furnace-1:1h:2h", "must be written furnace-drift:asset[:onset]"),
    ],
)
def test_bad_scenario_text_is_refused_with_a_sentence(
    plant: Plant, text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_scenario(text, plant)


def test_simulator_refuses_scenarios_it_cannot_apply(plant: Plant, ids: dict[str, int]) -> None:
    wrong = Scenario("bearing-wear", FURNACE, H, H)
    with pytest.raises(ValueError, match="needs a simulated cnc-mill"):
        Simulator(plant, ids, seed=1, start_ns=START, scenarios=[wrong])
    twice = [Scenario("bearing-wear", CNC7, H, H), Scenario("bearing-wear", CNC7, 2 * H, H)]
    with pytest.raises(ValueError, match="two scenarios"):
        Simulator(plant, ids, seed=1, start_ns=START, scenarios=twice)


def test_ground_truth_gives_onset_and_functional_failure(plant: Plant, ids: dict[str, int]) -> None:
    scenarios = [
        parse_scenario("bearing-wear:cnc-07", plant),
        parse_scenario("furnace-drift:furnace-1:1h", plant),
        parse_scenario("weld-defect-trend:weld-cell-1", plant),
    ]
    truth = Simulator(plant, ids, seed=1, start_ns=START, scenarios=scenarios).ground_truth()
    assert [t["kind"] for t in truth] == ["bearing-wear", "furnace-drift", "weld-defect-trend"]
    bearing, furnace, weld = truth
    assert bearing["asset"] == CNC7
    assert bearing["onset_ns"] == START + 4 * H and bearing["onset"] == "2026-01-05T09:00:00.000Z"
    assert bearing["functional_failure_ns"] == START + 16 * H
    assert bearing["functional_failure"] == "2026-01-05T21:00:00.000Z"
    assert furnace["onset_ns"] == START + H and furnace["functional_failure_ns"] == START + 7 * H
    assert furnace["params"]["zone"] == 2
    expected_weld = START + 2 * H + 8 * H * np.sqrt(0.09 / 0.29)
    assert abs(weld["functional_failure_ns"] - expected_weld) < S


def test_a_bearing_on_two_shifts_wears_only_in_its_shift_time(
    plant: Plant, ids: dict[str, int]
) -> None:
    """Plant B's first shift starts at 06:00 Chicago (12:00 UTC), seven hours into the run:
    a wear onset at 4 h starts then, and the 12 h to failure count shift hours only."""
    mill = "plant-b/machining/line-1/cnc-01"
    runs = {
        ttf: Simulator(
            plant, ids, seed=1, start_ns=START,
            scenarios=[parse_scenario(f"bearing-wear:{mill}:4h:{ttf}", plant)],
        )
        for ttf in ("12h", "20h")
    }  # fmt: skip
    (truth,) = runs["12h"].ground_truth()
    assert truth["onset"] == "2026-01-05T12:00:00.000Z"
    assert truth["functional_failure"] == "2026-01-06T00:00:00.000Z"
    assert truth["params"]["clock"] == "shift time"
    # 17 shift hours on Monday (06:00 to 23:00 Chicago), the other 3 on Tuesday morning
    (long,) = runs["20h"].ground_truth()
    assert long["functional_failure"] == "2026-01-06T15:00:00.000Z"
    (wear,) = runs["20h"]._degradations
    at = [
        parse_time_ns(t, now_ns=0)
        for t in (
            "2026-01-05T11:59:00Z",
            "2026-01-06T05:00:00Z",
            "2026-01-06T11:59:00Z",
            "2026-01-06T13:00:00Z",
        )
    ]
    before, shift_end, night_end, next_shift = wear.level(np.array(at, np.int64)).tolist()
    assert before == 0.0 and 0 < shift_end == night_end < next_shift < 1
    # a mill on the continuous calendar keeps the wall clock
    (cnc7,) = Simulator(
        plant, ids, seed=1, start_ns=START, scenarios=[parse_scenario("bearing-wear:cnc-07", plant)]
    ).ground_truth()
    assert cnc7["params"]["clock"] == "wall"


def test_healthy_data_is_untouched_before_onset(
    worn: Run, healthy: Run, ids: dict[str, int]
) -> None:
    for signal in ("spindle_vibration", "spindle_speed", "state", "spindle_vibration_waveform"):
        ta, va = series(worn, ids, f"{CNC7}/{signal}")
        tb, vb = series(healthy, ids, f"{CNC7}/{signal}")
        before_a, before_b = ta < ONSET, tb < ONSET
        assert np.array_equal(ta[before_a], tb[before_b])
        assert np.array_equal(va[before_a], vb[before_b])


def test_bearing_wear_raises_vibration_gradually(
    worn: Run, healthy: Run, ids: dict[str, int]
) -> None:
    before = window_mean(worn, ids, CNC7, "spindle_vibration", START, ONSET)
    late = window_mean(worn, ids, CNC7, "spindle_vibration", FAILURE - 30 * MIN, FAILURE)
    near_failure = window_mean(worn, ids, CNC7, "spindle_vibration", FAILURE - 10 * MIN, FAILURE)
    assert 1.0 < before < 2.0
    assert late > 3.5 * before
    assert 8.0 < near_failure < 12.0
    # within the first quarter of the degradation it already stands out from the healthy run
    lo, hi = ONSET + 45 * MIN, ONSET + 60 * MIN
    early_worn = window_mean(worn, ids, CNC7, "spindle_vibration", lo, hi)
    early_healthy = window_mean(healthy, ids, CNC7, "spindle_vibration", lo, hi)
    assert early_worn > 1.15 * early_healthy
    hotter = window_mean(worn, ids, CNC7, "spindle_temperature", FAILURE - H, FAILURE)
    normal = window_mean(healthy, ids, CNC7, "spindle_temperature", FAILURE - H, FAILURE)
    assert 2.0 < hotter - normal < 10.0


def test_healthy_machines_never_show_wear(worn: Run, ids: dict[str, int]) -> None:
    for n in (1, 2, 3, 4, 5, 6, 8):
        asset = f"{LINE}/cnc-0{n}"
        ts, vib = series(worn, ids, f"{asset}/spindle_vibration")
        _, state = series(worn, ids, f"{asset}/state")
        running = state == 2
        windows = [
            running & (ts >= t) & (ts < t + 10 * MIN) for t in range(START, START + 5 * H, 30 * MIN)
        ]
        means = [vib[w].mean() for w in windows if w.sum() > 60]
        assert len(means) > 6, asset
        assert max(means) < 2.2, asset
        assert max(means) < 1.3 * min(means), asset


def _bursts(run: Run, ids: dict[str, int], asset: str) -> tuple[np.ndarray, np.ndarray]:
    ts, values = series(run, ids, f"{asset}/spindle_vibration_waveform")
    return ts.reshape(-1, 4096)[:, 0], values.reshape(-1, 4096)


def _spectrum_features(x: np.ndarray, rpm: float) -> tuple[float, float]:
    """Share of power at the ~3 kHz resonance, and envelope amplitude at BPFO over its median."""
    f = np.fft.rfftfreq(len(x), 1e-4)
    spectrum = np.fft.rfft(x)
    power = np.abs(spectrum) ** 2
    band = float(power[(f > 2500) & (f < 3500)].sum() / power.sum())
    analytic = np.fft.ifft(np.where((f > 2000) & (f < 4000), 2 * spectrum, 0), n=len(x))
    envelope = np.abs(np.fft.rfft(np.abs(analytic) - np.abs(analytic).mean()))
    bpfo = 3.57 * rpm / 60
    near = np.abs(f - bpfo) < 10
    return band, float(envelope[near].max() / np.median(envelope[(f > 50) & (f < 2000)]))


def test_late_waveform_shows_bpfo_impacts_on_the_resonance(
    worn: Run, healthy: Run, ids: dict[str, int]
) -> None:
    starts, worn_bursts = _bursts(worn, ids, CNC7)
    _, healthy_bursts = _bursts(healthy, ids, CNC7)
    speed_ts, rpm = series(worn, ids, f"{CNC7}/spindle_speed")
    rpm_at = rpm[np.searchsorted(speed_ts, starts)]
    late = np.flatnonzero((starts > FAILURE - 40 * MIN) & (starts < FAILURE) & (rpm_at > 10_000))
    assert len(late) >= 3
    for i in late:
        band, bpfo_peak = _spectrum_features(worn_bursts[i], rpm_at[i])
        healthy_band, healthy_peak = _spectrum_features(healthy_bursts[i], rpm_at[i])
        assert band > 0.3 and bpfo_peak > 10
        assert healthy_band < 0.05 and healthy_peak < 5


def test_functional_failure_puts_the_machine_down_for_good(worn: Run, ids: dict[str, int]) -> None:
    ts, state = series(worn, ids, f"{CNC7}/state")
    assert np.all(state[ts >= FAILURE] == 3) and np.any(state[ts < FAILURE] == 2)
    speed_ts, rpm = series(worn, ids, f"{CNC7}/spindle_speed")
    assert np.all(rpm[speed_ts >= FAILURE + MIN] == 0)
    mine = [e for e in worn[1] if e.subject == CNC7]
    down = [e for e in mine if isinstance(e, MachineStateChanged) and e.ts_ns >= FAILURE]
    assert len(down) == 1 and down[0].ts_ns == FAILURE and down[0].state == "down"
    assert not [e for e in mine if isinstance(e, PartsCounted) and e.ts_ns > FAILURE]


@pytest.fixture(scope="module")
def process_faults(plant: Plant, ids: dict[str, int]) -> Run:
    """Furnace drift and weld defect trend from 30 min after the start, over 2 h ramps."""
    drift = Scenario("furnace-drift", FURNACE, 30 * MIN, 2 * H)
    weld = Scenario("weld-defect-trend", WELD, 30 * MIN, 2 * H)
    return simulate(plant, ids, "plant-a/", 3, drift, weld)


def test_furnace_drift_moves_one_zone_and_the_gas_flow(
    process_faults: Run, ids: dict[str, int]
) -> None:
    def mean(signal: str, lo: int, hi: int) -> float:
        ts, values = series(process_faults, ids, f"{FURNACE}/{signal}")
        return float(values[(ts >= lo) & (ts < hi)].mean())

    onset, failure = START + 30 * MIN, START + 150 * MIN
    for zone, shift in ((1, 0.0), (2, 10.0), (3, 0.0)):
        signal = f"zone_{zone}_temperature"
        before = mean(signal, START, onset)
        at_failure = mean(signal, failure - 5 * MIN, failure + 5 * MIN)
        assert 855 < before < 865
        assert abs(at_failure - before - shift) < 1.5, signal
    assert mean("gas_flow", failure - 10 * MIN, failure) > mean("gas_flow", START, onset) + 3


def test_weld_defect_trend_raises_failures_and_current_spread(
    process_faults: Run, ids: dict[str, int]
) -> None:
    ts, passed = series(process_faults, ids, f"{WELD}/inspection_passed")
    count_ts, count = series(process_faults, ids, f"{WELD}/weld_count")
    rises = count_ts[np.flatnonzero(np.diff(count) > 0) + 1]
    assert np.array_equal(ts, rises)  # one inspection per weld, at its end
    inspections = [e for e in process_faults[1] if isinstance(e, InspectionRecorded)]
    assert [e.ts_ns for e in inspections] == ts.tolist()
    assert [float(e.passed) for e in inspections] == passed.tolist()
    onset, failure = START + 30 * MIN, START + 30 * MIN + int(2 * H * np.sqrt(0.09 / 0.29))
    assert (passed[ts < onset] == 0).sum() <= 2
    late = passed[ts >= failure]
    assert (late == 0).mean() > 0.1
    cur_ts, current = series(process_faults, ids, f"{WELD}/weld_current")
    arc = current > 50
    early = current[arc & (cur_ts < onset)].std()
    assert current[arc & (cur_ts >= failure)].std() > 2 * early
    assert 200 < current[arc].mean() < 240
    assert np.all(current[~arc] < 5)
