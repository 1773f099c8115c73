"""Reading XML that came from an ERP: the platform's one safe parser
(:mod:`plantos.core.untrusted_xml`: no DTDs, entities or external references, in any
encoding), with its refusals told as :class:`~plantos.integration.erp.errors.ErpDocumentError`
so that an inbound exchange reports them like any other bad document.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from plantos.core import untrusted_xml
from plantos.integration.erp.errors import ErpDocumentError, ForbiddenXmlError, MalformedXmlError

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
"""Beyond this a document is refused before parsing; ERP schedules are far smaller."""


def parse_untrusted(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Element:
    """The root element of ``data``, or a specific ErpDocumentError."""
    if isinstance(data, bytes | bytearray | memoryview) and len(data) > max_bytes:
        raise ErpDocumentError(f"the document has {len(data)} bytes, more than {max_bytes}")
    try:
        return untrusted_xml.parse_untrusted(data, max_bytes=max_bytes)
    except untrusted_xml.ForbiddenXmlError as exc:
        raise ForbiddenXmlError(str(exc)) from exc
    except untrusted_xml.UntrustedXmlError as exc:
        raise MalformedXmlError(str(exc)) from exc
