"""Products from an ERP file, B2MML or CSV: the products come out as the master-data API
would take them, and every hostile, invalid or wrong file is refused whole with a reason
(the schema's, the row's, the routing's), never half-read."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plantos.cli.main import app
from plantos.integration.erp.b2mml.product_decode import decode_products
from plantos.integration.erp.csv_products import parse_product_csv
from plantos.integration.erp.errors import (
    CsvImportError,
    ErpDocumentError,
    ForbiddenXmlError,
    MissingFieldError,
    SchemaViolationError,
    UnsupportedDocumentError,
)
from plantos.integration.erp.products_import import UnknownRoutingError
from plantos.mom.domain.master import Product
from tests.conftest import DEMO_PLANT

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<SyncProductDefinition xmlns="http://www.mesa.org/xml/B2MML-V0600" releaseID="6.0">
  <ApplicationArea>
    <CreationDateTime>2026-03-02T05:00:00Z</CreationDateTime>
  </ApplicationArea>
  <DataArea>
    <Sync/>
    <ProductDefinition>
      <ID>flange-80</ID>
      <Description>Flange 80</Description>
      <ProductProductionRule>flange-m</ProductProductionRule>
    </ProductDefinition>
    <ProductDefinition>
      <ID>shaft-s</ID>
      <ProductProductionRule>shaft-s</ProductProductionRule>
    </ProductDefinition>
  </DataArea>
</SyncProductDefinition>
"""
PRODUCTS = [
    Product("flange-80", "Flange 80", "flange-m"),
    Product("shaft-s", "shaft-s", "shaft-s"),
]
ROUTINGS = {"flange-m", "shaft-s"}


def test_a_product_definition_gives_its_products() -> None:
    assert decode_products(GOOD, routings=ROUTINGS) == PRODUCTS


def test_the_document_validates_against_the_xsd(shared_data: Path) -> None:
    assert decode_products(GOOD, schema_dir=shared_data / "b2mml") == PRODUCTS


def test_an_invalid_document_is_refused_with_the_schemas_reason(shared_data: Path) -> None:
    invalid = GOOD.replace(b"<Sync/>", b"")
    with pytest.raises(SchemaViolationError) as caught:
        decode_products(invalid, schema_dir=shared_data / "b2mml")
    assert caught.value.problems[0].startswith("line 8:")
    assert "Expected is ( {http://www.mesa.org/xml/B2MML-V0600}Sync )" in str(caught.value)


def test_a_bare_product_information_is_read() -> None:
    bare = b"""<ProductInformation xmlns="http://www.mesa.org/xml/B2MML-V0600">
      <ProductDefinition><ID>p1</ID><Description>P one</Description>
        <ProductProductionRule>shaft-s</ProductProductionRule></ProductDefinition>
    </ProductInformation>"""
    assert decode_products(bare) == [Product("p1", "P one", "shaft-s")]


def test_an_unknown_routing_refuses_the_whole_document() -> None:
    with pytest.raises(UnknownRoutingError, match="product 'shaft-s': unknown routing 'shaft-s'"):
        decode_products(GOOD, routings={"flange-m"})


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<ProductDefinition xmlns="http://www.mesa.org/xml/B2MML-V0600"><ID>&x;</ID></ProductDefinition>
"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ProductDefinition xmlns="http://www.mesa.org/xml/B2MML-V0600"><ID>&lol3;</ID></ProductDefinition>
"""


@pytest.mark.parametrize("data", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_entities_are_refused(data: bytes) -> None:
    with pytest.raises(ForbiddenXmlError):
        decode_products(data)


@pytest.mark.parametrize(
    ("old", "new", "error", "message"),
    [
        (b"<ProductProductionRule>flange-m</ProductProductionRule>", b"", MissingFieldError,
         "product 'flange-80': ProductProductionRule"),
        (b"<ID>shaft-s</ID>", b"<ID>flange-80</ID>", ErpDocumentError,
         "products ['flange-80'] appear more than once"),
        (b"SyncProductDefinition", b"CancelProductDefinition", UnsupportedDocumentError,
         "with the verb Sync, Process, Change"),
        (b"B2MML-V0600", b"B2MML", UnsupportedDocumentError, "V0701 has no ProductDefinition"),
        (b' releaseID="6.0"', b"", SchemaViolationError, "releaseID"),
        (b"<ID>shaft-s</ID>", b"<ID>" + b"s" * 65 + b"</ID>", ErpDocumentError,
         "longer than 64 characters"),
    ],
)  # fmt: skip
def test_a_wrong_document_names_the_reason(
    old: bytes, new: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("[", r"\[").replace("(", r"\(")):
        decode_products(GOOD.replace(old, new))


CSV = b"product_id,name,routing,counting\nflange-80,Flange 80,flange-m,\nshaft-s,,shaft-s,both\n"


def test_a_csv_gives_its_products() -> None:
    assert parse_product_csv(CSV, routings=ROUTINGS) == [
        Product("flange-80", "Flange 80", "flange-m"),
        Product("shaft-s", "shaft-s", "shaft-s", "both"),
    ]


def test_a_semicolon_csv_without_counting_is_read() -> None:
    data = b"\xef\xbb\xbfProduct_ID;Name;Routing\nflange-80;Flange 80;flange-m\n"
    assert parse_product_csv(data) == [Product("flange-80", "Flange 80", "flange-m")]


def test_wrong_csv_columns_are_named_on_the_header_row() -> None:
    with pytest.raises(CsvImportError) as caught:
        parse_product_csv(b"product,name,routing\nflange-80,Flange 80,flange-m\n")
    assert caught.value.problems == [
        "row 1 (header): missing columns ['product_id']; unknown columns ['product']; "
        "expected ['product_id', 'name', 'routing'] and optionally ['counting']"
    ]


def test_every_bad_csv_row_is_listed_with_its_number() -> None:
    data = CSV + b"gear-x,Gear X,gear,\nbolt,Bolt,shaft-s,robot\nflange-80,F,flange-m,\nx,y\n"
    with pytest.raises(CsvImportError) as caught:
        parse_product_csv(data, routings=ROUTINGS)
    assert caught.value.problems == [
        "row 4: product 'gear-x': unknown routing 'gear'",
        "row 5: product 'bolt': counting must be machine, operator, both or empty, not 'robot'",
        "row 6: product 'flange-80' is already in row 2",
        "row 7: 2 cells, the header has 4",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "the file is empty"), (b"product_id,name,routing\n", "no products"),
     (b"product_id,name,routing\n\xff,x,y\n", "not UTF-8")],
)  # fmt: skip
def test_an_empty_or_undecodable_csv_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(CsvImportError, match=message):
        parse_product_csv(data)


@pytest.fixture
def plant(tmp_path: Path) -> Path:
    for name in ("plantos.yaml", "mom.yaml"):
        shutil.copy(DEMO_PLANT.parent / name, tmp_path / name)
    return tmp_path / "plantos.yaml"


def test_cli_imports_products_all_or_none(plant: Path, tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "300"})
    data = str(tmp_path / "data")
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,name,routing\nflange-80,Flange 80,flange-m\ngear-x,Gear,gear\n")
    args = ["-c", str(plant), "--data-dir", data]
    result = runner.invoke(app, ["erp", "import-products", str(bad), *args])
    assert result.exit_code == 1 and "row 3: product 'gear-x': unknown routing 'gear'" in (
        result.output
    )
    xml = tmp_path / "products.xml"
    xml.write_bytes(GOOD)
    result = runner.invoke(app, ["erp", "import-products", str(xml), *args])
    assert result.exit_code == 0, result.output
    assert "2 product(s)" in result.output and "1 created, 1 updated, 0 unchanged" in result.output
    result = runner.invoke(app, ["orders", "master", *args])
    assert "flange-80" in result.output  # the refused file stored nothing, the good one all
    result = runner.invoke(app, ["erp", "import-products", str(xml), *args])
    assert "0 created, 0 updated, 2 unchanged" in result.output


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "erp-integration.md"


def guide_block(start: str) -> bytes:
    """The guide's code block that begins with ``start``."""
    [block] = re.findall(rf"```\w*\n({re.escape(start)}.*?)```", GUIDE.read_text(), re.DOTALL)
    return block.encode()


def test_the_guides_examples_are_what_plantos_reads(shared_data: Path) -> None:
    flange = Product("flange-80", "Flange 80", "flange-m")
    document = guide_block('<?xml version="1.0" encoding="UTF-8"?>\n<SyncProductDefinition')
    assert decode_products(document, schema_dir=shared_data / "b2mml") == [
        flange, Product("shaft-s", "Drive shaft S", "shaft-s"),
    ]  # fmt: skip
    assert parse_product_csv(guide_block("product_id,name,routing,counting")) == [
        flange, Product("shaft-s", "Drive shaft S", "shaft-s", "both"),
    ]  # fmt: skip
