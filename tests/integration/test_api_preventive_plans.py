"""Preventive plans over HTTP and from the CLI, on a running server: listed with their
next due date and meter reading; created and changed with ``workorders:write`` on the
asset; refused with the reason (422 wrong plan, 409 a plan of the plant file, 404 no
such plan, 403 no right), writing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server

pytestmark = pytest.mark.timeout(120)

MIXER, MIXER2 = "site-1/mixing/line-1/mixer-1", "site-1/mixing/line-1/mixer-2"
PLANT = (
    MIXER_OEE_PLANT
    + f"""\
maintenance:
  plans:
    - {{id: mixer-lube, asset: {MIXER}, title: Lubricate, every: 2w, lead: 1d,
       start: "2026-01-05T06:00:00Z", interval: fixed}}
"""
)
NEW = {"id": "mixer-hours", "asset": MIXER, "meter": "hours", "every": 500, "lead": 20}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("plans"), PLANT) as running:
        yield running


def client(server: RunningServer, role: str, scope: str = "") -> httpx.Client:
    token = server.platform.tokens.issue_api_token(f"a-{role}", role, scope=scope)
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30)


def test_file_plan_is_listed_with_its_next_due_date(server: RunningServer) -> None:
    with client(server, "viewer") as c:
        (plan,) = [p for p in c.get("/maintenance/plans").json()["plans"] if p["origin"] == "file"]
    assert plan["id"] == "mixer-lube" and plan["kind"] == "calendar"
    assert plan["interval"] == "fixed" and plan["every"] == 14 * 86400
    assert plan["next_due"].startswith("2026-01-19T06:00:00")
    assert plan["opens_at"].startswith("2026-01-18T06:00:00")


def test_maintenance_creates_and_changes_a_meter_plan(server: RunningServer) -> None:
    with client(server, "maintenance") as c:
        created = c.post("/maintenance/plans", json=NEW)
        assert created.status_code == 201, created.text
        assert created.json()["meter"] == "hours" and created.json()["next_due"] == 500
        changed = c.put("/maintenance/plans/mixer-hours", json={**NEW, "every": 400})
        assert changed.status_code == 200, changed.text
        assert changed.json()["next_due"] == 400
        listed = {p["id"]: p for p in c.get(f"/maintenance/plans?asset={MIXER}").json()["plans"]}
    assert listed["mixer-hours"]["reading"] == 0 and listed["mixer-hours"]["unit"] == "h"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "reason"),
    [
        ("post", "/maintenance/plans", {**NEW, "id": "x1", "every": "2w"}, 422, "every: a meter"),
        ("post", "/maintenance/plans", {**NEW, "id": "x2", "states": ["flying"]}, 422, "flying"),
        ("post", "/maintenance/plans", {**NEW, "id": "x3", "asset": "site-2/x/y/z"}, 403, ""),
        ("post", "/maintenance/plans", {**NEW, "id": "x4", "lead": 900}, 422, "lead must be"),
        ("post", "/maintenance/plans", {**NEW, "id": "x5", "colour": "red"}, 422, "colour"),
        ("put", "/maintenance/plans/mixer-lube", {**NEW, "id": "mixer-lube"}, 409, "plant file"),
        ("put", "/maintenance/plans/nope", {**NEW, "id": "nope"}, 404, "no preventive plan"),
        ("put", "/maintenance/plans/other", NEW, 422, "not the plan's"),
    ],
)
def test_wrong_requests_are_refused_with_the_reason(
    server: RunningServer, method: str, path: str, body: dict[str, object], status: int, reason: str
) -> None:
    scope = "site-1/mixing" if status == 403 else ""
    with client(server, "maintenance", scope=scope) as c:
        before = server.platform.maintenance.preventive.list()
        answer = getattr(c, method)(path, json=body)
        assert answer.status_code == status, answer.text
        assert reason in answer.text
        assert server.platform.maintenance.preventive.list() == before


def test_a_viewer_may_not_create_a_plan(server: RunningServer) -> None:
    with client(server, "viewer") as c:
        answer = c.post("/maintenance/plans", json={**NEW, "id": "by-viewer", "asset": MIXER2})
    assert answer.status_code == 403
    assert "by-viewer" not in {v.plan.id for v in server.platform.maintenance.preventive.list()}


def test_cli_lists_the_plans(server: RunningServer, tmp_path: Path) -> None:
    data = server.platform.settings.data_dir
    result = CliRunner().invoke(
        app,
        [
            "maintenance", "plans", "--format", "json",
            "--config", str(server.platform.settings.config), "--data-dir", str(data),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"mixer-lube"' in result.output
