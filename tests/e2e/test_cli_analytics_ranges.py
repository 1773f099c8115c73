"""``plantos analytics oee`` and ``plantos analytics spc`` over historian ranges, end to end.

A real Platform writes nine hours of crafted history (a mixer down the last quarter of
every hour, one always running, a temperature that steps up 5 degrees at 01:00); the CLI
then runs as a subprocess over the data directory, or asks a running server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from plantos.app import Platform, Settings
from plantos.cli.main import app
from plantos.core.batch import SampleBatch
from plantos.core.timeparse import parse_time_ns
from tests.conftest import REPO
from tests.support.server import SMALL_PLANT, running_server, wait_until

NS = 1_000_000_000
PLANTOS = REPO / ".venv" / "bin" / "plantos"
LINE = "site-1/mixing/line-1"
M1, M2 = f"{LINE}/mixer-1", f"{LINE}/mixer-2"
START, END = "2026-03-02T20:00:00Z", "2026-03-03T04:00:00Z"
STEP = "2026-03-03T01:00:00Z"
WRITE_FROM = "2026-03-02T19:00:00Z"  # OEE replays an hour before the range
PLANT = (
    SMALL_PLANT
    + f"""\
analytics:
  oee:
    asset_types:
      mixer: {{from_enum: state, ideal_cycle_time: 1m, counters: {{total: batches}}}}
  spc:
    - {{tag: {M1}/temperature, chart: i-mr, window: 1m, limits: {{rolling: 30}},
       spec_limits: {{lsl: 40, usl: 80}}}}
"""
)


def history(tag_ids: dict[str, int]) -> SampleBatch:
    """Every 10 s: mixer-1 running but down 45-60 min past each hour, mixer-2 running;
    each counts a batch a minute while running; mixer-1's temperature steps at 01:00."""
    ts = np.arange(parse_time_ns(WRITE_FROM, now_ns=0), parse_time_ns(END, now_ns=0), 10 * NS)
    minute = (ts // (60 * NS)) % 60
    m1_running = minute < 45
    rng = np.random.default_rng(3)
    temperature = 60.0 + rng.normal(0.0, 0.5, len(ts))
    temperature[ts >= parse_time_ns(STEP, now_ns=0)] += 5.0
    columns = {
        f"{M1}/state": np.where(m1_running, 2.0, 3.0),
        f"{M2}/state": np.full(len(ts), 2.0),
        f"{M1}/batches": np.cumsum(m1_running & (ts % (60 * NS) == 0)).astype(np.float64),
        f"{M2}/batches": np.cumsum(ts % (60 * NS) == 0).astype(np.float64),
        f"{M1}/temperature": temperature,
        f"{M2}/temperature": np.full(len(ts), 20.0),
    }
    return SampleBatch.concat(
        [SampleBatch.of(np.full(len(ts), tag_ids[tag]), ts, v) for tag, v in columns.items()]
    )


@pytest.fixture(scope="module")
def plant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plant file and a data directory holding the crafted history, written by a Platform."""
    base = tmp_path_factory.mktemp("ranges")
    (base / "plantos.yaml").write_text(PLANT)

    async def write() -> None:
        platform = Platform(Settings(config=base / "plantos.yaml", data_dir=base / "data"))

        async def source() -> None:
            await platform.ingest(history(platform.tag_ids), source="test")

        platform.add_source(source())
        await platform.start()
        await platform.drain()
        platform.historian.close()

    asyncio.run(write())
    return base


def plantos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PLANTOS), "analytics", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )


def local(base: Path) -> tuple[str, ...]:
    return ("--config", str(base / "plantos.yaml"), "--data-dir", str(base / "data"))


def test_oee_of_a_line_and_its_mixers_from_the_historian(plant_dir: Path) -> None:
    result = plantos(
        "oee", LINE, "--from", START, "--to", END, "--format", "json", *local(plant_dir)
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    children = {c["path"]: c["totals"] for c in answer["children"]}
    assert children[M1]["availability"] == pytest.approx(0.75)
    assert children[M2]["availability"] == pytest.approx(1.0)
    assert answer["totals"]["availability"] == pytest.approx(0.875)
    assert children[M1]["total"] == 8 * 45 and children[M2]["total"] == 8 * 60
    assert answer["losses_s"][0] == ["breakdowns", 8 * 15 * 60]


def test_oee_by_day_splits_at_midnight_and_prints_a_table(plant_dir: Path) -> None:
    args = ("oee", M1, "--from", START, "--to", END, *local(plant_dir), "--by", "day")
    result = plantos(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    periods = json.loads(result.stdout)["periods"]
    assert [p["period"] for p in periods] == ["2026-03-02", "2026-03-03"]
    assert [p["totals"]["run_s"] for p in periods] == [4 * 45 * 60] * 2
    table = plantos(*args)
    assert table.returncode == 0, table.stderr
    assert "75.0%" in table.stdout and "breakdowns 1h00m" in table.stdout


def test_spc_flags_the_step_with_rule_1(plant_dir: Path) -> None:
    result = plantos(
        "spc", f"{M1}/temperature", "--from", START, "--to", END, "--format", "json",
        *local(plant_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["samples"] == 8 * 360 and answer["points"] == 8 * 60
    assert answer["limits"] == {"mode": "rolling", "subgroups": 30, "nsigmas": 3.0}
    rule_1 = [v for v in answer["violations"] if v["rule"] == 1 and v["statistic"] == "x"]
    at_step = next(v for v in rule_1 if v["time"] > STEP)
    assert at_step["time"] == "2026-03-03T01:01:00.000Z"  # the first window after the step
    assert at_step["value"] > at_step["ucl"] and at_step["value"] == pytest.approx(65, abs=0.5)
    assert answer["capability"]["cpk"] is not None


def test_spc_from_options_with_frozen_limits_and_a_table(plant_dir: Path) -> None:
    result = plantos(
        "spc", f"{M1}/temperature", "--from", "2026-03-03T00:00:00Z", "--to", END,
        "--window", "5m", "--baseline-from", START, "--baseline-to", "2026-03-02T23:00:00Z",
        *local(plant_dir),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "48 points plotted, limits frozen" in text
    assert "2026-03-03T01:0" in text and "monitoring" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("oee", "site-1/nowhere", "--from", START, "--to", END), "no site, area, line or asset"),
        (("oee", LINE, "--from", "yesterday-ish", "--to", END), "not a time"),
        (("oee", LINE, "--from", END, "--to", START), "empty range"),
        (("oee", LINE, "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z"),
         "no machine data"),
        (("spc", f"{LINE}/nope", "--from", START, "--to", END), "no tag"),
        (("spc", f"{M1}/temperature", "--from", "2026-01-01", "--to", "2026-01-02"), "no samples"),
        (("spc", f"{M2}/temperature", "--from", START, "--to", END), "no SPC characteristic"),
        (("spc", f"{M1}/temperature", "--from", START, "--to", END, "--window", "-1m"),
         "not a duration"),
    ],
)  # fmt: skip
def test_errors_say_why_and_exit_1(plant_dir: Path, args: tuple[str, ...], message: str) -> None:
    """In process, for speed: the same Typer app the ``plantos`` script runs."""
    result = CliRunner().invoke(app, ["analytics", *args, *local(plant_dir)])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    async def feed(platform: Platform) -> None:
        await platform.ingest(history(platform.tag_ids), source="test")

    with running_server(tmp_path_factory.mktemp("served"), PLANT, feed=feed) as running:
        rows = len(history(running.platform.tag_ids))
        wait_until(lambda: running.platform.writer.acked_rows >= rows, "the history commit")
        yield running.url, running.admin_token


def test_oee_asks_a_running_server_that_holds_the_historian(server: tuple[str, str]) -> None:
    url, token = server
    result = plantos("oee", LINE, "--from", START, "--to", END, "--format", "json", "--api", url,
                     "--token", token)  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["totals"]["availability"] == pytest.approx(0.875)
    assert {c["path"]: c["totals"]["availability"] for c in answer["children"]} == {
        M1: pytest.approx(0.75),
        M2: pytest.approx(1.0),
    }
    spc = plantos("spc", f"{M1}/temperature", "--from", START, "--to", END, "--format", "json",
                  "--api", url, "--token", token, "--config", str(REPO / "no.yaml"))  # fmt: skip
    assert spc.returncode == 1 and "no.yaml" in spc.stderr  # the characteristic needs the file
    wrong = plantos("oee", LINE, "--from", START, "--to", END, "--api", url, "--token", "nope")
    assert wrong.returncode == 1 and "401" in wrong.stderr


def test_oee_by_shift_through_the_server(server: tuple[str, str], tmp_path: Path) -> None:
    url, token = server
    (tmp_path / "plantos.yaml").write_text(PLANT)
    result = plantos(
        "oee", M1, "--from", START, "--to", END, "--by", "shift", "--format", "json",
        "--api", url, "--token", token, "--config", str(tmp_path / "plantos.yaml"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    periods = json.loads(result.stdout)["periods"]
    assert [p["period"] for p in periods] == ["2026-03-02 all-day", "2026-03-03 all-day"]
    assert all(p["totals"]["availability"] == pytest.approx(0.75) for p in periods)
    spc = plantos(
        "spc", f"{M1}/temperature", "--from", START, "--to", END, "--format", "json",
        "--api", url, "--token", token, "--config", str(tmp_path / "plantos.yaml"),
    )  # fmt: skip
    assert spc.returncode == 0, spc.stderr
    answer = json.loads(spc.stdout)
    assert answer["points"] == 8 * 60
    assert any(
        v["rule"] == 1 and v["time"] == "2026-03-03T01:01:00.000Z" for v in answer["violations"]
    )
