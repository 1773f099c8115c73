"""The order and ERP delivery lists as IT polls them: pages by cursor in a documented
stable order (no item twice, none lost), filters by state, time and site, and ETags
that answer 304 while nothing changed, a new body once something did."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from plantos.core.clock import WallClock
from plantos.core.events import PartsCounted
from plantos.mom.store.uow import SqlUnitOfWork
from tests.integration.test_mom_api import MOM_YAML
from tests.support.server import MIXER_OEE_PLANT, running_server

pytestmark = pytest.mark.timeout(90)
OPEN = ["released", "scheduled", "running", "paused"]


def due(hours: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + hours * 3600))


def pages(client: httpx.Client, route: str, key: str, **params: Any) -> list[list[str]]:
    found, cursor = [], None
    while True:
        answer = client.get(route, params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found.append([item["id"] for item in body[key]])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def flat(found: list[list[str]]) -> list[str]:
    return [item for page in found for item in page]


def test_orders_page_filter_and_answer_304_while_unchanged(tmp_path: Path) -> None:
    (tmp_path / "mom.yaml").write_text(MOM_YAML)
    drop = tmp_path / "erp-files"
    drop.mkdir()
    (tmp_path / "erp.yaml").write_text(
        f"connectors:\n  - {{name: files, kind: file-drop, folder: {drop}, format: jsonl}}\n"
        f"  - {{name: b2mml, kind: file-drop, folder: {drop}, format: b2mml, "
        "kinds: [production_performance]}\n"
    )
    with running_server(tmp_path, MIXER_OEE_PLANT) as server, server.client() as client:
        api = "/api/v1"
        for n, hours in enumerate([5, 1, 3, 3, 9]):
            body = {"id": f"O-{n}", "product": "paint", "quantity": 2, "due": due(hours)}
            assert client.post(f"{api}/orders", json=body).status_code == 201
        client.post(f"{api}/orders/O-4/transition", json={"to": "cancelled"})
        by_due = ["O-1", "O-2", "O-3", "O-0", "O-4"]  # due date, then id
        assert pages(client, f"{api}/orders", "orders", limit=2) == [
            by_due[:2], by_due[2:4], by_due[4:]
        ]  # fmt: skip
        assert flat(pages(client, f"{api}/orders", "orders", limit=1000)) == by_due
        assert flat(pages(client, f"{api}/orders", "orders", limit=1, state=OPEN)) == (by_due[:4])
        window = {"from": due(2), "to": due(6)}
        assert flat(pages(client, f"{api}/orders", "orders", **window)) == ["O-2", "O-3", "O-0"]
        site = flat(pages(client, f"{api}/orders", "orders", limit=2, site="site-1/mixing"))
        assert site == by_due
        assert pages(client, f"{api}/orders", "orders", site="site-2") == [[]]

        first = client.get(f"{api}/orders", params={"limit": 2})
        tag = first.headers["etag"]
        again = client.get(f"{api}/orders", params={"limit": 2}, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
        client.post(f"{api}/orders/O-1/transition", json={"to": "cancelled"})
        changed = client.get(f"{api}/orders", params={"limit": 2}, headers={"If-None-Match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag

        for bad in ({"cursor": "not-a-cursor"}, {"cursor": "WzFd"}, {"from": "soon"},
                    {"state": "lost"}, {"limit": 0}):  # fmt: skip
            assert client.get(f"{api}/orders", params=bad).status_code in (400, 422), bad

        with SqlUnitOfWork(server.platform.mom.service.engine, clock=WallClock()) as uow:
            for n in range(3):
                uow.record(PartsCounted(ts_ns=n, subject="4711", good=n, scrap=0))
            uow.commit()
        route = f"{api}/erp/deliveries"

        def states() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = client.get(f"{api}/erp/connectors").json()["connectors"]
            return rows

        deadline = time.monotonic() + 30
        while not (len(states()) == 2 and all(
            s["pending"] == 0 and s["delivered"] >= 3 for s in states()
        )):  # fmt: skip
            assert time.monotonic() < deadline, states()
            time.sleep(0.05)

        def settled() -> tuple[int, list[str], list[dict[str, Any]]]:
            """A pass over the pages while no delivery happened: the platform's own
            events (plans, orders) keep being delivered at once beside the test's."""
            for _ in range(50):
                total = sum(s["delivered"] + s["dead"] for s in states())
                everything = flat(pages(client, route, "deliveries", limit=3))
                whole = client.get(route, params={"limit": 1000}).json()["deliveries"]
                if total == sum(s["delivered"] + s["dead"] for s in states()):
                    return total, everything, whole
                time.sleep(0.1)
            raise AssertionError("deliveries never stood still for one pass over the pages")

        total, everything, whole = settled()
        assert len(everything) == total
        assert everything == [d["id"] for d in whole]  # pages cut the one stable order
        assert len({(d["id"], d["connector"]) for d in whole}) == total
        files = client.get(route, params={"connector": "files", "state": "delivered"}).json()
        assert {d["connector"] for d in files["deliveries"]} == {"files"}
        assert {d["state"] for d in files["deliveries"]} == {"delivered"}
        assert client.get(route, params={"from": due(1)}).json()["deliveries"] == []
        tag = client.get(route).headers["etag"]
        assert client.get(route, headers={"If-None-Match": tag}).status_code == 304
        letters = client.get(f"{api}/erp/deadletters")
        assert (
            client.get(
                f"{api}/erp/deadletters", headers={"If-None-Match": letters.headers["etag"]}
            ).status_code
            == 304
        )
        assert client.get(route, params={"state": "lost"}).status_code == 422
