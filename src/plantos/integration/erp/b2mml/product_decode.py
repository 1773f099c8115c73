"""Reading products (master data) from an ERP's V0600 ``ProductDefinition`` document:
bare, inside a ``ProductInformation``, or wrapped in a ``Sync``, ``Process`` or
``Change`` BOD verb.

The mapping (docs/erp-integration.md, "Products from B2MML and CSV"): ``ID`` is the
product id, the first ``Description`` its name (the id when there is none), and
``ProductProductionRule`` its routing: in ISA-95 the production rule names how the
product is made, which is what a PlantOS routing is (a ``ProductSegment``'s
``ProcessSegmentID`` names only one step of it). ``Cancel`` is refused: PlantOS never
deletes products from a message. V0701 has no product definition (its
``OperationsDefinition`` describes a routing, with the product only as a material),
so it is refused with that reason rather than guessed at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path
from xml.etree.ElementTree import Element

from plantos.integration.erp.b2mml.untrusted import parse_untrusted
from plantos.integration.erp.b2mml.validate import validate_against
from plantos.integration.erp.b2mml.versions import Version
from plantos.integration.erp.errors import (
    ErpDocumentError,
    MissingFieldError,
    SchemaViolationError,
    UnsupportedDocumentError,
)
from plantos.integration.erp.products_import import (
    UnknownRoutingError,
    product_of,
    unknown_routing,
)
from plantos.mom.domain.master import Product
from plantos.mom.errors import MasterDataError

VERBS = ("Sync", "Process", "Change")
"""The verbs that state products; the others ask (Get), answer (Show, Respond,
Acknowledge) or delete (Cancel), none of which PlantOS applies to its master data."""
_NOUNS = ("ProductDefinition", "ProductInformation")
_NS = f"{{{Version.V0600.namespace}}}"
SCHEMA_FILE = "B2MML-V0600-ProductDefinition.xsd"


def decode_products(
    data: bytes, *, schema_dir: Path | None = None, routings: Collection[str] | None = None
) -> list[Product]:
    """The products a document defines, in document order; with ``schema_dir`` the
    document must also validate against MESA's V0600 XSD, with ``routings`` (the
    plant's) every product's routing must be one of them. Raises an ErpDocumentError
    subclass naming the reason (nothing is returned half-read)."""
    root = parse_untrusted(data)
    noun, verb = _identify(root)
    if schema_dir is not None:
        validate_against(data, schema_dir / Version.V0600.folder / SCHEMA_FILE)
    nouns = [root] if verb is None else root.findall(f"{_NS}DataArea/{_NS}{noun}")
    if not nouns:
        raise MissingFieldError(f"{root.tag}: no DataArea/{noun}")
    definitions = [d for n in nouns for d in ([n] if noun == "ProductDefinition" else _children(n))]
    if not definitions:
        raise MissingFieldError("the document defines no product (no ProductDefinition)")
    products = [_product(d) for d in definitions]
    twice = sorted(i for i, n in Counter(p.id for p in products).items() if n > 1)
    if twice:
        raise ErpDocumentError(f"products {twice} appear more than once in the document")
    unknown = [why for p in products if (why := unknown_routing(p, routings)) is not None]
    if unknown:
        raise UnknownRoutingError("; ".join(unknown))
    return products


def _identify(root: Element) -> tuple[str, str | None]:
    """The noun and the verb (None: a bare noun) of the document's root."""
    namespace, name = ("", root.tag)
    if root.tag.startswith("{"):
        namespace, _, name = root.tag[1:].partition("}")
    if namespace == Version.V0701.namespace:
        raise UnsupportedDocumentError(
            "B2MML V0701 has no ProductDefinition (its OperationsDefinition describes a "
            "routing, not a product); send products as a V0600 ProductDefinition or as CSV"
        )
    if namespace != Version.V0600.namespace:
        raise UnsupportedDocumentError(
            f"namespace {namespace!r} is not B2MML V0600 ({Version.V0600.namespace})"
        )
    if name in _NOUNS:
        return name, None
    for noun in _NOUNS:
        verb = name.removesuffix(noun)
        if verb != name and verb in VERBS:
            if root.get("releaseID") is None:
                raise SchemaViolationError(
                    [f"{name}: the attribute 'releaseID' is required but missing"]
                )
            return noun, verb
    raise UnsupportedDocumentError(
        f"root element {name!r} is not a V0600 ProductDefinition or ProductInformation "
        f"(bare or with the verb {', '.join(VERBS)})"
    )


def _children(information: Element) -> list[Element]:
    return information.findall(f"{_NS}ProductDefinition")


def _text(parent: Element, name: str) -> str | None:
    node = parent.find(f"{_NS}{name}")
    if node is None or node.text is None or not node.text.strip():
        return None
    return node.text.strip()


def _product(definition: Element) -> Product:
    product_id = _text(definition, "ID")
    if product_id is None:
        raise MissingFieldError("ProductDefinition: ID is missing or empty")
    routing = _text(definition, "ProductProductionRule")
    if routing is None:
        raise MissingFieldError(
            f"product {product_id!r}: ProductProductionRule (the routing that makes it) "
            "is missing or empty"
        )
    try:
        return product_of(product_id, _text(definition, "Description"), routing)
    except MasterDataError as exc:
        raise ErpDocumentError(str(exc)) from exc
