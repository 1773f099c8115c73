"""The small XML vocabulary every B2MML encoder shares: namespaced elements, the BOD
envelope (``ApplicationArea`` + ``DataArea`` + verb), and how values are written
(UTC timestamps with ``Z``, numbers without a spurious ``.0``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from lxml import etree

from plantos.integration.erp.b2mml.versions import RELEASE_ID, Version

VERBS = ("Sync", "Process", "Change", "Cancel", "Show", "Get", "Acknowledge", "Respond")
"""The OAGIS verbs B2MML wraps its nouns in; PlantOS writes Sync (it owns the facts it
reports) and reads any of them."""


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: the form every ERP's B2MML parser accepts."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def number(value: float) -> str:
    """``12`` for whole numbers, otherwise the shortest exact decimal, never in exponent
    form (``0.1``, ``0.00001``): ERP parsers and ``xsd:decimal`` both want plain digits."""
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


class Doc:
    """Element factory bound to one version's namespace."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.ns = version.namespace

    def el(
        self, parent: etree._Element | None, name: str, text: str | None = None, **attrs: str
    ) -> etree._Element:
        tag = f"{{{self.ns}}}{name}"
        if parent is None:
            node = etree.Element(tag, attrs, nsmap={None: self.ns})
        else:
            node = etree.SubElement(parent, tag, attrs)
        if text is not None:
            node.text = text
        return node

    def quantity(
        self, parent: etree._Element, value: float, unit: str, *, key: str | None = None
    ) -> None:
        """A ``Quantity`` with its unit; ``key`` tells same-material quantities apart."""
        q = self.el(parent, "Quantity")
        self.el(q, "QuantityString", number(value))
        self.el(q, "DataType", "Amount")
        self.el(q, "UnitOfMeasure", unit)
        if key is not None:
            self.el(q, "Key", key)

    def value(self, parent: etree._Element, name: str, ident: str, text: str) -> None:
        """A named ``ID``/``Value`` pair (ProductionData, SegmentData): shift, final flag."""
        node = self.el(parent, name)
        self.el(node, "ID", ident)
        v = self.el(node, "Value")
        self.el(v, "ValueString", text)
        self.el(v, "DataType", "string")

    def envelope(
        self, noun: str, *, verb: str, sender: str, created: datetime, bod_id: UUID
    ) -> tuple[etree._Element, etree._Element]:
        """The BOD ``<{verb}{noun}>`` root and its ``DataArea`` (the verb element already
        in it); ``bod_id`` is the message's idempotency key, which an ERP keys
        duplicate detection on."""
        if verb not in VERBS:
            raise ValueError(f"verb must be one of {VERBS}, got {verb!r}")
        root = self.el(None, f"{verb}{noun}", releaseID=RELEASE_ID[self.version])
        area = self.el(root, "ApplicationArea")
        self.el(self.el(area, "Sender"), "LogicalID", sender)
        self.el(area, "CreationDateTime", timestamp(created))
        self.el(area, "BODID", str(bod_id))
        data = self.el(root, "DataArea")
        self.el(data, verb)
        return root, data


def serialise(root: etree._Element) -> bytes:
    """UTF-8 with an XML declaration, indented so a person can read a dropped file."""
    etree.indent(root, space="  ")
    body = etree.tostring(root, xml_declaration=False, encoding="UTF-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(body) + b"\n"
