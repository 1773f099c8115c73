"""Say what failed when a session cannot be opened: OPC UA stacks answer a security
problem with a closed socket, a timeout or ``BadTcpInternalError``, which names nothing.

:func:`explain` runs after a failed connect. It asks the server for its endpoints over an
unsecured channel (GetEndpoints is open to everyone, OPC 10000-4, 5.4.4) and compares them
with what PlantOS asked for: a security policy and mode the server does not offer, a
server certificate that is not the pinned one, or a server that refused this client's
certificate (said with a status code, or by hanging up on a secure channel whose policy
and server certificate are right). When none of these explains the failure, the
original error stands.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto import uacrypto
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from plantos.core import quality
from plantos.core.errors import PlantOSError
from plantos.edge.opcua.config import SecuritySpec

_POLICY_PREFIX = "http://opcfoundation.org/UA/SecurityPolicy#"
_POLICY_URIS = {
    "None": f"{_POLICY_PREFIX}None",
    "Basic256Sha256": f"{_POLICY_PREFIX}Basic256Sha256",
    "Aes128Sha256RsaOaep": f"{_POLICY_PREFIX}Aes128_Sha256_RsaOaep",
    "Aes256Sha256RsaPss": f"{_POLICY_PREFIX}Aes256_Sha256_RsaPss",
}
_MODES = {
    ua.MessageSecurityMode.None_: "None",
    ua.MessageSecurityMode.Sign: "Sign",
    ua.MessageSecurityMode.SignAndEncrypt: "SignAndEncrypt",
}
_CLIENT_REFUSED = frozenset(
    name
    for name in dir(StatusCodes)
    if name.startswith("BadCertificate")
    or name in ("BadSecurityChecksFailed", "BadIdentityTokenRejected")
)
"""Status codes with which a server refuses the client's certificate."""


class OpcUaSecurityError(PlantOSError):
    """The session failed for a security reason this message names."""


async def explain(
    endpoint: str, security: SecuritySpec, error: BaseException, *, timeout_s: float
) -> BaseException:
    """The error to report for a failed connect: an :class:`OpcUaSecurityError` naming
    the cause when one is found, else ``error`` itself."""
    refused = _status_name(error)
    if refused in _CLIENT_REFUSED and security.policy != "None":
        return OpcUaSecurityError(await _client_refused(security, refused))
    try:
        endpoints = await asyncio.wait_for(
            Client(endpoint, timeout=timeout_s).connect_and_get_server_endpoints(), timeout_s * 2
        )
    except Exception:
        return error  # the server cannot even be asked: the original error says more
    reason = await security_mismatch(security, endpoints)
    if reason is not None:
        return OpcUaSecurityError(reason)
    if security.policy != "None" and isinstance(error, OSError | TimeoutError):
        # policy and pin are right and the server answers in clear, yet it hung up on the
        # secure channel: what is left is its verdict on our certificate (node-opcua, for
        # one, just closes the connection)
        return OpcUaSecurityError(await _client_refused(security, None))
    return error


async def security_mismatch(
    security: SecuritySpec, endpoints: Sequence[ua.EndpointDescription]
) -> str | None:
    """Why ``security`` cannot work with a server offering ``endpoints``, or None."""
    wanted_mode = "None" if security.policy == "None" else security.mode
    offered = [(e.SecurityPolicyUri, _MODES.get(e.SecurityMode, "?"), e) for e in endpoints]
    matching = [
        e
        for uri, mode, e in offered
        if uri == _POLICY_URIS[security.policy] and mode == wanted_mode
    ]
    if not matching:
        names = sorted({f"{uri.removeprefix(_POLICY_PREFIX)}/{mode}" for uri, mode, _ in offered})
        return (
            f"the server does not offer security policy {security.policy} with mode "
            f"{wanted_mode}; it offers {', '.join(names) or 'no endpoints'}"
        )
    if security.server_certificate is None:
        return None
    pinned = await uacrypto.load_certificate(str(security.server_certificate))
    pinned_der = pinned.public_bytes(Encoding.DER)
    served = [bytes(e.ServerCertificate or b"") for e in matching]
    if pinned_der in served:
        return None
    actual = x509.load_der_x509_certificate(served[0]) if served[0] else None
    shown = "none" if actual is None else _describe(actual)
    return (
        f"the server's certificate ({shown}) is not the pinned one "
        f"({_describe(pinned)}, from {security.server_certificate}): replace "
        "server_certificate if the server's certificate was renewed on purpose"
    )


async def _client_refused(security: SecuritySpec, status: str | None) -> str:
    own = "?"
    if security.certificate is not None:
        own = _describe(await uacrypto.load_certificate(str(security.certificate)))
    shown = f"{own}, from {security.certificate}"
    if status is None:
        return (
            "the server closed the secure channel although it offers this policy and its "
            f"certificate is the pinned one: it does not trust this client's certificate "
            f"({shown}); add it to the server's trusted certificates"
        )
    return (
        f"the server refused this client's certificate ({shown}) with {status}: "
        "add it to the server's trusted certificates"
    )


def _status_name(error: BaseException) -> str | None:
    if isinstance(error, UaStatusCodeError):
        return quality.name(int(error.code))
    return None


def _describe(certificate: x509.Certificate) -> str:
    """Subject and SHA-1 thumbprint, the two things an OPC UA server's UI shows."""
    der = certificate.public_bytes(Encoding.DER)
    thumbprint = hashlib.sha1(der, usedforsecurity=False).hexdigest()
    return f"{certificate.subject.rfc4514_string()}, SHA-1 {thumbprint}"
