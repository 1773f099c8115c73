"""Every route of the app, enumerated from its router: each declares a permission, refuses
an anonymous caller (401, or a page's redirect to sign in), refuses a role without the
permission and a grant on another part of the plant (403 with the reason), and lists keep
to the caller's scope (nothing of site-1 for someone of site-2)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import Mount

from plantos.analytics.alarms import AlarmDefinition, Priority
from plantos.api.auth import FILTERED, PERMISSION_ATTR, PUBLIC, SCOPE_ATTR, SOURCE_ATTR
from plantos.api.fail_closed import route_guards
from plantos.app import Platform, create_app
from plantos.core.batch import SampleBatch
from plantos.security.roles import ROLES
from tests.support.server import MIXER_PLANT_HEAD, RunningServer, running_server, wait_until

NS = 1_000_000_000
MIXER_1 = "site-1/mixing/line-1/mixer-1"
MIXER_2 = "site-2/mixing/line-1/mixer-1"
TEMP_1 = f"{MIXER_1}/temperature"
ALARM_1 = f"{MIXER_1}/overheat"
ALARM_2 = f"{MIXER_2}/overheat"

TWO_SITES = (
    MIXER_PLANT_HEAD
    + """\
sites:
  - id: site-1
    calendar: always
    areas:
      - id: mixing
        lines:
          - id: line-1
            assets:
              - {id: mixer-1, type: mixer}
  - id: site-2
    calendar: always
    areas:
      - id: mixing
        lines:
          - id: line-1
            assets:
              - {id: mixer-1, type: mixer}
analytics:
  oee:
    asset_types:
      mixer: {from_enum: state, ideal_cycle_time: 10m, counters: {total: batches}}
"""
)

PARAMS = {
    "path": TEMP_1,
    "tag": TEMP_1,
    "asset": MIXER_1,
    "alarm_id": ALARM_1,
    "name": "nobody",
    "token_id": "tok_000000000000",
}
"""A value for every path parameter: always something of site-1."""
QUERY = {"path": MIXER_1, "asset": MIXER_1, "tag": TEMP_1, "site": "site-1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("routes"), TWO_SITES) as running:
        ids = running.platform.tag_ids
        now = time.time_ns() // NS * NS
        tags = [ids[f"{m}/temperature"] for m in (MIXER_1, MIXER_2)]
        batch = SampleBatch.of(tags, [now - NS] * 2, [50.0, 60.0])
        running.call(running.platform.ingest(batch, source="test"))
        wait_until(lambda: running.platform.writer.acked_rows >= 2, "the commit")
        running.call(_define_alarms(running.platform))
        yield running


async def _define_alarms(platform: Platform) -> None:
    alarms = platform.analytics.alarms
    for alarm, mixer in ((ALARM_1, MIXER_1), (ALARM_2, MIXER_2)):
        alarms.define(AlarmDefinition(alarm, mixer, Priority.HIGH, "mixer temperature high"))
        for event in alarms.condition(alarm, True, platform.clock.now_ns()):
            await platform.emit(event)


def _routes(platform: Platform) -> list[tuple[RouteContext, Callable[..., Any]]]:
    """Every route of the app (routers included, with their prefixes) and its single guard;
    fails naming each route without one (so an unguarded route added later fails here)
    and every mount but the static files."""
    app = create_app(platform)
    unguarded, routes = [], []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        if not isinstance(route.original_route, APIRoute):
            unguarded.append(f"{route.path} (not an APIRoute)")
            continue
        guards = route_guards(route)
        if len(guards) != 1:
            unguarded.append(f"{sorted(route.methods)} {route.path}: {len(guards)} guards")
            continue
        routes.append((route, guards[0]))
    assert not unguarded, "routes without exactly one require()/public():\n" + "\n".join(unguarded)
    return routes


def _url(route: RouteContext, guard: Callable[..., Any]) -> str:
    path = str(route.path_format)
    for name, value in PARAMS.items():
        path = path.replace("{" + name + "}", value)
    source = getattr(getattr(guard, SCOPE_ATTR, None), SOURCE_ATTR, None)
    if source and source[0] == "query":
        path += f"?{source[1]}={QUERY[source[1]]}"
    if route.path == "/api/v1/oee/reasons" and "GET" in (route.methods or ()):
        path += "&start=-1h"
    return path


def _calls(platform: Platform) -> list[tuple[str, str, Callable[..., Any], bool]]:
    """(method, url, guard, is_page) of every guarded route."""
    out = []
    for route, guard in _routes(platform):
        if getattr(guard, PERMISSION_ATTR) == PUBLIC:
            continue
        page = not (str(route.path).startswith("/api/") or route.path == "/metrics")
        for method in sorted(set(route.methods or ()) - {"HEAD"}):
            out.append((method, _url(route, guard), guard, page))
    return out


def _token(server: RunningServer, role: str, scope: str = "") -> str:
    return server.platform.tokens.issue_api_token(f"test-{role}", role, scope=scope)


def test_every_route_declares_exactly_one_permission(server: RunningServer) -> None:
    routes = _routes(server.platform)
    permissions = {getattr(g, PERMISSION_ATTR) for _, g in routes}
    assert len(routes) >= 30
    assert {"alarms:ack", "users:admin", "tokens:admin", "audit:read", PUBLIC} <= permissions
    public = sorted(str(r.path) for r, g in routes if getattr(g, PERMISSION_ATTR) == PUBLIC)
    assert public == [
        "/healthz",
        "/signin",
        "/signin",
        "/signin/oidc",
        "/signin/oidc/callback",
        "/signout",
    ]


def test_every_route_refuses_an_anonymous_caller(server: RunningServer) -> None:
    calls = _calls(server.platform)
    for method, url, _, page in calls:
        response = httpx.request(method, server.url + url, timeout=10, follow_redirects=False)
        if page:
            assert response.status_code == 303, (method, url, response.status_code)
            assert response.headers["location"] == "/signin"
        else:
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.headers["www-authenticate"] == "Bearer"


def test_every_route_refuses_a_role_without_its_permission(server: RunningServer) -> None:
    tested = 0
    for method, url, guard, _ in _calls(server.platform):
        permission = getattr(guard, PERMISSION_ATTR)
        role = next((r for r, held in ROLES.items() if permission not in held), None)
        if role is None:
            continue  # every role may read
        headers = {"Authorization": f"Bearer {_token(server, role)}"}
        response = httpx.request(method, server.url + url, headers=headers, timeout=10)
        assert response.status_code == 403, (method, url, role, response.status_code)
        assert f"does not allow {permission!r}" in response.text.replace("&#39;", "'"), url
        tested += 1
    assert tested >= 15


def test_every_scoped_route_refuses_a_grant_on_another_site(server: RunningServer) -> None:
    """An admin of site-2 holds every permission, so each refusal here is the scope's."""
    headers = {"Authorization": f"Bearer {_token(server, 'admin', 'site-2')}"}
    tested = 0
    for method, url, guard, _ in _calls(server.platform):
        if getattr(guard, SCOPE_ATTR) is FILTERED:
            continue
        response = httpx.request(method, server.url + url, headers=headers, timeout=10)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "holds 'admin' for site-2, not for" in response.text.replace("&#39;", "'"), url
        tested += 1
    assert tested >= 15


@pytest.fixture
def site_2(server: RunningServer) -> Iterator[httpx.Client]:
    token = _token(server, "planner", "site-2")
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        yield client


def test_lists_show_nothing_of_another_site(site_2: httpx.Client) -> None:
    tags = site_2.get("/api/v1/tags").json()["tags"]
    assert tags and all(t["path"].startswith("site-2/") for t in tags)
    values = site_2.get("/api/v1/live").json()["values"]
    assert values and all(v["path"].startswith("site-2/") for v in values)
    alarms = site_2.get("/api/v1/alarms").json()["alarms"]
    assert [a["alarm_id"] for a in alarms] == [ALARM_2]
    plant = site_2.get("/api/v1/plant").json()
    assert list(plant["assets"]) == [MIXER_2]
    assert [s["id"] for s in plant["enterprise"]["children"]] == ["site-2"]
    assert "site-1" not in json.dumps(plant)
    status = site_2.get("/api/v1/status").json()
    assert status["scope"] == "site-2" and "historian" not in status


def test_the_live_stream_and_the_historian_keep_to_the_scope(site_2: httpx.Client) -> None:
    with site_2.stream("GET", "/api/v1/live/stream") as stream:
        data = next(line for line in stream.iter_lines() if line.startswith("data:"))
    paths = [v["path"] for v in json.loads(data.removeprefix("data:"))["values"]]
    assert paths and all(p.startswith("site-2/") for p in paths)
    refused = site_2.get(f"/api/v1/tags/{TEMP_1}/samples")
    assert refused.status_code == 403
    assert "not for site-1/mixing/line-1/mixer-1/temperature" in refused.json()["detail"]
    assert site_2.get(f"/api/v1/tags/{MIXER_2}/temperature/samples").status_code == 200


def test_a_stop_reason_for_another_site_is_refused(server: RunningServer) -> None:
    token = _token(server, "operator", "site-2")
    body = {"asset": MIXER_1, "start": "-1h", "reason": "jam"}
    response = httpx.post(
        f"{server.url}/api/v1/oee/reasons",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403 and "not for site-1" in response.json()["detail"]


def test_refusals_are_audited_with_the_reason(server: RunningServer) -> None:
    token = _token(server, "viewer", "site-2")
    httpx.post(
        f"{server.url}/api/v1/alarms/{ALARM_2}/acknowledge",
        headers={"Authorization": f"Bearer {token}"},
    )
    denied = server.platform.audit.records(action="access.denied", actor="test-viewer")
    assert denied and denied[-1].detail["permission"] == "alarms:ack"
    assert denied[-1].target == f"POST /api/v1/alarms/{ALARM_2}/acknowledge"


def test_the_operator_of_a_site_acknowledges_its_alarm(server: RunningServer) -> None:
    token = _token(server, "operator", "site-2")
    response = httpx.post(
        f"{server.url}/api/v1/alarms/{ALARM_2}/acknowledge",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and response.json()["acknowledged"]


def test_alarm_actions_stop_reasons_and_token_use_are_audited(server: RunningServer) -> None:
    token = _token(server, "operator", "site-2")
    headers = {"Authorization": f"Bearer {token}"}
    httpx.post(f"{server.url}/api/v1/alarms/{ALARM_2}/shelve", headers=headers,
               json={"until": "1h", "reason": "maintenance"})  # fmt: skip
    for _ in range(2):
        httpx.post(f"{server.url}/api/v1/alarms/{ALARM_2}/unshelve", headers=headers)
    records = server.platform.audit.records(actor="test-operator")
    acts = [(r.action, r.outcome) for r in records if r.target == ALARM_2]
    assert acts[-3:] == [
        ("alarm.shelve", "ok"),
        ("alarm.unshelve", "ok"),
        ("alarm.unshelve", "failed"),
    ]
    token_id = server.platform.tokens.verify(token).token_id
    uses = [r for r in records if r.action == "token.use" and r.target == token_id]
    assert len(uses) == 1 and uses[0].detail["route"].startswith("POST /api/v1/alarms/")
