"""Manual entry over the HTTP API of a real server: readings land in the live state and
the historian like a machine's value, checklists are stored once per shift or work order
and lock-out/tag-out gates the start of a job, scrap is booked with a reason to the
running order; every refusal is a clear 4xx, stores nothing and is audited."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from plantos.core import quality
from tests.support.entry_plant import CNC1, CNC2, CNC9, LINE, MOM_YAML, OTHER_LINE, PLANT
from tests.support.server import RunningServer, running_server, wait_until

pytestmark = pytest.mark.timeout(120)
NS = 1_000_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("manual-entry")
    (folder / "mom.yaml").write_text(MOM_YAML)
    with running_server(folder, PLANT) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def operator(server: RunningServer) -> Iterator[httpx.Client]:
    """An operator whose scope is line 1 only."""
    token = server.platform.tokens.issue_api_token("olga", "operator", scope=LINE)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as c:
        yield c


def problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


def live(server: RunningServer, path: str) -> tuple[float, int | str | None] | None:
    found = server.platform.live.get(server.platform.tag_ids[path])
    return (found.value, found.exact) if found else None


def stored(server: RunningServer, path: str) -> list[float]:
    platform = server.platform
    result = platform.historian.query_raw(
        platform.tag_ids[path], 0, time.time_ns() + 60 * NS, limit=100
    )
    return result.value.tolist()


def audited(server: RunningServer, action: str, outcome: str) -> list[dict[str, object]]:
    return [r.to_dict() for r in server.platform.audit.records(action=action, outcome=outcome)]


def test_a_reading_lands_in_live_state_and_history_attributed_to_its_operator(
    server: RunningServer, operator: httpx.Client
) -> None:
    tag = f"{CNC1}/coolant_concentration"
    response = operator.post(f"/api/v1/readings/{tag}", json={"value": "7.5"})
    assert response.status_code == 201, response.text
    assert response.json()["value"] == 7.5 and response.json()["by"] == "olga"
    wait_until(lambda: live(server, tag) == (7.5, None), "the reading in the live state")
    wait_until(lambda: stored(server, tag) == [7.5], "the reading in the historian")
    found = server.platform.live.get(server.platform.tag_ids[tag])
    assert found is not None and found.quality == quality.GOOD
    (record,) = [r for r in audited(server, "entry.reading", "ok") if r["target"] == tag]
    assert record["actor"] == "olga"


def test_a_reading_in_another_unit_of_the_same_kind_is_converted(
    server: RunningServer, client: httpx.Client
) -> None:
    tag = f"{CNC2}/oil_temperature"
    response = client.post(f"/api/v1/readings/{tag}", json={"value": 122, "unit": "degF"})
    assert response.status_code == 201, response.text
    assert response.json()["value"] == pytest.approx(50.0)
    wait_until(lambda: stored(server, tag) == [pytest.approx(50.0)], "the converted value")


@pytest.mark.parametrize(
    ("signal", "value", "expected"),
    [
        ("tool_changes", 12, (12.0, None)),
        ("guard_ok", "yes", (1.0, None)),
        ("surface", "rough", (1.0, None)),
        ("batch_note", "lot 4711", (None, "lot 4711")),
    ],
)
def test_every_tag_type_is_entered_as_its_value(
    server: RunningServer, client: httpx.Client, signal: str, value: object, expected: tuple
) -> None:
    tag = f"{CNC1}/{signal}"
    assert client.post(f"/api/v1/readings/{tag}", json={"value": value}).status_code == 201

    def arrived() -> bool:
        got = live(server, tag)
        if got is None:
            return False
        return got[1] == expected[1] if expected[0] is None else got == expected

    wait_until(arrived, f"{signal} in the live state")


@pytest.mark.parametrize(
    ("signal", "body", "status", "reason"),
    [
        ("oil_temperature", {"value": 95}, 422, "95 degC is outside the range 10 to 80 degC"),
        ("oil_temperature", {"value": 3, "unit": "bar"}, 422,
         "bar cannot be converted to degC: pressure is not temperature"),
        ("oil_temperature", {"value": 3, "unit": "furlongz"}, 422, "unknown unit 'furlongz'"),
        ("oil_temperature", {"value": "warm"}, 422, "takes a number, not 'warm'"),
        ("tool_changes", {"value": 1.5}, 422, "takes a whole number, not 1.5"),
        ("tool_changes", {"value": -1}, 422, "does not fit a uint tag"),
        ("guard_ok", {"value": "maybe"}, 422, "takes yes or no"),
        ("guard_ok", {"value": True, "unit": "bar"}, 422, "a bool value has no unit"),
        ("surface", {"value": "purple"}, 422, "takes one of fine, rough, damaged"),
        ("batch_note", {"value": "x" * 21}, 422, "at most 20 characters, not 21"),
        ("spindle_vibration", {"value": 1.0}, 404, "no manual tag"),
        ("no_such_signal", {"value": 1.0}, 404, "no manual tag"),
    ],
)  # fmt: skip
def test_a_bad_reading_is_refused_with_its_reason_stores_nothing_and_is_audited(
    server: RunningServer, client: httpx.Client, signal: str, body: dict, status: int, reason: str
) -> None:
    tag = f"{CNC2}/{signal}"
    before = stored(server, tag) if tag in server.platform.tag_ids else None
    assert reason in problem(client.post(f"/api/v1/readings/{tag}", json=body), status)
    failed = [r for r in audited(server, "entry.reading", "failed") if r["target"] == tag]
    assert failed and reason in str(failed[-1]["detail"])
    time.sleep(0.3)  # the bus is quick: a stored sample would be there by now
    if before is not None:
        assert stored(server, tag) == before


def test_an_operator_enters_only_within_their_scope(operator: httpx.Client) -> None:
    tag = f"{CNC9}/coolant_concentration"
    response = operator.post(f"/api/v1/readings/{tag}", json={"value": 5})
    assert response.status_code == 403
    response = operator.post(f"/api/v1/stations/{OTHER_LINE}/checklists/start-of-shift", json={})
    assert response.status_code == 403


def test_the_station_lists_what_it_can_enter(client: httpx.Client) -> None:
    body = client.get(f"/api/v1/stations/{LINE}/entry").json()
    forms = {f["path"]: f for f in body["readings"]}
    assert len(forms) == 12 and f"{CNC9}/coolant_concentration" not in forms
    oil = forms[f"{CNC1}/oil_temperature"]
    assert (oil["unit"], oil["range"], oil["type"]) == ("degC", [10, 80], "float")
    assert forms[f"{CNC1}/surface"]["states"] == ["fine", "rough", "damaged"]
    assert forms[f"{CNC1}/batch_note"]["max_length"] == 20
    assert {c["id"] for c in body["checklists"]} == {"start-of-shift", "loto"}
    assert body["scrap_reasons"] == {
        "dimension": "Dimension out of tolerance", "surface": "Surface defect"
    }  # fmt: skip


def test_start_of_shift_checklist_is_stored_once_and_refused_incomplete(
    server: RunningServer, operator: httpx.Client
) -> None:
    route = f"/api/v1/stations/{LINE}/checklists/start-of-shift"
    missing = problem(operator.post(route, json={"answers": {"guards": True}}), 422)
    assert "air: an answer is required" in missing
    wrong = problem(operator.post(route, json={"answers": {"guards": "no", "air": 6}}), 422)
    assert "guards: must be yes" in wrong
    unit = problem(operator.post(route, json={"answers": {"guards": "yes", "air": "9 psi"}}), 422)
    assert "air takes a number" in unit
    assert server.platform.maintenance.entry.submissions(LINE) == []

    answers = {"guards": "yes", "air": 6.2, "remarks": "ok"}
    first = operator.post(route, json={"answers": answers})
    assert first.status_code == 201, first.text
    assert first.json()["by"] == "olga"
    assert first.json()["answers"] == {"guards": True, "air": 6.2, "remarks": "ok"}
    again = problem(operator.post(route, json={"answers": answers}), 409)
    assert "submitted already by olga" in again
    assert len(server.platform.maintenance.entry.submissions(LINE)) == 1
    assert len(audited(server, "checklist.start-of-shift", "failed")) == 4
    assert len(audited(server, "checklist.start-of-shift", "ok")) == 1
    body = operator.get(f"/api/v1/stations/{LINE}/entry").json()
    shift = next(c for c in body["checklists"] if c["id"] == "start-of-shift")
    assert shift["submitted"]["by"] == "olga"


def test_a_work_order_starts_only_after_its_lockout_tagout_checklist(
    server: RunningServer, client: httpx.Client
) -> None:
    base = f"/api/v1/assets/{CNC2}/workorders"
    order = client.post(base, json={"kind": "corrective", "title": "Spindle noise"}).json()
    wo = order["id"]
    start, end = time.time() + 3600, time.time() + 7200
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    assert client.post(f"{base}/{wo}/transition", json={"to": "approved"}).status_code == 200
    window = {"start": iso(start), "end": iso(end)}
    assert client.post(f"{base}/{wo}/window", json=window).status_code == 200
    assert client.post(f"{base}/{wo}/transition", json={"to": "scheduled"}).status_code == 200

    refused = problem(client.post(f"{base}/{wo}/transition", json={"to": "in_progress"}), 409)
    assert "Lock-out/tag-out (loto)" in refused
    assert server.platform.maintenance.service.get(wo).state == "scheduled"
    route = f"/api/v1/stations/{LINE}/checklists/loto"
    needs = problem(client.post(route, json={"answers": {"isolated": True, "tagged": True}}), 422)
    assert "needs the work order" in needs
    other = f"/api/v1/stations/{OTHER_LINE}/checklists/loto"
    body = {"answers": {"isolated": True, "tagged": True}, "work_order": wo}
    assert "is not for work order" in problem(client.post(other, json=body), 404)
    assert client.post(route, json=body).status_code == 201
    assert "submitted already" in problem(client.post(route, json=body), 409)

    started = client.post(f"{base}/{wo}/transition", json={"to": "in_progress"})
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "in_progress"


def test_scrap_is_booked_with_a_reason_to_the_running_order(
    server: RunningServer, client: httpx.Client, operator: httpx.Client
) -> None:
    route = f"/api/v1/stations/{LINE}/scrap"
    scrap = {"asset": CNC1, "quantity": 2, "reason": "surface"}
    assert "no order is running" in problem(operator.post(route, json=scrap), 409)
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 8 * 3600))
    new = {"id": "PO-1", "product": "shaft", "quantity": 10, "due": due}
    assert client.post("/api/v1/orders", json=new).status_code == 201
    move = {"to": "running", "asset": CNC1}
    assert client.post("/api/v1/orders/PO-1/transition", json=move).status_code == 200

    bad = {**scrap, "reason": "gremlins"}
    assert "unknown scrap reason 'gremlins'" in problem(operator.post(route, json=bad), 422)
    elsewhere = {**scrap, "asset": CNC9}
    assert "no asset" in problem(operator.post(route, json=elsewhere), 404)
    assert client.get("/api/v1/orders/PO-1").json()["scrap"] == 0

    booked = operator.post(route, json=scrap)
    assert booked.status_code == 201, booked.text
    assert booked.json() == {
        "order": "PO-1", "asset": CNC1, "quantity": 2, "reason": "surface", "by": "olga"
    }  # fmt: skip
    assert client.get("/api/v1/orders/PO-1").json()["scrap"] == 2
    (record,) = audited(server, "entry.scrap", "ok")
    assert record["actor"] == "olga"
    assert len(audited(server, "entry.scrap", "failed")) == 3


def test_the_command_line_enters_a_reading_and_reports_a_refusal(server: RunningServer) -> None:
    tag = f"{CNC2}/coolant_concentration"
    common = ["--api", server.url, "--token", server.admin_token]
    done = CliRunner().invoke(app, ["entry", "reading", tag, "8,5", *common])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"{tag}\t8.5\tpercent\t")
    wait_until(lambda: stored(server, tag) == [8.5], "the reading from the command line")
    refused = CliRunner().invoke(app, ["entry", "reading", tag, "2", "--unit", "bar", *common])
    assert refused.exit_code != 0
    assert "server answered 422" in refused.output and "bar cannot be converted to percent" in (
        refused.output.replace("\n", " ")
    )
    bad = CliRunner().invoke(
        app, ["entry", "checklist", OTHER_LINE, "start-of-shift", "--answer", "guards", *common]
    )
    assert bad.exit_code != 0 and "ITEM=ANSWER" in bad.output
    shift = CliRunner().invoke(
        app,
        ["entry", "checklist", OTHER_LINE, "start-of-shift", "--answer", "guards=yes",
         "--answer", "air=6", *common],
    )  # fmt: skip
    assert shift.exit_code == 0, shift.output
    assert shift.output.startswith(f"start-of-shift\t{OTHER_LINE} ")
