"""Reading XML that came from outside: defusedxml refuses DTDs, entity declarations and
external references (billion laughs, XXE) before any of them is expanded, and every
failure becomes a :class:`~plantos.integration.erp.errors.ErpDocumentError` saying why.

The parser reads the encoding from the byte-order mark or the XML declaration, so UTF-8,
UTF-16 (either byte order) and Latin-1 documents all work; text (``str``) is refused,
because its original encoding is already lost.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from plantos.integration.erp.errors import ErpDocumentError, ForbiddenXmlError, MalformedXmlError

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
"""Beyond this a document is refused before parsing; ERP schedules are far smaller."""


def parse_untrusted(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Element:
    """The root element of ``data``, or a specific ErpDocumentError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"an XML document must be bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise ErpDocumentError(f"the document has {len(data)} bytes, more than {max_bytes}")
    try:
        root: Element = safe_et.fromstring(
            bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DTDForbidden as exc:
        raise ForbiddenXmlError(f"the document declares a DTD ({exc.name}); refused") from exc
    except defusedxml.EntitiesForbidden as exc:
        raise ForbiddenXmlError(f"the document declares the entity {exc.name!r}; refused") from exc
    except defusedxml.ExternalReferenceForbidden as exc:
        raise ForbiddenXmlError(
            f"the document references an external resource {exc.sysid!r}; refused"
        ) from exc
    except defusedxml.DefusedXmlException as exc:
        raise ForbiddenXmlError(f"the document uses a forbidden XML feature: {exc}") from exc
    except ParseError as exc:
        line, column = exc.position
        raise MalformedXmlError(f"not well-formed XML at line {line}, column {column}") from exc
    except (LookupError, ValueError) as exc:  # an unknown or inconsistent encoding
        raise MalformedXmlError(f"cannot decode the document: {exc}") from exc
    return root
