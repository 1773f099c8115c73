"""The alarm list and OEE over the HTTP API of a real server: operator actions in the
caller's name with the reasons refused when the state does not allow them, and OEE of the
current shift and of a range recomputed from the historian."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from plantos.analytics.alarms import AlarmDefinition, AlarmStateChanged, Priority
from plantos.app import Platform
from plantos.core.batch import SampleBatch
from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server, wait_until

NS = 1_000_000_000
MIXER = "site-1/mixing/line-1/mixer-1"
STATE = f"{MIXER}/state"
ALARM = f"{MIXER}/overheat"
RUNNING, DOWN = 2.0, 3.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("alarms"), MIXER_OEE_PLANT) as running:
        ids = running.platform.tag_ids
        now = time.time_ns() // NS * NS
        # the last hour: running, then down for the last 10 minutes
        ts = np.arange(now - 3600 * NS, now, 60 * NS)
        state = np.where(ts < now - 600 * NS, RUNNING, DOWN)
        running.call(
            running.platform.ingest(
                SampleBatch.of(np.full(len(ts), ids[STATE]), ts, state), source="test"
            )
        )
        wait_until(lambda: running.platform.writer.acked_rows >= len(ts), "the history commit")
        running.call(_raise_alarm(running.platform))
        yield running


async def _raise_alarm(platform: Platform) -> None:
    alarms = platform.analytics.alarms
    alarms.define(AlarmDefinition(ALARM, MIXER, Priority.HIGH, "mixer temperature high"))
    for event in alarms.condition(ALARM, True, platform.clock.now_ns()):
        await platform.emit(event)


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=30
    ) as c:
        yield c


def test_the_alarm_list_shows_the_new_alarm_first(client: httpx.Client) -> None:
    body = client.get("/api/v1/alarms", params={"annunciated": "true"}).json()
    [entry] = body["alarms"]
    assert entry["alarm_id"] == ALARM and entry["state"] == "active_unacknowledged"
    assert entry["priority"] == "high" and entry["activated"]


def test_operator_actions_are_done_in_the_callers_name(
    server: RunningServer, client: httpx.Client
) -> None:
    acked = client.post(f"/api/v1/alarms/{ALARM}/acknowledge")
    assert acked.status_code == 200 and acked.json()["state"] == "active_acknowledged"
    again = client.post(f"/api/v1/alarms/{ALARM}/acknowledge")
    assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]

    no_reason = client.post(f"/api/v1/alarms/{ALARM}/shelve", json={"until": "2h", "reason": ""})
    assert no_reason.status_code == 422
    bad_time = client.post(
        f"/api/v1/alarms/{ALARM}/shelve", json={"until": "next week", "reason": "sensor"}
    )
    assert bad_time.status_code == 400
    shelved = client.post(
        f"/api/v1/alarms/{ALARM}/shelve", json={"until": "2h", "reason": "sensor replaced"}
    )
    assert shelved.status_code == 200 and shelved.json()["state"] == "shelved"
    assert shelved.json()["shelved_until"]
    back = client.post(f"/api/v1/alarms/{ALARM}/unshelve")
    assert back.json()["state"] == "active_unacknowledged"  # the condition is still active

    changes = [e for e in server.platform.judgements if isinstance(e, AlarmStateChanged)]
    assert changes == []  # state changes are on the bus, not among the kept judgements
    assert server.platform.events_seen["AlarmStateChanged"] >= 4
    assert client.post("/api/v1/alarms/nope/acknowledge").status_code == 404


def test_oee_of_the_current_shift_and_of_a_range_from_the_historian(client: httpx.Client) -> None:
    live = client.get("/api/v1/oee", params={"path": "site-1/mixing/line-1"}).json()
    assert live["current_shift"] is True and live["level"] == "line"
    assert [c["path"] for c in live["children"]] == [MIXER, "site-1/mixing/line-1/mixer-2"]
    recomputed = client.get(
        "/api/v1/oee", params={"path": MIXER, "from": "-1h", "to": "now"}
    ).json()
    totals = recomputed["totals"]
    assert totals["run_s"] == pytest.approx(3000, abs=120)
    assert totals["availability"] == pytest.approx(3000 / 3600, abs=0.05)
    losses = dict(recomputed["losses_s"])
    assert losses["breakdowns"] == pytest.approx(600, abs=120)  # down for the last 10 minutes
    assert losses["reduced_speed"] == pytest.approx(totals["run_s"], abs=1)  # no batch counted
    assert client.get("/api/v1/oee", params={"path": "nowhere"}).status_code == 404
    backwards = client.get("/api/v1/oee", params={"from": "now", "to": "-1h"})
    assert backwards.status_code == 400


def test_a_stop_gets_its_reason_and_the_pareto_shows_it(client: httpx.Client) -> None:
    answer = client.get("/api/v1/oee/stops", params={"asset": MIXER, "from": "-1h"}).json()
    [down] = [s for s in answer["stops"] if s["state"] == "down"]
    assert down["reason"] == "unassigned" and down["planned_s"] == pytest.approx(600, abs=120)
    body = {"asset": MIXER, "start": str(down["start_ns"]), "reason": "seal leak"}
    assert client.post("/api/v1/oee/reasons", json=body).status_code == 200
    again = client.get("/api/v1/oee/stops", params={"asset": MIXER, "from": "-1h"}).json()
    assert [s["reason"] for s in again["stops"] if s["state"] == "down"] == ["seal leak"]
    live = client.get("/api/v1/oee", params={"path": MIXER}).json()
    assert "seal leak" in dict(live["reasons_s"])
    empty = {"asset": MIXER, "start": down["start"], "reason": ""}
    assert client.post("/api/v1/oee/reasons", json=empty).status_code == 422
    assert client.get("/api/v1/oee/stops", params={"asset": "nope"}).status_code == 404
