"""B2MML and CSV products over the API go through the master-data checks: created, a
repeat unchanged, a change an update, an unknown routing or a hostile document refused
with nothing stored, the role checked and each import audited."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.test_mom_api import MOM_YAML
from tests.support.server import MIXER_OEE_PLANT, RunningServer, running_server
from tests.unit.test_erp_products_decode import LAUGHS, XXE

pytestmark = pytest.mark.timeout(90)
CSV = {"content-type": "text/csv"}
XML = {"content-type": "application/xml"}
ROUTE = "/api/v1/erp/products"
B2MML = b"""<?xml version="1.0" encoding="UTF-8"?>
<ProcessProductDefinition xmlns="http://www.mesa.org/xml/B2MML-V0600" releaseID="6.0">
  <ApplicationArea><CreationDateTime>2026-03-02T05:00:00Z</CreationDateTime></ApplicationArea>
  <DataArea>
    <Process/>
    <ProductDefinition>
      <ID>paint</ID>
      <Description>Paint, blue</Description>
      <ProductProductionRule>paint</ProductProductionRule>
    </ProductDefinition>
    <ProductDefinition>
      <ID>primer</ID>
      <Description>Primer</Description>
      <ProductProductionRule>paint</ProductProductionRule>
    </ProductDefinition>
  </DataArea>
</ProcessProductDefinition>
"""


def token_client(server: RunningServer, role: str) -> httpx.Client:
    token = server.platform.tokens.issue_api_token(f"erp-{role}", role)
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def test_products_are_created_repeated_updated_and_refused_whole(tmp_path: Path) -> None:
    (tmp_path / "mom.yaml").write_text(MOM_YAML)
    with running_server(tmp_path, MIXER_OEE_PLANT) as server, server.client() as client:
        first = client.post(ROUTE, content=B2MML, headers=XML)
        assert first.status_code == 200, first.text
        assert first.json() == {
            "created": 1, "updated": 1, "unchanged": 0,
            "products": {"paint": "updated", "primer": "created"},
        }  # fmt: skip
        again = client.post(ROUTE, content=B2MML, headers=XML).json()
        assert again["unchanged"] == 2 and again["created"] == again["updated"] == 0
        csv = "product_id,name,routing,counting\nprimer,Primer,paint,operator\nbase,Base,paint,\n"
        answer = client.post(ROUTE, content=csv, headers=CSV).json()
        assert answer["products"] == {"primer": "updated", "base": "created"}
        products, _ = server.platform.mom.service.master()
        assert products["primer"].counting == "operator"
        assert products["paint"].name == "Paint, blue"

        bad = csv.replace("base,Base,paint", "gloss,Gloss,lacquer").replace("operator", "both")
        refused = client.post(ROUTE, content=bad, headers=CSV)
        assert refused.status_code == 422
        assert "row 3: product 'gloss': unknown routing 'lacquer'" in refused.text
        wrong = client.post(ROUTE, content="id,name\nx,y\n", headers=CSV)
        assert wrong.status_code == 422 and "row 1 (header): missing columns" in wrong.text
        for hostile in (XXE, LAUGHS):
            assert client.post(ROUTE, content=hostile, headers=XML).status_code == 422
        products, _ = server.platform.mom.service.master()
        assert "gloss" not in products and products["primer"].counting == "operator"
        assert client.post(ROUTE, content=b"<x/>", headers={}).status_code == 415

        with token_client(server, "operator") as operator:
            assert operator.post(ROUTE, content=csv, headers=CSV).status_code == 403
        with token_client(server, "integration") as integration:
            assert integration.post(ROUTE, content=csv, headers=CSV).json()["unchanged"] == 2
        audited = [r.target for r in server.platform.audit.records(action="erp.products")]
        assert audited == [
            "b2mml: 1 created, 1 updated, 0 unchanged",
            "b2mml: 0 created, 0 updated, 2 unchanged",
            "csv: 1 created, 1 updated, 0 unchanged",
            "csv: 0 created, 0 updated, 2 unchanged",
        ]
