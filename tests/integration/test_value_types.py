"""Every value type end to end through a running platform: the gate, the historian, the
live state, the API and ``plantos query`` keep text and integers beyond 2**53 exact, and a
value that does not fit its tag arrives as a Bad sample with its reason counted."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from plantos.app import Platform, Settings
from plantos.core.batch import SampleBatch
from tests.support.server import RunningServer, running_server, wait_until
from tests.support.typed_plant import CNC, ENERGY_START, PROGRAMS, TYPED_PLANT, typed_history

NS = 1_000_000_000
MINUTES = 120


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("typed"), TYPED_PLANT) as running:
        now = time.time_ns() // NS * NS
        batch = typed_history(running.platform, now, MINUTES)
        running.call(running.platform.ingest(batch, source="test"))
        wait_until(lambda: running.platform.writer.acked_rows >= len(batch), "the commit")
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def live(client: httpx.Client) -> dict[str, dict[str, object]]:
    values = client.get("/api/v1/live", params={"prefix": CNC}).json()["values"]
    return {v["path"].rsplit("/", 1)[-1]: v for v in values}


def test_live_values_are_typed_and_exact(client: httpx.Client) -> None:
    now = live(client)
    last = MINUTES - 1
    assert now["program"]["value"] == PROGRAMS[(last // 10) % len(PROGRAMS)]
    assert now["program"]["type"] == "text"
    assert now["energy"]["value"] == ENERGY_START + last  # parsed by Python: every digit
    assert now["energy"]["text"] == str(ENERGY_START + last), "exact for a browser too"
    assert now["parts"]["value"] == 2**53 + last
    assert now["door_open"]["value"] in (0, 1) and isinstance(now["door_open"]["value"], int)
    assert now["mode"]["text"] == "auto"
    assert isinstance(now["spindle_load"]["value"], float)


def test_raw_history_keeps_every_digit_and_every_text(client: httpx.Client) -> None:
    energy = client.get(f"/api/v1/tags/{CNC}/energy/samples", params={"from": "-3h"}).json()
    assert energy["type"] == "uint"
    assert energy["value"] == [ENERGY_START + i for i in range(MINUTES)]
    program = client.get(f"/api/v1/tags/{CNC}/program/samples", params={"from": "-3h"}).json()
    assert program["value"] == [PROGRAMS[(i // 10) % 3] for i in range(MINUTES)]


def test_text_buckets_count_changes_and_refuse_averages(client: httpx.Client) -> None:
    path = f"/api/v1/tags/{CNC}/program/samples"
    answer = client.get(
        path, params={"from": "-3h", "bucket": "1h", "agg": "first,last,count,changes"}
    ).json()
    assert sum(answer["count"]) == MINUTES
    assert sum(answer["changes"]) == MINUTES // 10 - 1
    assert all(isinstance(v, str) for v in answer["first"] + answer["last"])
    refused = client.get(path, params={"from": "-3h", "bucket": "1h", "agg": "avg"})
    assert refused.status_code == 400
    assert "a text tag has no avg" in refused.json()["detail"]


def test_a_value_that_does_not_fit_is_kept_bad_and_counted(
    server: RunningServer, client: httpx.Client
) -> None:
    ids = server.platform.tag_ids
    before = server.platform.writer.acked_rows
    now = time.time_ns()
    batch = SampleBatch.from_values(
        [ids[f"{CNC}/parts"], ids[f"{CNC}/program"], ids[f"{CNC}/spindle_load"]],
        [now] * 3,
        [2.5, "O9999 A PROGRAM NAME FAR TOO LONG", "full"],
    )
    server.call(server.platform.ingest(batch, source="test"))
    wait_until(lambda: server.platform.writer.acked_rows >= before + 3, "the commit")
    rejected = client.get("/api/v1/status").json()["ingest"]["rejected"]
    assert rejected["not_integer"] >= 1
    assert rejected["text_too_long"] >= 1
    assert rejected["type_mismatch"] >= 1
    now_live = live(client)
    assert now_live["parts"]["quality"] == "BadTypeMismatch"
    assert now_live["program"]["quality"] == "BadOutOfRange"
    assert now_live["program"]["value"] == "O9999 A PROGRAM ", "cut to max_length, kept as evidence"


def test_cli_query_prints_exact_values(server: RunningServer) -> None:
    found = subprocess.run(
        [
            sys.executable,
            "-m",
            "plantos.cli.main",
            "query",
            f"{CNC}/energy",
            "--from",
            "-3h",
            "--format",
            "json",
            "--api",
            server.url,
        ],
        env={"PATH": "/usr/bin:/bin", "PLANTOS_TOKEN": server.admin_token},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["value"][-1] == ENERGY_START + MINUTES - 1


def test_a_restarted_platform_knows_its_last_values_and_stores_no_restatement(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A Sparkplug rebirth or an OPC UA subscription after a core restart restates what
    was stored before it: shown at once, and not stored a second time."""
    where = tmp_path_factory.mktemp("restart")
    now = time.time_ns() // NS * NS
    with running_server(where, TYPED_PLANT) as first:
        batch = typed_history(first.platform, now, 3)
        first.call(first.platform.ingest(batch, source="test"))
        wait_until(lambda: first.platform.writer.acked_rows >= len(batch), "the commit")
    second = Platform(Settings(config=where / "plantos.yaml", data_dir=where / "data"))
    try:
        program = second.live.get(second.tag_ids[f"{CNC}/program"])
        assert program is not None and program.exact == PROGRAMS[0]  # the program then
        energy = second.live.get(second.tag_ids[f"{CNC}/energy"])
        assert energy is not None and energy.exact == ENERGY_START + 2
        newest = batch.select(batch.ts == batch.ts.max())  # what a rebirth repeats
        assert len(second.normaliser(newest, source="test")) == 0, "not stored again"
        assert second.normaliser.restated == len(newest) == 6
    finally:
        second.historian.close()
