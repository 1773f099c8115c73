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


def audit_of(server: RunningServer, action: str) -> list[tuple[str, str, str]]:
    records = server.platform.audit.records(action=action)
    return [(r.actor, r.target, r.outcome) for r in records]


def test_maintenance_disables_and_enables_a_file_plan_and_each_change_is_audited(
    server: RunningServer,
) -> None:
    with client(server, "maintenance") as c:
        disabled = c.post("/maintenance/plans/mixer-lube/disable")
        assert disabled.status_code == 200, disabled.text
        listed = {p["id"]: p for p in c.get("/maintenance/plans").json()["plans"]}
        enabled = c.post("/maintenance/plans/mixer-lube/enable")
        assert enabled.status_code == 200, enabled.text
    who = disabled.json()["disabled_by"]
    assert disabled.json()["enabled"] is False and who
    assert listed["mixer-lube"]["enabled"] is False and listed["mixer-lube"]["disabled_by"] == who
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_by"] is None
    assert (who, "mixer-lube", "ok") in audit_of(server, "plan.disable")
    assert (who, "mixer-lube", "ok") in audit_of(server, "plan.enable")


def test_a_plan_with_an_open_work_order_is_not_deleted_until_it_is_closed(
    server: RunningServer,
) -> None:
    overdue = {"id": "mixer-clean", "asset": MIXER, "every": "1d", "start": "2020-01-01T00:00:00Z"}
    preventive = server.platform.maintenance.preventive
    with client(server, "maintenance") as c:
        assert c.post("/maintenance/plans", json=overdue).status_code == 201
        preventive.evaluate()  # what the loop does every plans_every: opens the overdue job
        order_id = preventive.get("mixer-clean").state.work_order
        assert order_id is not None
        refused = c.delete("/maintenance/plans/mixer-clean")
        assert refused.status_code == 409, refused.text
        assert f"work order {order_id} open" in refused.json()["detail"]
        assert "mixer-clean" in {v.plan.id for v in preventive.list()}
        cancelled = c.post(f"/assets/{MIXER}/workorders/{order_id}/transition",
                           json={"to": "cancelled"})  # fmt: skip
        assert cancelled.status_code == 200, cancelled.text
        deleted = c.delete("/maintenance/plans/mixer-clean")
        assert deleted.status_code == 200, deleted.text
    assert "mixer-clean" not in {v.plan.id for v in preventive.list()}
    assert server.platform.maintenance.service.get(order_id).evidence[0]["plan"] == "mixer-clean"
    outcomes = [o for _, target, o in audit_of(server, "plan.delete") if target == "mixer-clean"]
    assert outcomes == ["failed", "ok"]


@pytest.mark.parametrize(
    ("role", "scope", "method", "path", "status", "reason"),
    [
        ("viewer", "", "post", "/maintenance/plans/mixer-lube/disable", 403, ""),
        ("operator", "", "delete", "/maintenance/plans/mixer-lube", 403, ""),
        ("maintenance", "site-2", "post", "/maintenance/plans/mixer-lube/disable", 403, ""),
        ("maintenance", "", "post", "/maintenance/plans/nope/disable", 404, "no preventive plan"),
        ("maintenance", "", "post", "/maintenance/plans/nope/enable", 404, "no preventive plan"),
        ("maintenance", "", "delete", "/maintenance/plans/nope", 404, "no preventive plan"),
        ("maintenance", "", "delete", "/maintenance/plans/mixer-lube", 409, "plant file"),
    ],
)
def test_plan_changes_are_refused_with_the_reason(
    server: RunningServer, role: str, scope: str, method: str, path: str, status: int, reason: str
) -> None:
    before = server.platform.maintenance.preventive.list()
    with client(server, role, scope=scope) as c:
        answer = getattr(c, method)(path)
    assert answer.status_code == status, answer.text
    assert reason in answer.text
    assert server.platform.maintenance.preventive.list() == before


def test_cli_disables_enables_and_deletes_with_a_token(server: RunningServer) -> None:
    token = server.platform.tokens.issue_api_token("cli-planner", "maintenance")
    viewer = server.platform.tokens.issue_api_token("cli-viewer", "viewer")
    with client(server, "maintenance") as c:
        assert c.post("/maintenance/plans", json={**NEW, "id": "cli-plan"}).status_code == 201

    def run(*args: str, with_token: str = token) -> tuple[int, str]:
        result = CliRunner().invoke(
            app, ["maintenance", "plans", *args, "--api", server.url, "--token", with_token]
        )
        return result.exit_code, result.output

    assert run("disable", "cli-plan") == (0, f"plan cli-plan on {MIXER} disabled\n")
    assert not server.platform.maintenance.preventive.get("cli-plan").state.enabled
    code, output = run("enable", "cli-plan", with_token=viewer)
    assert code == 1 and "403" in output
    assert run("enable", "cli-plan") == (0, f"plan cli-plan on {MIXER} enabled\n")
    code, output = run("delete", "mixer-lube")
    assert code == 1 and "409" in output and "plant file" in output
    assert run("delete", "cli-plan") == (0, f"plan cli-plan on {MIXER} deleted\n")
    code, output = run("delete", "cli-plan")
    assert code == 1 and "404" in output
