"""Reliability over the HTTP API and the CLI, from a real historian fed known machine
states: two failures of 30 min in 5 h, one covered by a corrective work order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from plantos.app import Platform, Settings
from plantos.cli.main import app
from plantos.core.timeparse import iso
from tests.support.reliability_history import END, MIXER, NS, T0, H, add_order, feed, states
from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plant file and a data directory with the same states and work order, no server."""
    base = tmp_path_factory.mktemp("stopped")
    (base / "plantos.yaml").write_text(MIXER_OEE_PLANT)

    async def write() -> None:
        platform = Platform(Settings(config=base / "plantos.yaml", data_dir=base / "data"))

        async def source() -> None:
            await platform.ingest(states(platform.tag_ids), source="test")

        platform.add_source(source())
        await platform.start()
        await platform.drain()
        add_order(platform)
        platform.historian.close()

    asyncio.run(write())
    return base


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose historian holds the states and whose database the work order."""
    path = tmp_path_factory.mktemp("reliability")
    with running_server(path, MIXER_OEE_PLANT) as running:
        feed(running)
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    running = server
    token = running.platform.tokens.issue_api_token("test-reader", "viewer")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=60) as c:
        yield c


def _get(client: httpx.Client, start: int, end: int, asset: str = MIXER) -> httpx.Response:
    return client.get(
        "/api/v1/reliability", params={"asset": asset, "from": iso(start), "to": iso(end)}
    )


def test_figures_per_asset_and_failure_mode_from_the_historian(client: httpx.Client) -> None:
    response = _get(client, T0, END)
    assert response.status_code == 200, response.text
    r = response.json()
    assert r["failures"] == 2
    assert r["up_s"] == 4.5 * 3600
    assert r["mtbf_s"] == pytest.approx(2.25 * 3600)
    assert r["mttr_s"] == pytest.approx(1800)
    assert r["availability"] == pytest.approx(2.25 / 2.75)
    assert r["uptime_share"] == pytest.approx(4.5 / 5.5)
    modes = r["failure_modes"]
    assert modes["VIB"]["failures"] == 1 and modes["unattributed"]["failures"] == 1
    assert [f["work_order"] for f in r["failure_intervals"]] == ["wo-bearing", None]

    # a range ending inside the second failure: counted, open, left out of MTTR
    r = _get(client, T0 + H, T0 + 15 * H // 4).json()
    assert r["failures"] == 2 and r["failure_intervals"][-1]["open"] is True
    assert r["mttr_s"] == pytest.approx(1800)

    # no failure: MTBF, MTTR and availability are null, not infinite
    r = _get(client, T0 + 5 * H // 2 + 60 * NS, T0 + 3 * H).json()
    assert r["failures"] == 0 and r["mtbf_s"] is None and r["availability"] is None


def test_bad_ranges_and_assets_are_refused_with_a_reason(client: httpx.Client) -> None:
    response = _get(client, END, T0)
    assert response.status_code == 400 and "before" in response.text
    response = _get(client, T0, END, asset="site-1/nowhere")
    assert response.status_code == 404 and "nowhere" in response.text
    response = client.get("/api/v1/reliability", params={"asset": MIXER, "from": "yesterday-ish"})
    assert response.status_code == 400


def test_the_cli_gives_the_same_figures(stopped: Path) -> None:
    data_dir = stopped
    args = [
        "maintenance", "reliability", "--asset", MIXER, "--from", iso(T0), "--to", iso(END),
        "--config", str(data_dir / "plantos.yaml"), "--data-dir", str(data_dir / "data"),
        "--format", "json",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["failures"] == 2 and r["failure_modes"]["VIB"]["mttr_s"] == pytest.approx(1800)
    table = CliRunner().invoke(app, args[:-2])
    assert table.exit_code == 0 and "VIB" in table.output and "2.25 h" in table.output
    bad = CliRunner().invoke(app, [*args[:4], "--from", iso(END), "--to", iso(T0), *args[8:]])
    assert bad.exit_code != 0 and "before" in bad.output
