"""IT's view of the ERP connectors, through the API of a running platform and through
``plantos erp``: state and lag per connector, dead letters with the receiver's reason,
and replay, with a plain refusal for an unknown connector or a malformed id."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from plantos.core.clock import WallClock
from plantos.core.events import PartsCounted
from plantos.mom.store.uow import SqlUnitOfWork
from tests.support.erp_receiver import SECRET, ErpReceiver, serving
from tests.support.mosquitto import free_port
from tests.support.server import running_server

pytestmark = pytest.mark.timeout(90)
runner = CliRunner()
TOTAL = 9


def erp_yaml(port: int) -> str:
    return (
        "connectors:\n  - name: erp\n    kind: webhook\n"
        f"    url: http://127.0.0.1:{port}/erp\n    secret_env: ERP_TEST_SECRET\n"
        "    retry: {initial_s: 0.05, max_s: 0.2}\n"
    )


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def connector(client: httpx.Client) -> dict[str, Any]:
    [row] = client.get("/api/v1/erp/connectors").json()["connectors"]
    return dict(row)


def test_connector_state_dead_letters_and_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_TEST_SECRET", SECRET.decode())
    receiver, port = ErpReceiver(), free_port()
    receiver.refuse = lambda env: "unknown order" if env["ordering_key"] == "402" else None
    (tmp_path / "erp.yaml").write_text(erp_yaml(port))
    with serving(receiver, port), running_server(tmp_path) as server:
        with SqlUnitOfWork(server.platform.mom.service.engine, clock=WallClock()) as uow:
            for n in range(TOTAL):
                uow.record(PartsCounted(ts_ns=n, subject=f"40{n % 3}", good=n, scrap=0))
            uow.commit()
        with server.client() as client:
            wait_for(lambda: connector(client)["delivered"] == 6, "six deliveries")
            wait_for(lambda: connector(client)["dead"] == 3, "three dead letters")
            state = connector(client)
            assert state["pending"] == 0 and state["lag_s"] == 0.0
            assert state["last_error"] == "HTTP 400: unknown order"
            letters = client.get("/api/v1/erp/deadletters").json()["dead_letters"]
            assert [x["payload"]["good"] for x in letters] == [2, 5, 8]
            assert {x["error"] for x in letters} == {"HTTP 400: unknown order"}
            receiver.refuse = lambda env: None  # the order was created in the ERP
            answer = client.post(
                "/api/v1/erp/connectors/erp/replay", json={"ids": [letters[0]["id"]]}
            )
            assert answer.json() == {"replayed": 1}
            wait_for(lambda: connector(client)["delivered"] == 7, "the replayed one")
            assert client.post("/api/v1/erp/connectors/sap/replay").status_code == 404
            bad = client.post("/api/v1/erp/connectors/erp/replay", json={"ids": ["nope"]})
            assert bad.status_code == 422
            anonymous = httpx.post(f"{server.url}/api/v1/erp/connectors/erp/replay")
            assert anonymous.status_code == 401
        config, data = str(tmp_path / "plantos.yaml"), str(tmp_path / "data")
        result = runner.invoke(app, ["erp", "status", "-c", config, "--data-dir", data])
        assert result.exit_code == 1, result.output  # dead letters are waiting
        assert "erp: 0 pending, 7 delivered, 2 dead" in result.output
        result = runner.invoke(app, ["erp", "deadletters", "-c", config, "--data-dir", data])
        assert result.exit_code == 0 and "2 dead letter(s)" in result.output
        assert "order 402 after 1 attempt(s): HTTP 400: unknown order" in result.output
        result = runner.invoke(
            app, ["erp", "replay", "erp", "--id", "x", "-c", config, "--data-dir", data]
        )
        assert result.exit_code == 1 and "must be a message id" in result.output
        result = runner.invoke(app, ["erp", "replay", "sap", "-c", config, "--data-dir", data])
        assert result.exit_code == 1 and "no ERP connector named 'sap'" in result.output
        result = runner.invoke(app, ["erp", "replay", "erp", "-c", config, "--data-dir", data])
        assert result.exit_code == 0 and "2 dead letter(s) of erp go again" in result.output
        wait_for(lambda: len(receiver.effects) == TOTAL, "every message in the ERP")
    result = runner.invoke(app, ["erp", "status", "-c", config, "--data-dir", data, "--json"])
    assert result.exit_code == 0 and '"delivered": 9' in result.output
