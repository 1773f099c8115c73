"""Work orders and station notifications over HTTP on a running platform: an anomaly
emitted on the bus becomes a work order the API lists, the line's station receives it
over server-sent events and a person acknowledges it once; hand-made work orders move
through their lifecycle; refusals answer with the reason and are audited."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from plantos.analytics.anomaly.events import AnomalyRaised, Evidence
from tests.support.server import RunningServer, running_server, wait_until

pytestmark = pytest.mark.timeout(120)

NS = 1_000_000_000
LINE = "site-1/machining/line-1"
CNC = f"{LINE}/cnc-1"
PLANT = """\
plantos: 1
enterprise: {id: testco, name: Test Company}
asset_types:
  cnc-mill:
    tags:
      - {signal: spindle_vibration, unit: mm/s, range: [0, 40]}
sites:
  - id: site-1
    areas:
      - id: machining
        lines:
          - id: line-1
            assets:
              - {id: cnc-1, type: cnc-mill, criticality: high}
  - id: site-2
    areas:
      - id: machining
        lines:
          - id: line-1
            assets:
              - {id: cnc-1, type: cnc-mill}
notifications:
  rules:
    - {kinds: [WorkOrderOpened, WorkOrderUpdated], to: [station]}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("workorders"), PLANT) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    ) as c:
        yield c


def detail(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    text: str = response.json()["detail"]
    return text


def test_an_anomaly_reaches_the_station_and_is_acknowledged_once(
    server: RunningServer, client: httpx.Client
) -> None:
    anomaly = AnomalyRaised(
        ts_ns=time.time_ns(), subject=CNC, score=40.0, severity="warning", severity_rank=1,
        detector="hotelling", time_to_threshold_s=36_000.0, time_to_threshold_low_s=18_000.0,
        evidence=(Evidence("band_2500_3500hz", 1.1, 0.07, 20.0),),
    )  # fmt: skip
    server.call(server.platform.emit(anomaly))
    wait_until(
        lambda: bool(client.get("/workorders", params={"asset": CNC}).json()["work_orders"]),
        "the loop's work order",
    )
    (order,) = client.get("/workorders", params={"asset": CNC, "state": "scheduled"}).json()[
        "work_orders"
    ]
    assert order["kind"] == "predictive" and order["evidence"][0]["detector"] == "hotelling"
    with client.stream("GET", f"/stations/{LINE}/stream") as stream:
        data = next(line for line in stream.iter_lines() if line.startswith("data:"))
    (shown,) = json.loads(data.removeprefix("data:"))
    assert shown["reference"] == order["id"] and shown["state"] == "open"
    ack = client.post(f"/stations/{LINE}/notifications/{shown['id']}/acknowledge")
    assert ack.status_code == 200 and ack.json()["acknowledged_by"]
    again = client.post(f"/stations/{LINE}/notifications/{shown['id']}/acknowledge")
    assert "acknowledged already" in detail(again, 409)
    assert client.get(f"/stations/{LINE}/notifications").json()["notifications"] == []


def test_a_hand_made_work_order_moves_through_its_lifecycle(client: httpx.Client) -> None:
    made = client.post(
        f"/assets/{CNC}/workorders",
        json={"kind": "corrective", "title": "coolant leak", "failure_mode": "ELP"},
    )
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    moves = f"/assets/{CNC}/workorders/{order_id}/transition"
    assert "it can go to approved, cancelled, not done" in detail(
        client.post(moves, json={"to": "done"}), 409
    )
    assert client.post(moves, json={"to": "approved"}).json()["state"] == "approved"
    labour = f"/assets/{CNC}/workorders/{order_id}/labour"
    assert "only a started job" in detail(
        client.post(labour, json={"person": "carl", "hours": 1}), 409
    )
    other = "site-2/machining/line-1/cnc-1"
    elsewhere = client.post(f"/assets/{other}/workorders/{order_id}/transition", json={"to": "x"})
    assert detail(elsewhere, 404).startswith("no work order")


def test_bad_input_is_refused_with_the_reason_and_audited(
    server: RunningServer, client: httpx.Client
) -> None:
    bad = client.post(
        f"/assets/{CNC}/workorders",
        json={"kind": "corrective", "title": "x", "failure_mode": "NOPE"},
    )
    assert "failure mode 'NOPE' is not in the catalogue" in detail(bad, 422)
    assert (
        client.post(f"/assets/{CNC}/workorders", json={"kind": "magic", "title": "x"}).status_code
        == 422
    )
    refused = server.platform.audit.records(action="workorder.request", outcome="failed")
    assert refused and "NOPE" in json.dumps(refused[-1].detail)


def test_roles_and_scopes_are_enforced(server: RunningServer) -> None:
    viewer = server.platform.tokens.issue_api_token("v", "viewer")
    site_2 = server.platform.tokens.issue_api_token("m", "maintenance", scope="site-2")
    body = {"kind": "corrective", "title": "x"}
    url = f"{server.url}/api/v1/assets/{CNC}/workorders"
    assert httpx.post(url, json=body).status_code == 401
    assert (
        httpx.post(url, json=body, headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    )
    assert (
        httpx.post(url, json=body, headers={"Authorization": f"Bearer {site_2}"}).status_code == 403
    )
    auth = {"Authorization": f"Bearer {site_2}"}
    listing = f"{server.url}/api/v1/workorders"
    assert httpx.get(listing, headers=auth).status_code == 403  # the whole enterprise
    assert httpx.get(listing, params={"asset": LINE}, headers=auth).status_code == 403
    mine = httpx.get(listing, params={"asset": "site-2"}, headers=auth)
    assert mine.status_code == 200 and mine.json()["work_orders"] == []


def test_a_job_gets_a_window_labour_and_parts_and_is_closed_with_its_remedy(
    client: httpx.Client,
) -> None:
    order_id = client.post(
        f"/assets/{CNC}/workorders", json={"kind": "corrective", "title": "spindle noise"}
    ).json()["id"]
    base = f"/assets/{CNC}/workorders/{order_id}"
    assert "only a started job" in detail(
        client.post(f"{base}/parts", json={"part": "6205-2RS", "quantity": 2}), 409
    )
    assert "end after it starts" in detail(
        client.post(
            f"{base}/window", json={"start": "2026-03-02T10:00", "end": "2026-03-02T09:00"}
        ),
        422,
    )
    window = client.post(
        f"{base}/window", json={"start": "2026-03-02T08:00", "end": "2026-03-02T10:00"}
    )
    assert window.json()["window"]["start"].startswith("2026-03-02T08:00")
    for to in ("approved", "scheduled", "in_progress"):
        assert client.post(f"{base}/transition", json={"to": to}).json()["state"] == to
    assert client.post(f"{base}/parts", json={"part": "6205-2RS", "quantity": 0}).status_code == 422
    assert client.post(f"{base}/labour", json={"person": "carl", "hours": 30}).status_code == 422
    client.post(f"{base}/labour", json={"person": "carl", "hours": 1.5})
    client.post(f"{base}/parts", json={"part": "6205-2RS", "quantity": 2})
    done = client.post(
        f"{base}/transition",
        json={"to": "done", "remedy": "bearing replaced", "mechanism": "2.4", "cause": "3.4"},
    ).json()
    assert (done["state"], done["remedy"], done["mechanism"]) == ("done", "bearing replaced", "2.4")
    assert done["labour"][0]["hours"] == 1.5 and done["parts"][0]["part"] == "6205-2RS"
    assert [t["to"] for t in done["transitions"]] == [
        "requested", "approved", "scheduled", "in_progress", "done",
    ]  # fmt: skip
