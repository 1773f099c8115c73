"""The simulator's contract: deterministic, complete, well-formed samples and events."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from plantos.core.batch import SampleBatch
from plantos.core.events import Event, MachineStateChanged, PartsCounted
from plantos.core.timeparse import parse_time_ns
from plantos.demo.simulator import Simulator
from plantos.model import Plant, load_plant, load_plant_text

S = 1_000_000_000
MIN = 60 * S
H = 3600 * S
MONDAY_5H = parse_time_ns("2026-01-05T05:00:00Z", now_ns=0)

SMALL_PLANT = """
plantos: 1
enterprise: {id: test, name: Test}
calendars:
  days:
    timezone: UTC
    shifts:
      - {name: early, start: "06:00", end: "14:00", days: [mon, tue, wed, thu, fri]}
      - {name: late, start: "14:00", end: "22:00", days: [mon, tue, wed, thu, fri]}
    breaks:
      - {name: lunch, start: "10:00", duration: 30m}
asset_types:
  cnc-mill:
    simulator: {model: cnc-mill, nominal_rpm: 12000, cycle_time: 95s, programs: [7, 8]}
    tags:
      - {signal: spindle_vibration, unit: mm/s, range: [0, 40]}
      - {signal: spindle_vibration_waveform, unit: m/s^2, range: [-200, 200],
         waveform: {rate_hz: 10000, samples: 1024, every: 2m}}
      - {signal: spindle_speed, unit: rpm}
      - {signal: spindle_load, unit: percent}
      - {signal: spindle_temperature, unit: degC}
      - {signal: part_counter, type: int, unit: count}
      - {signal: state, type: enum, states: {0: "off", 1: idle, 2: running, 3: down, 4: changeover}}
      - {signal: program, type: int}
  furnace:
    simulator: {model: furnace, setpoint: 900}
    tags:
      - {signal: zone_1_temperature, unit: degC}
      - {signal: zone_2_temperature, unit: degC}
      - {signal: zone_3_temperature, unit: degC}
      - {signal: setpoint, unit: degC}
      - {signal: gas_flow, unit: m^3/h, sampling: 10s}
  weld-cell:
    simulator: {model: weld-cell, weld_time: 30s}
    tags:
      - {signal: weld_current, unit: A}
      - {signal: weld_voltage, unit: V}
      - {signal: wire_feed, unit: m/min}
      - {signal: weld_count, type: int, unit: count}
      - {signal: inspection_passed, type: bool, sampling: 40s}
  station:
    simulator: {model: assembly-station, cycle_time: 30s, scrap_rate: 0.05}
    tags:
      - {signal: good_count, type: int, unit: count}
      - {signal: scrap_count, type: int, unit: count}
      - {signal: cycle_time, unit: s}
      - {signal: state, type: enum,
         states: {0: "off", 1: idle, 2: running, 3: down, 4: starved, 5: blocked}}
sites:
  - id: s
    calendar: days
    areas:
      - id: a
        lines:
          - id: l
            assets:
              - {id: cnc-1, type: cnc-mill}
              - {id: oven, type: furnace}
              - {id: weld, type: weld-cell}
              - {id: st-1, type: station}
              - {id: conveyor, tags: [{signal: belt_speed, unit: m/s}]}
EXTRA_ASSET
"""


def small_plant(extra: str = "") -> Plant:
    return load_plant_text(SMALL_PLANT.replace("EXTRA_ASSET", extra))


def ids_for(plant: Plant) -> dict[str, int]:
    return {path: 100 + i for i, path in enumerate(sorted(plant.tags))}


def run(sim: Simulator, untils: Iterable[int]) -> tuple[SampleBatch, list[Event]]:
    batches, events = [], []
    for until in untils:
        batch, evs = sim.step(until)
        batches.append(batch)
        events += evs
    return SampleBatch.concat(batches), events


def series(batch: SampleBatch, tag_id: int) -> tuple[np.ndarray, np.ndarray]:
    mask = batch.tag_id == tag_id
    return batch.ts[mask], batch.value[mask]


@pytest.fixture(scope="module")
def plant() -> Plant:
    return small_plant()


@pytest.fixture(scope="module")
def day(plant: Plant) -> tuple[SampleBatch, list[Event]]:
    """Monday 05:00 to 17:00 UTC: off before the shift, lunch break, two shifts."""
    sim = Simulator(plant, ids_for(plant), seed=3, start_ns=MONDAY_5H)
    return run(sim, [MONDAY_5H + 12 * H])


def same(a: SampleBatch, b: SampleBatch) -> bool:
    """Byte-identical columns."""
    return (
        a.tag_id.tobytes() == b.tag_id.tobytes()
        and a.ts.tobytes() == b.ts.tobytes()
        and a.value.tobytes() == b.value.tobytes()
        and a.quality.tobytes() == b.quality.tobytes()
    )


def test_output_is_identical_however_the_simulation_is_stepped(plant: Plant) -> None:
    def make() -> Simulator:
        return Simulator(plant, ids_for(plant), seed=11, start_ns=MONDAY_5H)

    end = MONDAY_5H + 2 * H
    once = run(make(), [end])
    by_second = run(make(), range(MONDAY_5H + S, end + 1, S))
    by_ten_minutes = run(make(), range(MONDAY_5H + 10 * MIN, end + 1, 10 * MIN))
    rng = np.random.default_rng(0)
    ragged = np.unique(np.concatenate((rng.integers(MONDAY_5H, end, 50), [end, end])))
    irregular = run(make(), ragged.tolist())
    for batch, events in (by_second, by_ten_minutes, irregular):
        assert same(batch, once[0])
        assert events == once[1]
    assert len(once[0]) > 50_000


def test_different_seeds_give_different_data(plant: Plant) -> None:
    a, _ = run(Simulator(plant, ids_for(plant), seed=1, start_ns=MONDAY_5H), [MONDAY_5H + H])
    b, _ = run(Simulator(plant, ids_for(plant), seed=2, start_ns=MONDAY_5H), [MONDAY_5H + H])
    assert not same(a, b)


def test_adding_an_asset_leaves_the_other_assets_unchanged(plant: Plant) -> None:
    bigger = small_plant("              - {id: cnc-2, type: cnc-mill}")
    a, _ = run(Simulator(plant, ids_for(plant), seed=5, start_ns=MONDAY_5H), [MONDAY_5H + H])
    b, _ = run(Simulator(bigger, ids_for(bigger), seed=5, start_ns=MONDAY_5H), [MONDAY_5H + H])
    for path in plant.tags:
        if "/cnc-1/" in path or "/weld/" in path:
            ta, va = series(a, ids_for(plant)[path])
            tb, vb = series(b, ids_for(bigger)[path])
            assert ta.tobytes() == tb.tobytes() and va.tobytes() == vb.tobytes(), path


def test_every_tag_of_a_simulated_asset_appears_and_nothing_else(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    ids = ids_for(plant)
    emitted = set(np.unique(day[0].tag_id).tolist())
    simulated = {i for p, i in ids.items() if not p.startswith("s/a/l/conveyor/")}
    assert emitted == simulated


def test_only_tags_in_tag_ids_are_emitted(plant: Plant) -> None:
    wanted = {p: i for p, i in ids_for(plant).items() if p.endswith(("/state", "gas_flow"))}
    batch, _ = run(Simulator(plant, wanted, seed=3, start_ns=MONDAY_5H), [MONDAY_5H + H])
    assert set(np.unique(batch.tag_id).tolist()) == set(wanted.values())


def test_timestamps_are_sorted_inside_the_step_and_whole_seconds_for_1s_tags(
    plant: Plant,
) -> None:
    start = MONDAY_5H + 1_234_567  # not on a whole second
    sim = Simulator(plant, ids_for(plant), seed=3, start_ns=start)
    waveform = ids_for(plant)["s/a/l/cnc-1/spindle_vibration_waveform"]
    lo = start
    for hi in (start + 7 * S + 17, start + 3 * MIN, start + 50 * MIN, start + 51 * MIN):
        batch, _ = sim.step(hi)
        assert sim.now_ns == hi
        assert np.all(np.diff(batch.ts) >= 0)
        assert np.all((batch.ts >= lo) & (batch.ts < hi))
        slow = batch.tag_id != waveform
        assert np.all(batch.ts[slow] % S == 0)
        assert np.all(batch.quality == 0)
        lo = hi


def test_tags_slower_than_1s_keep_their_period(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    ts, _ = series(day[0], ids_for(plant)["s/a/l/oven/gas_flow"])
    assert np.all(ts % (10 * S) == 0)
    assert np.all(np.diff(ts) == 10 * S)


def test_counters_only_ever_count_up_in_whole_numbers(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    ids = ids_for(plant)
    for signal in ("cnc-1/part_counter", "weld/weld_count", "st-1/good_count", "st-1/scrap_count"):
        _, values = series(day[0], ids[f"s/a/l/{signal}"])
        assert np.all(np.diff(values) >= 0), signal
        assert np.all(values == np.round(values)), signal
        assert values[-1] > values[0], signal


def test_parts_counted_events_match_the_counters(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    ids = ids_for(plant)
    batch, events = day
    for asset, counters in (("cnc-1", ["part_counter"]), ("st-1", ["good_count", "scrap_count"])):
        counted = [e for e in events if isinstance(e, PartsCounted) and e.subject.endswith(asset)]
        total = sum(e.good + e.scrap for e in counted)
        rise = sum(np.ptp(series(batch, ids[f"s/a/l/{asset}/{c}"])[1]) for c in counters)
        assert total == rise > 0


def test_waveform_bursts_have_the_configured_size_and_spacing(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    ts, values = series(day[0], ids_for(plant)["s/a/l/cnc-1/spindle_vibration_waveform"])
    starts = np.flatnonzero(np.diff(ts, prepend=ts[0] - H) > S)
    assert len(starts) == 12 * 60 // 2
    assert np.all(np.diff(starts) == 1024)
    assert np.all(np.diff(ts[starts]) == 2 * MIN)
    within = np.diff(ts.reshape(-1, 1024), axis=1)
    assert np.all(within == 100_000)  # 10 kHz
    assert np.all(np.abs(values) <= 200)


def test_state_codes_are_valid_and_follow_the_calendar(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    ids = ids_for(plant)
    for asset in ("cnc-1", "st-1"):
        tag = plant.tags[f"s/a/l/{asset}/state"]
        ts, codes = series(day[0], ids[tag.path])
        assert tag.states is not None
        assert set(np.unique(codes).tolist()) <= set(tag.states)
        assert np.all(codes[ts < MONDAY_5H + H] == 0)  # before the 06:00 shift: off
        lunch = (ts >= MONDAY_5H + 5 * H) & (ts < MONDAY_5H + 5 * H + 30 * MIN)
        assert np.all(codes[lunch] == 1)  # the lunch break: idle
        running = (ts >= MONDAY_5H + H) & (codes == 2)
        assert running.sum() > 0.6 * 11 * 3600
    _, codes = series(day[0], ids["s/a/l/st-1/state"])
    assert {4, 5} <= set(codes.tolist())  # starved and blocked happen


def test_state_events_match_the_state_tag(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    tag = plant.tags["s/a/l/cnc-1/state"]
    assert tag.states is not None
    ts, codes = series(day[0], ids_for(plant)[tag.path])
    changes = [e for e in day[1] if isinstance(e, MachineStateChanged) and e.subject == tag.asset]
    assert changes[0].ts_ns == MONDAY_5H and changes[0].state == "off"
    assert all(a.state == b.previous for a, b in pairwise(changes))
    assert len(changes) > 20
    for e in changes:
        assert tag.states[int(codes[np.searchsorted(ts, e.ts_ns)])] == e.state


def test_events_come_in_time_order_about_assets(
    plant: Plant, day: tuple[SampleBatch, list[Event]]
) -> None:
    stamps = [e.ts_ns for e in day[1]]
    assert stamps == sorted(stamps)
    assert {e.subject for e in day[1]} <= set(plant.assets)


def test_stepping_back_in_time_is_refused(plant: Plant) -> None:
    sim = Simulator(plant, ids_for(plant), seed=3, start_ns=MONDAY_5H)
    sim.step(MONDAY_5H + MIN)
    batch, events = sim.step(MONDAY_5H + MIN)
    assert len(batch) == 0 and events == []
    with pytest.raises(ValueError, match="before now"):
        sim.step(MONDAY_5H + MIN - 1)


def test_demo_plant_emits_every_tag_and_plausible_values(demo_plant_path: Path) -> None:
    plant = load_plant(demo_plant_path)
    ids = {p: i for i, p in enumerate(sorted(plant.tags))}
    batch, _ = run(Simulator(plant, ids, seed=42, start_ns=MONDAY_5H), [MONDAY_5H + H])
    machine = {ids[p] for p, tag in plant.tags.items() if tag.entry != "manual"}
    assert machine < set(ids.values())  # operators enter the readings no sensor gives
    assert set(np.unique(batch.tag_id).tolist()) == machine
    for path, tag in plant.tags.items():
        if tag.range is not None and ids[path] in machine:
            _, values = series(batch, ids[path])
            low, high = tag.range
            assert values.min() >= low and values.max() <= high, path
    _, rpm = series(batch, ids["plant-a/machining/line-1/cnc-01/spindle_speed"])
    _, vib = series(batch, ids["plant-a/machining/line-1/cnc-01/spindle_vibration"])
    spinning = rpm > 11_000
    assert 1.0 < np.median(vib[spinning]) < 2.0
    assert np.median(vib[rpm < 1]) < 0.3
