"""XML from outside: DTDs, entities and external references refused in every encoding
(UTF-16 and UTF-32 included, where a byte search for '<!DOCTYPE' sees nothing), and no
input, however broken, makes a parser fail other than with its own error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantos.core.untrusted_xml import ForbiddenXmlError, UntrustedXmlError, parse_untrusted
from plantos.edge.mtconnect.documents import MTConnectError, parse_streams

BOMB = """<?xml version="1.0" encoding="{enc}"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<MTConnectStreams>&lol2;</MTConnectStreams>
"""
XXE = """<?xml version="1.0" encoding="{enc}"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><MTConnectStreams>&e;</MTConnectStreams>
"""
STREAMS = """<?xml version="1.0" encoding="{enc}"?>
<MTConnectStreams><Header creationTime="2024-01-01T00:00:00Z" instanceId="1" nextSequence="2"
 firstSequence="1" lastSequence="1"/><Streams/></MTConnectStreams>
"""
DOCTYPES = ["<!DOCTYPE a>", '<!DOCTYPE a SYSTEM "x.dtd">', "<!DOCTYPE a [<!ENTITY b 'c'>]>"]
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "shift_jis"]


def _encode(text: str, encoding: str) -> bytes:
    if encoding in ("utf-16-le", "utf-16-be"):
        bom = "\ufeff".encode(encoding)
        return bom + text.replace(f'encoding="{encoding}"', 'encoding="utf-16"').encode(encoding)
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("document", [BOMB, XXE])
def test_dtds_and_entities_are_refused_in_every_encoding(document: str, encoding: str) -> None:
    data = _encode(document.format(enc=encoding), encoding)
    if encoding.startswith("utf-16") or encoding == "utf-32":
        assert b"<!DOCTYPE" not in data  # a byte search would have let this through
    with pytest.raises(ForbiddenXmlError, match="refused"):
        parse_untrusted(data, max_bytes=1 << 20)
    with pytest.raises(MTConnectError, match="DOCTYPE"):
        parse_streams(data)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_clean_document_reads_the_same_in_every_encoding(encoding: str) -> None:
    data = _encode(STREAMS.format(enc=encoding), encoding)
    assert parse_untrusted(data, max_bytes=1 << 20).tag == "MTConnectStreams"
    assert parse_streams(data).header.instance_id == 1


def test_size_text_and_unknown_encodings_are_refused() -> None:
    with pytest.raises(UntrustedXmlError, match="more than 10"):
        parse_untrusted(b"<a>" + b" " * 20 + b"</a>", max_bytes=10)
    with pytest.raises(TypeError):
        parse_untrusted("<a/>", max_bytes=100)  # type: ignore[arg-type]
    with pytest.raises(UntrustedXmlError, match="decode"):
        parse_untrusted(b'<?xml version="1.0" encoding="no-such"?><a/>', max_bytes=100)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: f"<a>{t}</a>".encode()))
def test_no_input_crashes_the_parsers(data: bytes) -> None:
    with contextlib.suppress(UntrustedXmlError):
        parse_untrusted(data, max_bytes=1 << 16)
    with contextlib.suppress(MTConnectError):
        parse_streams(data)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ENCODINGS),
    st.sampled_from(
        ["<!DOCTYPE a>", '<!DOCTYPE a SYSTEM "x.dtd">', "<!DOCTYPE a [<!ENTITY b 'c'>]>"]
    ),
    st.text(alphabet="abc <>/&;", max_size=30),
)
def test_any_doctype_is_refused_whatever_follows(encoding: str, doctype: str, tail: str) -> None:
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n{doctype}<a>{tail}</a>'
    with pytest.raises(UntrustedXmlError):
        parse_untrusted(_encode(text, encoding), max_bytes=1 << 16)
