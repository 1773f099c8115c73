"""XML from outside PlantOS (an MTConnect agent, a file someone uploads), parsed safely.

defusedxml refuses DTDs, entity declarations and external references (billion laughs,
XXE) before any of them is expanded, in whatever encoding the document is written: expat
reads UTF-8, UTF-16 and Latin-1 itself, and any other encoding Python knows (UTF-32,
Shift_JIS, Windows-1252, ...) is decoded by Python first and handed to expat as UTF-8, so
no encoding slips a DTD past the check. Text (``str``) is refused: its original encoding
is already lost. Every failure is an :class:`UntrustedXmlError` saying why.
"""

from __future__ import annotations

import codecs
import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from plantos.core.errors import PlantOSError

_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_UTF32 = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"))
_UTF16 = ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class UntrustedXmlError(PlantOSError):
    """A document from outside is too large, not well-formed, or uses a forbidden feature."""


class ForbiddenXmlError(UntrustedXmlError):
    """The document declares a DTD or an entity, or references an external resource."""


def parse_untrusted(data: bytes, *, max_bytes: int) -> Element:
    """The root element of ``data``; :class:`UntrustedXmlError` naming what is wrong."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"an XML document must be bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise UntrustedXmlError(f"the document has {len(data)} bytes, more than {max_bytes}")
    data = bytes(data)
    if data.startswith(tuple(bom for bom, _ in _UTF32)):
        return _parse(_as_utf8(data))  # expat would take the BOM for UTF-16's
    try:
        return _parse(data)
    except ValueError as exc:
        if "multi-byte encodings are not supported" not in str(exc):
            raise UntrustedXmlError(f"cannot decode the document: {exc}") from exc
    return _parse(_as_utf8(data))


def _as_utf8(data: bytes) -> bytes:
    """``data`` re-encoded as UTF-8 with its declaration's encoding removed."""
    name = next((n for bom, n in _UTF32 + _UTF16 if data.startswith(bom)), None)
    if name is None:
        declared = _DECLARED.match(data.lstrip(codecs.BOM_UTF8))
        if declared is None:
            raise UntrustedXmlError("cannot tell the document's encoding")
        name = declared.group(1).decode("ascii")
    try:
        text = data.decode(name)
    except (LookupError, UnicodeDecodeError) as exc:
        raise UntrustedXmlError(f"cannot decode the document as {name}: {exc}") from exc
    text = re.sub(r"""^\ufeff?(<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""", r"\1", text)
    return text.encode("utf-8")


def _parse(data: bytes) -> Element:
    try:
        root: Element = safe_et.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
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
        raise UntrustedXmlError(f"not well-formed XML at line {line}, column {column}") from exc
    except LookupError as exc:  # an encoding Python does not know
        raise UntrustedXmlError(f"cannot decode the document: {exc}") from exc
    return root
