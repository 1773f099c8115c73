"""Checking a document against the official B2MML XSDs in a schema folder (MESA's
release layout: ``<folder>/v0600/B2MML-V0600-*.xsd``, ``<folder>/v0701/B2MML-*.xsd``).

Schemas are compiled once per file and kept; compiling V0701 costs tens of
milliseconds, validating a document far less. Only call this on bytes that
:func:`~plantos.integration.erp.b2mml.untrusted.parse_untrusted` accepted (or that
PlantOS wrote): the lxml parser here is hardened too, but defusedxml is the gate.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from plantos.integration.erp.b2mml.versions import SCHEMA_FILES, MessageKind, Version
from plantos.integration.erp.errors import (
    ErpDocumentError,
    MalformedXmlError,
    SchemaViolationError,
)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def schema_path(schema_dir: Path, version: Version, kind: MessageKind) -> Path:
    """Where the XSD for ``kind`` in ``version`` lives under ``schema_dir``."""
    return schema_dir / version.folder / SCHEMA_FILES[(version, kind)]


@lru_cache(maxsize=16)
def _schema(path: Path) -> etree.XMLSchema:
    if not path.is_file():
        raise ErpDocumentError(f"B2MML schema {path} is missing")
    return etree.XMLSchema(etree.parse(str(path)))


def validate_document(
    data: bytes, *, schema_dir: Path, version: Version, kind: MessageKind
) -> None:
    """Raise :class:`SchemaViolationError` listing each violation (with its line) when
    ``data`` does not validate against the XSD of ``kind`` in ``version``."""
    validate_against(data, schema_path(schema_dir, version, kind))


def validate_against(data: bytes, xsd: Path) -> None:
    """:func:`validate_document` for any XSD file, also of a message PlantOS only reads
    (:class:`~.versions.MessageKind` lists those it writes): the same hardened parser and
    schema cache, the same errors."""
    schema = _schema(xsd.resolve())
    try:
        document = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedXmlError(f"not well-formed XML: {exc}") from exc
    if not schema.validate(document):
        raise SchemaViolationError([f"line {e.line}: {e.message}" for e in schema.error_log])
