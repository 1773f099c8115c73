"""The HTTP API against a real server: authentication on every route, the answers, and a
clear 4xx for every kind of bad request."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from tests.support.server import RunningServer, running_server, wait_until

NS = 1_000_000_000
TEMP = "site-1/mixing/line-1/mixer-1/temperature"
STATE = "site-1/mixing/line-1/mixer-1/state"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("api")) as running:
        ids = running.platform.tag_ids
        now = time.time_ns() // NS * NS
        n = 7200  # the last two hours at 1 s
        ts = now - n * NS + np.arange(n) * NS
        temp = 60 + 10 * np.sin(np.arange(n) / 300)
        batch = SampleBatch.of(
            np.r_[np.full(n, ids[TEMP]), ids[STATE]],
            np.r_[ts, now - NS],
            np.r_[temp, 2.0],
        )
        running.call(running.platform.ingest(batch, source="test"))
        wait_until(lambda: running.platform.writer.acked_rows >= n + 1, "the history commit")
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=30
    ) as c:
        yield c


def api_routes(server: RunningServer) -> list[tuple[str, str]]:
    """Every (method, path) of the API, with a real tag in place of ``{path}``."""
    spec = httpx.get(
        f"{server.url}/api/openapi.json",
        headers={"Authorization": f"Bearer {server.admin_token}"},
    ).json()
    return [
        (method.upper(), p.replace("{path}", TEMP))
        for p, methods in spec["paths"].items()
        for method in methods
    ]


def test_every_api_route_refuses_a_caller_without_a_token(server: RunningServer) -> None:
    routes = api_routes(server)
    assert len(routes) >= 5
    for method, route in [*routes, ("GET", "/api/openapi.json")]:
        response = httpx.request(method, server.url + route, timeout=10)
        assert response.status_code == 401, route
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer pos_unknown", "Bearer", "Basic YWRtaW46YWRtaW4=", "pos_x"]
)
def test_wrong_credentials_are_refused(server: RunningServer, header: str) -> None:
    response = httpx.get(f"{server.url}/api/v1/plant", headers={"Authorization": header})
    assert response.status_code == 401


def test_an_expired_token_is_refused_with_the_reason(server: RunningServer) -> None:
    token = server.platform.tokens.issue_api_token("short", "viewer", ttl_ns=1)
    time.sleep(0.01)
    response = httpx.get(f"{server.url}/api/v1/plant", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["detail"] == "token expired"


def test_plant_hierarchy(client: httpx.Client) -> None:
    body = client.get("/api/v1/plant").json()
    site = body["enterprise"]["children"][0]
    assert (body["enterprise"]["name"], site["id"], site["name"]) == (
        "Test Company",
        "site-1",
        "Site One",
    )
    line = site["children"][0]["children"][0]
    assert [a["path"] for a in line["children"]] == [
        "site-1/mixing/line-1/mixer-1",
        "site-1/mixing/line-1/mixer-2",
    ]
    assert body["tag_count"] == 6
    assert body["assets"]["site-1/mixing/line-1/mixer-1"]["tags"] == [
        "temperature",
        "state",
        "batches",
    ]


def test_tags_by_prefix_with_live_values(client: httpx.Client) -> None:
    body = client.get("/api/v1/tags", params={"path": "site-1/mixing/line-1/mixer-1"}).json()
    assert body["count"] == 3
    state = next(t for t in body["tags"] if t["path"] == STATE)
    assert state["live"]["text"] == "running" and state["live"]["quality"] == "Good"
    assert client.get("/api/v1/tags", params={"path": "site-1/mix"}).json()["count"] == 0


def test_bucketed_history_matches_the_raw_samples(client: httpx.Client) -> None:
    raw = client.get(
        f"/api/v1/tags/{TEMP}/samples", params={"from": "-3h", "limit": 100_000}
    ).json()
    assert raw["source"] == "raw" and len(raw["value"]) == 7200 and not raw["truncated"]
    start = raw["t_ms"][0] // 60_000 * 60_000 + 60_000
    end = start + 60 * 60_000
    params = {
        "from": str(start * 1_000_000),
        "to": str(end * 1_000_000),
        "bucket": "1m",
        "agg": "avg,count,max",
    }
    body = client.get(f"/api/v1/tags/{TEMP}/samples", params=params).json()
    assert body["bucket"] == "1m" and body["unit"] == "degC"
    assert body["count"] == [60] * 60
    t = np.array(raw["t_ms"])
    v = np.array(raw["value"])
    first = v[(t >= start) & (t < start + 60_000)]
    assert body["avg"][0] == pytest.approx(first.mean())
    assert body["max"][0] == pytest.approx(first.max())


def test_live_snapshot(client: httpx.Client) -> None:
    body = client.get("/api/v1/live", params={"prefix": "site-1/mixing/line-1/mixer-2"}).json()
    assert [v["value"] for v in body["values"]] == [None, None, None]  # nothing has arrived yet
    body = client.get("/api/v1/live", params={"prefix": TEMP}).json()
    assert body["values"][0]["value"] is not None


def test_live_stream_sends_current_values_then_changes(
    server: RunningServer, client: httpx.Client
) -> None:
    tag = "site-1/mixing/line-1/mixer-2/temperature"
    with client.stream(
        "GET", "/api/v1/live/stream", params={"prefix": tag, "interval_ms": 100}
    ) as stream:
        lines = stream.iter_lines()
        first = _next_event(lines)
        assert first["values"][0]["value"] is None
        batch = SampleBatch.of([server.platform.tag_ids[tag]], [time.time_ns()], [42.5])
        server.call(server.platform.ingest(batch, source="test"))
        changed = _next_event(lines)
        assert changed["values"] == [changed["values"][0]] and changed["values"][0]["value"] == 42.5


def _next_event(lines: Iterator[str]) -> dict:
    event = None
    for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "live":
            return json.loads(line.split(":", 1)[1])
    raise AssertionError("stream ended")


@pytest.mark.parametrize(
    ("path", "params", "status", "reason"),
    [
        (TEMP, {"from": "now", "to": "-1h"}, 400, "must be before"),
        (TEMP, {"bucket": "0s", "agg": "avg"}, 400, "longer than zero"),
        (TEMP, {"bucket": "fortnight"}, 400, "not a duration"),
        (TEMP, {"bucket": "1m", "agg": "avg,median"}, 400, "unknown aggregate 'median'; use avg"),
        (TEMP, {"agg": "avg"}, 400, "needs a 'bucket'"),
        (TEMP, {"from": "x" * 10_000}, 400, "not a time"),
        (TEMP, {"from": "-3650d", "bucket": "1ms"}, 400, "more than 1,000,000 buckets"),
        (TEMP, {"limit": "0"}, 422, "greater than or equal to 1"),
        (TEMP, {"limit": "ten"}, 422, "valid integer"),
        ("site-1/mixing/line-1/mixer-9/temperature", {}, 404, "no tag"),
        ("site-1/mixing/line%201/mixer-1/temperature", {}, 404, "no tag 'site-1/mixing/line 1/"),
        ("site-1/mixing/line-1/mixer-1/temperature/x/y", {}, 404, "no tag"),
    ],
)
def test_bad_history_requests_get_a_4xx_with_the_reason(
    client: httpx.Client, path: str, params: dict[str, str], status: int, reason: str
) -> None:
    response = client.get(f"/api/v1/tags/{path}/samples", params=params)
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]


def test_rejected_samples_show_in_status_and_do_not_stop_the_pipeline(
    server: RunningServer, client: httpx.Client
) -> None:
    before = server.platform.writer.acked_rows
    good_id = server.platform.tag_ids["site-1/mixing/line-1/mixer-2/batches"]
    batch = SampleBatch.of(
        [9999, good_id, good_id], [time.time_ns()] * 3, [1.0, np.nan, 3.0], [quality.GOOD] * 3
    )
    server.call(server.platform.ingest(batch, source="test"))
    wait_until(lambda: server.platform.writer.acked_rows >= before + 2, "the commit")
    status = client.get("/api/v1/status").json()
    assert status["ingest"]["rejected"]["unknown_tag"] >= 1
    assert status["ingest"]["rejected"]["nonfinite_marked_bad"] >= 1
    assert status["historian_writer"]["acked_rows"] >= before + 2
    assert status["bus"]["subscribers"]["samples/historian"]["dropped_messages"] == 0


def test_cli_query_asks_a_running_server(server: RunningServer) -> None:
    """While a server holds the historian, ``plantos query --api`` asks it instead."""
    args = [sys.executable, "-m", "plantos.cli.main", "query", TEMP, "--from", "-30m"]
    common = {"capture_output": True, "text": True, "timeout": 120}
    env = {"PATH": "/usr/bin:/bin", "PLANTOS_TOKEN": server.admin_token}
    found = subprocess.run(
        [*args, "--bucket", "10m", "--agg", "count", "--format", "json", "--api", server.url],
        env=env,
        **common,
    )
    assert found.returncode == 0, found.stderr
    assert sum(json.loads(found.stdout)["count"]) >= 1700
    wrong = subprocess.run(
        [*args, "--api", server.url], env={**env, "PLANTOS_TOKEN": "pos_wrong"}, **common
    )
    assert wrong.returncode == 1 and "server answered 401: unknown token" in wrong.stderr
    busy = subprocess.run(
        [
            *args,
            "--data-dir",
            str(server.platform.settings.data_dir),
            "--config",
            str(server.platform.settings.config),
        ],
        env=env,
        **common,
    )
    assert busy.returncode == 1 and "in use by another PlantOS process" in busy.stderr


def test_prometheus_metrics_need_a_token_and_show_the_pipeline(
    server: RunningServer, client: httpx.Client
) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'plantos_bus_queue_depth{subscriber="samples/historian"}' in text
    assert "plantos_ingest_accepted_samples_total" in text
    assert "plantos_historian_acked_rows_total" in text
    accepted = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("plantos_ingest_accepted_samples_total")
    )
    assert accepted >= 7201
