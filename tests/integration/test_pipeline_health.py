"""The supervised pipeline seen from outside, on a real server: health with credentials,
readiness without, a consumer's failure and recovery, dead letters listed and replayed,
and a server that stops with exit code 1 when a consumer keeps failing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import typer

from plantos.app import Platform, Settings
from plantos.bus.pipeline import PipelineFailedError
from plantos.bus.protocol import SAMPLES, Message
from plantos.bus.supervision import RestartPolicy
from plantos.cli.serve import run_server
from plantos.core.batch import SampleBatch
from plantos.core.timeparse import iso
from tests.support.server import SMALL_PLANT, RunningServer, free_port, running_server, wait_until

NS = 1_000_000_000
TEMP = "site-1/mixing/line-1/mixer-1/temperature"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("health")) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def temperatures(server: RunningServer, t0_s: int, n: int) -> SampleBatch:
    tag = server.platform.tag_ids[TEMP]
    return SampleBatch.of(np.full(n, tag), (t0_s + np.arange(n)) * NS, np.full(n, 50.0))


def test_healthz_answers_without_credentials_and_says_nothing_more(server: RunningServer) -> None:
    wait_until(lambda: server.platform.ready, "every stage running")
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    assert response.text == "ready\n"


def test_health_needs_credentials(server: RunningServer) -> None:
    assert httpx.get(f"{server.url}/api/v1/health").status_code == 401


def test_health_reports_every_stage_with_state_lag_and_restarts(client: httpx.Client) -> None:
    body = client.get("/api/v1/health").json()
    assert body["ready"] is True
    assert body["failure"] is None
    stages = {s["stage"]: s for s in body["stages"]}
    sample_stages = {"historian", "live", "analytics", "mom-counts"}
    assert set(stages) == sample_stages | {
        "mom-floor",
        "mom-planner",
        "maintenance-loop",
        "notify",
        "preventive",
        "quality-loop",
        "quality-lots",
    }
    assert all(stage["state"] == "running" for stage in stages.values())
    for name in sample_stages:
        assert stages[name]["topic"] == SAMPLES
        assert set(stages[name]["lag"]) == {"depth", "capacity", "oldest_age_s", "dropped_samples"}
    assert body["dead_letters"] == {"letters": 0, "samples": 0}
    writer = stages["historian"]["detail"]
    assert writer["refusing"] is False
    assert writer["last_refusal"] is None


def test_a_failing_consumer_is_restarted_shown_and_the_historian_keeps_every_sample(
    server: RunningServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = server.platform
    real_judge = platform.analytics.judge
    calls = {"n": 0}

    def judge_failing_once(batch: SampleBatch) -> list:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 1:
            raise ZeroDivisionError("a judgement divided by zero")
        return real_judge(batch)

    monkeypatch.setattr(platform.analytics, "judge", judge_failing_once)
    before = platform.writer.acked_rows
    t0 = int(time.time()) - 3600
    for i in range(3):
        server.call(platform.ingest(temperatures(server, t0 + 10 * i, 10), source="test"))
    wait_until(lambda: platform.writer.acked_rows >= before + 30, "every sample committed")
    wait_until(lambda: platform.pipeline.stages["analytics"].restarts == 1, "the restart")
    wait_until(lambda: platform.ready, "the analytics stage running again")
    stages = {s["stage"]: s for s in client.get("/api/v1/health").json()["stages"]}
    analytics = stages["analytics"]
    assert analytics["state"] == "running"
    assert analytics["failures"] == 1
    assert "ZeroDivisionError: a judgement divided by zero" in analytics["last_error"]
    assert "while handling a batch of 10 samples" in analytics["last_error"]
    assert analytics["last_error_at"] is not None
    assert stages["historian"]["restarts"] == 0
    assert calls["n"] == 3  # the batch it failed on is skipped, the next ones judged
    metrics = client.get("/metrics").text
    assert 'plantos_stage_restarts_total{stage="analytics"} 1.0' in metrics
    assert 'plantos_stage_running{stage="historian"} 1.0' in metrics
    assert "plantos_ready 1.0" in metrics
    assert "plantos_historian_refusing 0.0" in metrics
    assert 'plantos_stage_lag_seconds{stage="live"}' in metrics


def test_dead_letters_are_listed_and_replayed_into_the_historian(
    server: RunningServer, client: httpx.Client
) -> None:
    platform = server.platform
    t0 = int(time.time()) - 7200
    platform.dead_letters.add(
        temperatures(server, t0, 5), reason="OSError: disk full", stage="historian", at_ns=1
    )
    [letter] = client.get("/api/v1/deadletters").json()["dead_letters"]
    assert letter["reason"] == "OSError: disk full"
    assert letter["samples"] == 5
    assert client.get("/api/v1/health").json()["dead_letters"] == {"letters": 1, "samples": 5}
    assert httpx.post(f"{server.url}/api/v1/deadletters/replay").status_code == 401
    done = client.post("/api/v1/deadletters/replay").json()
    assert done == {"replayed": 1, "samples": 5, "refused": 0}
    assert client.get("/api/v1/deadletters").json()["dead_letters"] == []
    samples = client.get(
        f"/api/v1/tags/{TEMP}/samples",
        params={"from": iso(t0 * NS), "to": iso((t0 + 5) * NS)},
    )
    assert samples.status_code == 200, samples.text
    assert samples.json()["t_ms"] == [(t0 + i) * 1000 for i in range(5)]


def test_serve_exits_non_zero_when_a_consumer_keeps_failing(tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(SMALL_PLANT)
    platform = Platform(Settings(config=config, data_dir=tmp_path / "data"))

    async def broken(message: Message) -> None:
        raise RuntimeError("this consumer cannot work")

    fast = RestartPolicy(backoff_initial_s=0.01, backoff_max_s=0.02, max_failures=2)
    platform.add_consumer("broken", SAMPLES, broken, policy=fast)
    tag = platform.tag_ids[TEMP]

    async def feed() -> None:
        for i in range(5):
            batch = SampleBatch.of([tag], [time.time_ns()], [float(i)])
            await platform.ingest(batch, source="test")
        await asyncio.Event().wait()  # a source runs until stopped

    platform.add_source(feed())
    outcome: list[BaseException | None] = []

    def serve() -> None:
        try:
            run_server(platform, "127.0.0.1", free_port())
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the server did not stop after the consumer gave up"
    [exc] = outcome
    assert isinstance(exc, typer.Exit)
    assert exc.exit_code == 1
    assert platform.pipeline.failure is not None
    assert "broken failed 2 times in a row" in platform.pipeline.failure


def test_platform_stop_never_hangs_on_a_dead_or_a_stuck_consumer(tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(SMALL_PLANT)
    settings = Settings(config=config, data_dir=tmp_path / "data", bus_capacity=2)
    settings.stop_timeout_s = 0.5
    platform = Platform(settings)

    async def dies(message: Message) -> None:
        raise RuntimeError("dead")

    async def hangs(message: Message) -> None:
        await asyncio.Event().wait()

    once = RestartPolicy(backoff_initial_s=0.01, backoff_max_s=0.01, max_failures=1)
    platform.add_consumer("dead", SAMPLES, dies, policy=once)
    stuck = platform.add_consumer("stuck", SAMPLES, hangs)
    tag = platform.tag_ids[TEMP]
    published: list[int] = []
    t0 = int(time.time()) - 600

    async def feed() -> None:
        for i in range(50):  # the stuck consumer's queue fills: this source ends up waiting
            await platform.ingest(SampleBatch.of([tag], [(t0 + i) * NS], [1.0]), source="t")
            published.append(i)

    platform.add_source(feed())

    async def main() -> None:
        await platform.start()
        await asyncio.wait_for(platform.pipeline.failed.wait(), 30)
        while len(published) < 3:  # the stuck queue (2) plus the one in its handler
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert len(published) < 50, "the source is held up by the full queue"
        await asyncio.wait_for(platform.stop(), 30)

    asyncio.run(main())
    assert stuck.task is not None and stuck.task.cancelled()
    assert platform.pipeline.stages["historian"].state.value == "stopped"
    # Every sample delivered to the historian stage is committed or kept as a dead letter
    # (the source's last publish may have reached it before waiting on the stuck queue).
    writer = platform.writer
    delivered = platform.bus.metrics()["subscribers"]["samples/historian"]["delivered"]
    assert delivered >= len(published)
    assert writer.acked_rows + writer.dead_lettered_rows == delivered


def test_health_shows_the_historian_refusing_commits_and_its_recovery(
    server: RunningServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = server.platform
    real_write = platform.historian.write
    refusing = threading.Event()
    refusing.set()

    def write(batch: SampleBatch) -> None:
        if refusing.is_set():
            raise OSError("the disk went read-only")
        real_write(batch)

    monkeypatch.setattr(platform.historian, "write", write)
    before = platform.writer.acked_rows
    t0 = int(time.time()) - 1800
    server.call(platform.ingest(temperatures(server, t0, 7), source="test"))

    def historian_detail() -> dict:  # type: ignore[type-arg]
        stages = {s["stage"]: s for s in client.get("/api/v1/health").json()["stages"]}
        return stages["historian"]["detail"]  # type: ignore[no-any-return]

    wait_until(lambda: historian_detail()["refusing"], "the refusal to show")
    detail = historian_detail()
    assert detail["last_refusal"] == "OSError: the disk went read-only"
    assert detail["in_hand_rows"] == 7
    assert "plantos_historian_refusing 1.0" in client.get("/metrics").text
    refusing.clear()
    wait_until(lambda: not historian_detail()["refusing"], "the recovery to show")
    assert platform.writer.acked_rows == before + 7
    assert historian_detail()["in_hand_rows"] == 0
    assert client.get("/api/v1/health").json()["dead_letters"]["letters"] == 0


def test_a_headless_drain_ends_with_an_error_when_a_consumer_gives_up(tmp_path: Path) -> None:
    config = tmp_path / "plantos.yaml"
    config.write_text(SMALL_PLANT)
    platform = Platform(Settings(config=config, data_dir=tmp_path / "data", bus_capacity=2))

    async def broken(message: Message) -> None:
        raise RuntimeError("cannot judge")

    once = RestartPolicy(backoff_initial_s=0.01, backoff_max_s=0.01, max_failures=1)
    platform.add_consumer("broken", SAMPLES, broken, policy=once)
    tag = platform.tag_ids[TEMP]
    t0 = int(time.time()) - 600

    async def feed() -> None:
        for i in range(100):  # more than the queues hold: the source would wait forever
            await platform.ingest(SampleBatch.of([tag], [(t0 + i) * NS], [1.0]), source="t")

    platform.add_source(feed())

    async def main() -> None:
        await platform.start()
        await asyncio.wait_for(platform.drain(), 60)

    with pytest.raises(PipelineFailedError, match="broken failed 1 times in a row"):
        asyncio.run(main())
