"""Meter plans on a real platform and DuckDB historian: operating hours from the mixer's
machine states, batches from its OEE counter and a temperature's integral; one work
order per plan while it is open; a restarted platform reads on from where it stopped;
a wrong plan in the plant file is refused with its file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plantos.app import Platform, Settings
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock
from plantos.core.errors import ConfigError
from plantos.core.timeparse import iso
from plantos.loops.preventive import SETTLE_NS
from plantos.mom.maintenance.workorder import Window
from tests.support.reliability_history import DOWNS, END, MIXER, NS, T0, H, states
from tests.support.server import MIXER_OEE_PLANT

pytestmark = pytest.mark.timeout(120)

PLANS = f"""\
maintenance:
  plans:
    - {{id: mixer-hours, asset: {MIXER}, meter: hours, every: 4, lead: 0.5, start: "{iso(T0)}"}}
    - {{id: mixer-batches, asset: {MIXER}, meter: parts, every: 100, lead: 10,
       start: "{iso(T0)}"}}
    - {{id: mixer-heat, asset: {MIXER}, meter: integral, tag: temperature, per: 1h,
       every: 300, lead: 30, start: "{iso(T0)}"}}
"""
RUNNING_H = 4.5
"""Running 2 h + 1 h + 1 h 30 min between T0 and END."""


def counter_and_temperature(ids: dict[str, int]) -> SampleBatch:
    """A batch counted every 10 min of running (the counter ends at 26); 50 degC throughout."""
    ts = np.arange(T0, END, 60 * NS)
    running = np.ones(len(ts), dtype=bool)
    for a, b in DOWNS:
        running &= ~((ts >= a) & (ts < b))
    minute = np.cumsum(running) - running  # running minutes before each sample
    batches = (minute // 10).astype(float)
    both = np.concatenate((ts, ts))
    tag = np.concatenate(
        (np.full(len(ts), ids[f"{MIXER}/batches"]), np.full(len(ts), ids[f"{MIXER}/temperature"]))
    )
    order = np.argsort(both, kind="stable")
    return SampleBatch.of(
        tag[order], both[order], np.concatenate((batches, np.full(len(ts), 50.0)))[order]
    )


def platform(base: Path, now_ns: int, plants: str = MIXER_OEE_PLANT + PLANS) -> Platform:
    (base / "plantos.yaml").write_text(plants)
    return Platform(
        Settings(config=base / "plantos.yaml", data_dir=base / "data"), clock=ManualClock(now_ns)
    )


def test_meters_open_one_work_order_each_and_a_restart_reads_on(tmp_path: Path) -> None:
    first = platform(tmp_path, END + SETTLE_NS)
    first.historian.write(states(first.tag_ids))
    first.historian.write(counter_and_temperature(first.tag_ids))
    preventive = first.maintenance.preventive
    opened = preventive.evaluate()
    views = {v.plan.id: v for v in preventive.list()}
    assert views["mixer-hours"].state.reading == pytest.approx(RUNNING_H, abs=2 / 60)
    assert views["mixer-batches"].state.reading == 26  # counter 0 -> 26
    assert views["mixer-heat"].state.reading == pytest.approx(50 * 5.5, rel=0.01)
    # hours 4.5 >= 4 - 0.5; batches 26 < 90; heat 275 >= 270
    assert sorted(o.evidence[0]["plan"] for o in opened) == ["mixer-heat", "mixer-hours"]
    assert all(o.kind == "preventive" and o.asset == MIXER for o in opened)
    assert preventive.evaluate() == []  # open: never a second one
    hours_order = next(o for o in opened if o.evidence[0]["plan"] == "mixer-hours")
    service = first.maintenance.service
    service.change(
        lambda uow: uow.work_orders.get(hours_order.id).propose_window(
            Window(END, END + H), by="t", at_ns=END
        )
    )
    for to in ("approved", "scheduled", "in_progress", "done"):
        service.transition(hours_order.id, to, by="planner")
    first.historian.close()
    first.mom.service.engine.dispose()

    # Restart two hours later with two more hours of running in the historian.
    later = END + 2 * H
    second = platform(tmp_path, later + SETTLE_NS)
    ts = np.arange(END, later, 60 * NS)
    second.historian.write(
        SampleBatch.of(
            np.full(len(ts), second.tag_ids[f"{MIXER}/state"]), ts, np.full(len(ts), 2.0)
        )
    )
    assert second.maintenance.preventive.evaluate() == []
    views = {v.plan.id: v for v in second.maintenance.preventive.list()}
    hours = views["mixer-hours"].state
    assert hours.work_order is None and hours.last_work_order == hours_order.id
    assert hours.reading == pytest.approx(RUNNING_H + 2, abs=2 / 60)
    assert hours.done_at == pytest.approx(RUNNING_H, abs=2 / 60)  # done at END: reset there
    assert hours.due == pytest.approx(RUNNING_H + 4, abs=2 / 60)  # floating: 4 h from then
    assert views["mixer-heat"].state.work_order is not None  # still open, still the one
    second.historian.close()
    second.mom.service.engine.dispose()


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("{id: p1, asset: site-1/mixing/line-1/nope, every: 2w}", "plans[0].asset: no asset"),
        ("{id: p1, asset: ASSET, meter: hours, every: 2w}", "plans[0].every: a meter plan"),
        ("{id: p1, asset: ASSET, every: 500}", "plans[0].every: a calendar plan needs"),
        ("{id: p1, asset: ASSET, meter: hours, states: [flying], every: 5}", "unknown state"),
        ("{id: p1, asset: ASSET, meter: integral, every: 5}", "plans[0].tag: a integral"),
        ("{id: p1, asset: ASSET, meter: sum, tag: nope, every: 5}", "plans[0].tag: no tag"),
        ("{id: p1, asset: ASSET, every: 1d, lead: 2d}", "lead must be"),
        ('{id: p1, asset: ASSET, every: 1d, start: "2026-01-01T06:00"}', "time zone"),
        ("{id: p1, asset: ASSET, every: 1d, colour: red}", "unknown key 'colour'"),
    ],
)
def test_wrong_plan_is_refused_with_file_and_line(tmp_path: Path, plan: str, message: str) -> None:
    text = MIXER_OEE_PLANT + f"maintenance:\n  plans:\n    - {plan.replace('ASSET', MIXER)}\n"
    line = text.count("\n")  # the plan's own line is the last one
    with pytest.raises(ConfigError) as caught:
        platform(tmp_path, T0, text)
    shown = str(caught.value)
    assert message in shown
    assert f"plantos.yaml:{line}" in shown


def test_two_plans_with_one_id_are_refused(tmp_path: Path) -> None:
    plan = f"{{id: p1, asset: {MIXER}, every: 1d}}"
    text = MIXER_OEE_PLANT + f"maintenance:\n  plans:\n    - {plan}\n    - {plan}\n"
    with pytest.raises(ConfigError, match=r"plans\[1\]\.id: another plan has the id 'p1'"):
        platform(tmp_path, T0, text)
