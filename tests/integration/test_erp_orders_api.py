"""B2MML and CSV orders over the API take the same inbound path as the inbound table:
created, a repeat unchanged, a change an update with history, a cancel leaves the
schedule, and a bad document stores nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.test_mom_api import MOM_YAML
from tests.support.server import MIXER_OEE_PLANT, running_server

pytestmark = pytest.mark.timeout(90)
CSV = {"content-type": "text/csv"}


def due(hours: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + hours * 3600))


def test_csv_orders_are_created_repeated_updated_and_refused_whole(tmp_path: Path) -> None:
    (tmp_path / "mom.yaml").write_text(MOM_YAML)
    with running_server(tmp_path, MIXER_OEE_PLANT) as server, server.client() as client:
        route = "/api/v1/erp/orders"
        first = f"order_id,product,quantity,unit,due\nE-1,paint,4,pcs,{due(8)}\n"
        assert client.post(route, content=first, headers=CSV).json() == {
            "orders": {"E-1": "created"}
        }
        assert client.post(route, content=first, headers=CSV).json() == {
            "orders": {"E-1": "unchanged"}
        }
        more = first.replace(",4,", ",6,") + f"E-2,paint,1,pcs,{due(9)}\n"
        answer = client.post(route, content=more, headers=CSV).json()
        assert answer == {"orders": {"E-1": "updated", "E-2": "created"}}
        history = server.platform.mom.service.order_history("E-1")
        assert [(h["action"], h["source"]) for h in history] == [
            ("created", "csv"), ("updated", "csv")
        ]  # fmt: skip
        assert history[1]["changes"] == {"quantity": [4, 6]}
        bad = more.replace("E-2,paint", "E-2,glue").replace(",6,", ",7,")
        refused = client.post(route, content=bad, headers=CSV)
        assert refused.status_code == 422 and "unknown product 'glue'" in refused.text
        assert client.get("/api/v1/orders/E-1").json()["quantity"] == 6  # nothing half-done
        assert client.post(route, content=b"<x/>", headers={}).status_code == 415
