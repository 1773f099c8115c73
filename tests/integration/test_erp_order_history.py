"""An ERP order's history through the API and ``plantos orders history`` against a
running platform: each change from the inbound path with its source and the fields'
old and new values (times as ISO 8601), a readable table or JSON, a plain refusal for
an order PlantOS does not have or a wrong token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from tests.integration.test_erp_orders_api import CSV, due
from tests.integration.test_mom_api import MOM_YAML
from tests.support.server import MIXER_OEE_PLANT, running_server

pytestmark = pytest.mark.timeout(90)
runner = CliRunner()


def test_the_history_of_an_erp_order_from_the_api_and_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "mom.yaml").write_text(MOM_YAML)
    first_due, later_due = due(8), due(10)
    first = f"order_id,product,quantity,unit,due\nE-1,paint,4,pcs,{first_due}\n"
    changed = f"order_id,product,quantity,unit,due\nE-1,paint,6,pcs,{later_due}\n"
    with running_server(tmp_path, MIXER_OEE_PLANT) as server, server.client() as client:
        for document in (first, changed):
            posted = client.post("/api/v1/erp/orders", content=document, headers=CSV)
            assert posted.status_code == 200, posted.text
        assert client.post(
            "/api/v1/orders", json={"id": "LOCAL-1", "product": "paint", "quantity": 1,
                                    "due": due(9)}
        ).status_code == 201  # fmt: skip

        answer = client.get("/api/v1/orders/E-1/history").json()
        assert answer["order"] == "E-1"
        created, updated = answer["history"]
        assert (created["action"], created["source"]) == ("created", "csv")
        assert created["changes"]["quantity"] == {"old": None, "new": 4}
        assert updated["action"] == "updated" and updated["source"] == "csv"
        assert updated["changes"] == {
            "quantity": {"old": 4, "new": 6},
            "due": {"old": first_due.replace("Z", ".000Z"), "new": later_due.replace("Z", ".000Z")},
        }
        assert client.get("/api/v1/orders/NOPE/history").status_code == 404

        common = ["--api", server.url, "--token", server.admin_token]
        shown = runner.invoke(app, ["orders", "history", "E-1", *common], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        assert "quantity: 4 -> 6" in shown.output and "csv" in shown.output
        assert f"due: {first_due.replace('Z', '.000Z')} -> " in shown.output
        assert "quantity: - -> 4" in shown.output  # created: no old value

        as_json = runner.invoke(app, ["orders", "history", "E-1", "--json", *common])
        assert as_json.exit_code == 0, as_json.output
        assert json.loads(as_json.output) == answer

        local = runner.invoke(app, ["orders", "history", "LOCAL-1", *common])
        assert local.exit_code == 0 and "LOCAL-1 has no ERP history" in local.output

        unknown = runner.invoke(app, ["orders", "history", "NOPE", *common])
        assert unknown.exit_code == 1 and "server answered 404" in unknown.output
        wrong = runner.invoke(app, ["orders", "history", "E-1", "--api", server.url,
                                    "--token", "pos_wrong"])  # fmt: skip
        assert wrong.exit_code == 1 and "server answered 401" in wrong.output
