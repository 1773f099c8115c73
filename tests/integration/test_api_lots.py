"""Lots over HTTP and from the CLI, on a running server: a violation whose rule holds the
lot holds the running order's lot; lots are listed, filtered and read within the
caller's scope; a hold or release needs ``quality:write``, a reason and a state that
allows it; a refused one (unknown lot, second hold, release of a lot not on hold)
answers with the reason, is audited and changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from plantos.analytics.spc.events import SpcViolation
from plantos.cli.main import app
from plantos.mom.domain.commands import NewOrder
from plantos.mom.domain.master import AssetOption, Product, Routing, RoutingStep
from plantos.mom.masterdata import MasterData
from plantos.mom.store import tables as t
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
  hold_target: lot
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("lots"), PLANT) as running:
        mom = running.platform.mom.service
        routing = Routing("dough", "dough", (RoutingStep("mix", (AssetOption(MIXER, 0, 60.0),)),))
        mom.seed_master_data(
            MasterData({"dough": Product("dough", "Dough", "dough")}, {"dough": routing})
        )
        mom.create_orders([NewOrder("PO-7", "dough", 50, time.time_ns() + 3600 * NS)])
        for event in mom.transition("PO-7", "running", asset=MIXER)[1]:
            running.call(running.platform.emit(event))
        service = running.platform.quality.service
        wait_until(lambda: len(service.lots()) == 1, "the order's lot")
        event = SpcViolation(
            ts_ns=time.time_ns(), subject=TEMPERATURE, rule=1, rule_set="nelson",
            chart="imr", statistic="x", point_ts_ns=(1,), point_values=(99.0,),
            center=60.0, lcl=50.0, ucl=70.0,
        )  # fmt: skip
        running.call(running.platform.emit(event))
        wait_until(lambda: service.lot("PO-7-1").state == "on_hold", "the quality loop")
        yield running


def client(server: RunningServer, role: str, scope: str = "") -> httpx.Client:
    token = server.platform.tokens.issue_api_token(f"l-{role}-{scope}", role, scope=scope)
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30)


def outbox(server: RunningServer) -> list[str]:
    with server.platform.mom.service.engine.connect() as c:
        return sorted(r.kind for r in c.execute(sa.select(t.outbox.c.kind)))


def cli(server: RunningServer, *args: str) -> tuple[int, str]:
    settings = server.platform.settings
    where = ["--config", str(settings.config), "--data-dir", str(settings.data_dir)]
    result = CliRunner().invoke(app, ["lots", *args, *where])
    return result.exit_code, result.output


def test_the_held_lot_is_listed_filtered_and_read_within_the_scope(server: RunningServer) -> None:
    with client(server, "viewer") as c:
        (lot,) = c.get("/quality/lots", params={"order": "PO-7"}).json()["lots"]
        assert (lot["id"], lot["order"], lot["product"], lot["asset"], lot["state"]) == (
            "PO-7-1", "PO-7", "dough", MIXER, "on_hold",
        )  # fmt: skip
        assert c.get("/quality/lots", params={"state": "closed"}).json()["lots"] == []
        assert c.get("/quality/lots", params={"state": "lost"}).status_code == 422
        one = c.get("/quality/lots/PO-7-1").json()
        assert [h["to"] for h in one["history"]] == ["open", "on_hold"]
        (nc,) = c.get("/quality/nonconformances").json()["nonconformances"]
        assert (nc["lot"], nc["hold_target"], nc["held"]) == ("PO-7-1", "lot", True)
    assert server.platform.mom.service.order("PO-7").state == "running"
    with client(server, "viewer", "site-2") as other:
        assert other.get("/quality/lots", params={"asset": "site-2"}).json()["lots"] == []
        assert other.get("/quality/lots/PO-7-1").status_code == 404
    code, output = cli(server, "list", "--format", "json", "--order", "PO-7")
    assert code == 0, output
    assert [r["id"] for r in json.loads(output)["lots"]] == ["PO-7-1"]
    code, output = cli(server, "show", "PO-7-1")
    assert code == 0 and json.loads(output)["history"][-1]["to"] == "on_hold"
    code, output = cli(server, "list", "--state", "lost")
    assert code != 0 and "--state must be one of open, on_hold" in output
    code, output = cli(server, "show", "NOPE")
    assert code != 0 and "no lot 'NOPE'" in output


@pytest.mark.parametrize(
    ("role", "scope", "lot", "move", "body", "status", "reason"),
    [
        ("viewer", "", "PO-7-1", "release", {"reason": "ok"}, 403, "does not allow"),
        ("quality", "site-2", "PO-7-1", "release", {"reason": "ok"}, 404, "no lot 'PO-7-1'"),
        ("quality", "", "NOPE", "hold", {"reason": "burr"}, 404, "no lot 'NOPE'"),
        ("quality", "", "PO-7-1", "hold", {"reason": "again"}, 409, "is on hold already"),
        ("quality", "", "PO-7-1", "release", {"reason": "   "}, 422, "needs a reason"),
        ("quality", "", "PO-7-1", "release", {}, 422, "reason"),
    ],
)
def test_wrong_moves_are_refused_with_the_reason_audited_and_change_nothing(
    server: RunningServer, role: str, scope: str, lot: str, move: str,
    body: dict[str, object], status: int, reason: str,
) -> None:  # fmt: skip
    before = outbox(server)
    with client(server, role, scope) as c:
        response = c.post(f"/quality/lots/{lot}/{move}", json=body)
    assert response.status_code == status, response.text
    assert reason in response.text.replace("&#39;", "'")
    held = server.platform.quality.service.lot("PO-7-1")
    assert (held.state, len(held.history)) == ("on_hold", 2) and outbox(server) == before
    if body.get("reason", "").strip() and role != "viewer":  # type: ignore[attr-defined]
        (last,) = server.platform.audit.records(action=f"lot.{move}", newest_first=True, limit=1)
        assert last.outcome == "failed" and reason in last.detail["reason"]


def test_a_release_by_hand_and_a_hold_from_the_cli_reach_the_outbox(
    server: RunningServer,
) -> None:
    with client(server, "quality") as c:
        done = c.post("/quality/lots/PO-7-1/release", json={"reason": "lab says fine"})
        assert done.status_code == 200, done.text
        assert (done.json()["state"], done.json()["reason"]) == ("released", "lab says fine")
        again = c.post("/quality/lots/PO-7-1/release", json={"reason": "twice"})
        assert again.status_code == 409 and "is not on hold (it is released)" in again.text
    assert outbox(server).count("LotReleased") == 1
    failed, done = server.platform.audit.records(action="lot.release", newest_first=True, limit=2)
    assert (failed.outcome, done.outcome, done.target) == ("failed", "ok", "PO-7-1")
    token = server.platform.tokens.issue_api_token("l-cli", "quality")
    result = CliRunner().invoke(
        app, ["lots", "hold", "PO-7-1", "--reason", "customer complaint", "--api", server.url,
              "--token", token],
    )  # fmt: skip
    assert result.exit_code == 0 and "lot PO-7-1 on hold" in result.output, result.output
    result = CliRunner().invoke(
        app, ["lots", "hold", "PO-7-1", "--reason", "again", "--api", server.url,
              "--token", token],
    )  # fmt: skip
    assert result.exit_code != 0 and "on hold already" in result.output
    assert outbox(server).count("LotHeld") == 2
