"""Stop reasons survive a restart: given over the HTTP API of a real server in the caller's
name, they are there again after the platform restarts on the same data directory (in
the stops, the live and the recomputed reason Pareto), and the offline CLI reports them
as the server does."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np

from plantos.analytics.oee.reason_store import REASONS_FILE
from plantos.core.batch import SampleBatch
from plantos.core.timeparse import iso
from tests.conftest import REPO
from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server, wait_until

NS = 1_000_000_000
MIXER = "site-1/mixing/line-1/mixer-1"
RUNNING, DOWN = 2.0, 3.0


def client(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def down_stop(c: httpx.Client) -> dict[str, object]:
    answer = c.get("/api/v1/oee/stops", params={"asset": MIXER, "from": "-3h"}).json()
    [down] = [s for s in answer["stops"] if s["state"] == "down"]
    return dict(down)


def test_reasons_survive_a_restart_and_the_cli_reports_them(tmp_path: Path) -> None:
    now = time.time_ns() // NS * NS
    stop_ns = now - 2 * 3600 * NS  # longer than the hour a recomputation looks back
    with running_server(tmp_path, MIXER_OEE_PLANT) as server:
        ids = server.platform.tag_ids
        ts = np.arange(now - 3 * 3600 * NS, now, 60 * NS)
        state = np.where(ts < stop_ns, RUNNING, DOWN)
        batch = SampleBatch.of(np.full(len(ts), ids[f"{MIXER}/state"]), ts, state)
        server.call(server.platform.ingest(batch, source="test"))
        wait_until(lambda: server.platform.writer.acked_rows >= len(ts), "the history commit")
        anna = server.platform.tokens.issue_api_token("anna", "operator")
        with client(server, anna) as c:
            down = down_stop(c)
            assert down["start_ns"] == stop_ns and down["reason"] == "unassigned"
            assert down["by"] is None and down["at"] is None
            first = {"asset": MIXER, "start": str(stop_ns), "reason": "seal leak"}
            assert c.post("/api/v1/oee/reasons", json=first).status_code == 200
        with client(server, server.admin_token) as c:
            second = {"asset": MIXER, "start": iso(stop_ns), "reason": " pump failure "}
            answer = c.post("/api/v1/oee/reasons", json=second)
            assert answer.status_code == 200
            assert answer.json()["at"] >= iso(now)
            assert answer.json() | {"at": None} == {
                "asset": MIXER,
                "start": iso(stop_ns),
                "start_ns": stop_ns,
                "reason": "pump failure",
                "by": "admin",
                "at": None,
                "note": "",
            }
            for bad, status, why in (
                ({"reason": ""}, 422, "at least 1 character"),
                ({"reason": "   "}, 400, "must not be empty"),
                ({"asset": "site-1/nowhere"}, 400, "no OEE tracking"),
                ({"start": "last tuesday-ish"}, 400, "not a time"),
            ):
                refused = c.post("/api/v1/oee/reasons", json=second | bad)
                assert refused.status_code == status, refused.text
                assert why in json.dumps(refused.json()["detail"])
    assert (tmp_path / "data" / REASONS_FILE).is_file()

    # The tokens are not what this test is about: a fresh token file gives the restarted
    # server its admin token; the historian and the reasons stay as they were.
    for tokens in (tmp_path / "data").glob("security.sqlite*"):
        tokens.unlink()
    window = {"from": iso(now - 3 * 3600 * NS), "to": iso(now)}
    with (
        running_server(tmp_path, MIXER_OEE_PLANT) as server,
        client(server, server.admin_token) as c,
    ):
        down = down_stop(c)
        assert down["start_ns"] == stop_ns and down["reason"] == "pump failure"
        assert down["by"] == "admin" and down["at"]
        history = c.get("/api/v1/oee/reasons", params={"asset": MIXER, "start": str(stop_ns)})
        assert [(r["reason"], r["by"]) for r in history.json()["history"]] == [
            ("pump failure", "admin"),
            ("seal leak", "anna"),
        ]
        assert (
            c.get("/api/v1/oee/reasons", params={"asset": "nope", "start": "0"}).status_code == 404
        )
        live = c.get("/api/v1/oee", params={"path": MIXER}).json()
        assert "pump failure" in dict(live["reasons_s"])
        recent = {"from": iso(now - 90 * 60 * NS), "to": iso(now)}  # inside the stop
        recomputed = c.get("/api/v1/oee", params={"path": MIXER} | recent).json()
        assert dict(recomputed["reasons_s"]) == {"pump failure": 5400}
        served = c.get("/api/v1/oee", params={"path": MIXER} | window).json()

    offline = subprocess.run(
        [str(REPO / ".venv" / "bin" / "plantos"), "analytics", "oee", MIXER,
         "--from", window["from"], "--to", window["to"], "--format", "json",
         "--config", str(tmp_path / "plantos.yaml"), "--data-dir", str(tmp_path / "data")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout) == served
    assert dict(served["reasons_s"]) == {"pump failure": 7200}
