"""Nonconformances over HTTP and from the CLI, on a running server: an SPC violation on
the bus opens one held nonconformance; it is listed and filtered within the caller's
scope; a disposition needs ``quality:write`` on its asset; a refused one (closed already,
unknown, more scrap than parts, another site) answers with the reason, is audited and
changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from plantos.analytics.spc.events import SpcViolation
from plantos.cli.main import app
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.masterdata import MasterData
from tests.support.server import RunningServer, running_server, wait_until

pytestmark = pytest.mark.timeout(120)

NS = 1_000_000_000
MIXER = "site-1/mixing/line-1/mixer-1"
TEMPERATURE = f"{MIXER}/temperature"
PLANT = """\
plantos: 1
enterprise: {id: testco}
asset_types:
  mixer:
    tags: [{signal: temperature, unit: degC, range: [0, 120]}]
sites:
  - id: site-1
    areas: [{id: mixing, lines: [{id: line-1, assets: [{id: mixer-1, type: mixer}]}]}]
  - id: site-2
    areas: [{id: mixing, lines: [{id: line-1, assets: [{id: mixer-1, type: mixer}]}]}]
quality:
  hold_on: [spc_violation]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("quality"), PLANT) as running:
        mom = running.platform.mom.service
        routing = Routing("dough", "dough", (RoutingStep("mix", (AssetOption(MIXER, 0, 60.0),)),))
        mom.seed_master_data(
            MasterData({"dough": Product("dough", "Dough", "dough")}, {"dough": routing})
        )
        now = time.time_ns()
        mom.create_orders([NewOrder("PO-7", "dough", 50, now + 3600 * NS)])
        mom.transition("PO-7", "running", asset=MIXER)
        yield running


def client(server: RunningServer, role: str, scope: str = "") -> httpx.Client:
    token = server.platform.tokens.issue_api_token(f"q-{role}-{scope}", role, scope=scope)
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30)


def violation(server: RunningServer) -> None:
    event = SpcViolation(
        ts_ns=time.time_ns(), subject=TEMPERATURE, rule=1, rule_set="nelson",
        chart="imr", statistic="x", point_ts_ns=(1,), point_values=(99.0,),
        center=60.0, lcl=50.0, ucl=70.0,
    )  # fmt: skip
    server.call(server.platform.emit(event))


@pytest.fixture(scope="module")
def nc_id(server: RunningServer) -> str:
    for _ in range(5):
        violation(server)
    service = server.platform.quality.service
    wait_until(lambda: sum(n.occurrences for n in service.list()) == 5, "the quality loop")
    (nc,) = service.list()
    return nc.id


def test_a_violation_is_listed_held_and_filtered_within_the_scope(
    server: RunningServer, nc_id: str
) -> None:
    with client(server, "viewer") as c:
        (nc,) = c.get("/quality/nonconformances", params={"state": "open"}).json()[
            "nonconformances"
        ]
        assert (nc["id"], nc["characteristic"], nc["order"], nc["held"], nc["occurrences"]) == (
            nc_id, TEMPERATURE, "PO-7", True, 5,
        )  # fmt: skip
        assert c.get(f"/quality/nonconformances/{nc_id}").json()["evidence"][0]["rule"] == 1
        assert (
            c.get("/quality/nonconformances", params={"order": "PO-9"}).json()["nonconformances"]
            == []
        )
        assert c.get("/quality/nonconformances", params={"state": "lost"}).status_code == 422
    assert server.platform.mom.service.order("PO-7").state == "paused"
    with client(server, "viewer", "site-2") as other:
        mine = other.get("/quality/nonconformances", params={"asset": "site-2"})
        assert mine.json()["nonconformances"] == []
        assert other.get("/quality/nonconformances").status_code == 403
        assert other.get(f"/quality/nonconformances/{nc_id}").status_code == 404
    result = CliRunner().invoke(
        app,
        ["quality", "ncs", "--format", "json", "--config", str(server.platform.settings.config),
         "--data-dir", str(server.platform.settings.data_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [n["id"] for n in json.loads(result.output)["nonconformances"]] == [nc_id]
    settings = server.platform.settings
    wrong = CliRunner().invoke(
        app,
        ["quality", "ncs", "--state", "lost", "--config", str(settings.config),
         "--data-dir", str(settings.data_dir)],
    )  # fmt: skip
    assert wrong.exit_code != 0 and "--state must be one of open, closed" in wrong.output


@pytest.mark.parametrize(
    ("role", "scope", "body", "status", "reason"),
    [
        ("viewer", "", {"disposition": "rework"}, 403, "does not allow 'quality:write'"),
        ("quality", "site-2", {"disposition": "rework"}, 403, "not for site-1"),
        ("quality", "", {"disposition": "bin"}, 422, "use_as_is"),
        ("quality", "", {"disposition": "scrap"}, 422, "give the quantity"),
        ("quality", "", {"disposition": "scrap", "quantity": 3}, 409, "only 0 of them"),
        ("quality", "", {"disposition": "rework", "quantity": 3}, 422, "only with a scrap"),
    ],
)
def test_wrong_dispositions_are_refused_with_the_reason_and_audited(
    server: RunningServer, nc_id: str, role: str, scope: str, body: dict[str, object],
    status: int, reason: str,
) -> None:  # fmt: skip
    with client(server, role, scope) as c:
        response = c.post(f"/quality/nonconformances/{nc_id}/disposition", json=body)
    assert response.status_code == status, response.text
    assert reason in response.text.replace("&#39;", "'")
    assert server.platform.quality.service.get(nc_id).state == "open"
    assert server.platform.mom.service.order("PO-7").state == "paused"
    if body["disposition"] != "bin":  # refused by the schema, before any act
        action = "access.denied" if role == "viewer" else "nonconformance."
        (last,) = server.platform.audit.records(action=action, newest_first=True, limit=1)
        assert last.outcome in ("denied", "failed") and reason in last.detail["reason"]


def test_quality_dispositions_once_and_the_order_runs_again(
    server: RunningServer, nc_id: str
) -> None:
    with client(server, "quality") as c:
        done = c.post(
            f"/quality/nonconformances/{nc_id}/disposition",
            json={"disposition": "use_as_is", "note": "within drawing"},
        )
        assert done.status_code == 200, done.text
        assert (done.json()["state"], done.json()["disposition"], done.json()["held"]) == (
            "closed", "use_as_is", False,
        )  # fmt: skip
        again = c.post(
            f"/quality/nonconformances/{nc_id}/disposition", json={"disposition": "rework"}
        )
    assert again.status_code == 409 and "closed already" in again.text
    assert server.platform.mom.service.order("PO-7").state == "running"
