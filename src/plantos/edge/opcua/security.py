"""How a PlantOS OPC UA client logs in: the message security of :class:`SecuritySpec` and
an optional user, applied to an asyncua client before it connects. One function for the
connector and for ``plantos browse``, so an engineer browses a server exactly as the
connector will later talk to it."""

from __future__ import annotations

import os

from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto import security_policies, uacrypto
from cryptography import x509

from plantos.edge.opcua.config import SecuritySpec


async def apply_login(
    client: Client,
    security: SecuritySpec,
    *,
    user: str | None = None,
    password: str | None = None,
) -> None:
    """Set user and security on a client that has not connected yet; ValueError names a
    missing file or password variable."""
    if user is not None:
        client.set_user(user)
        client.set_password(password or "")
    if security.policy == "None":
        return
    if (
        security.certificate is None
        or security.private_key is None
        or security.server_certificate is None
    ):
        raise ValueError(f"policy {security.policy} needs certificate files")
    key_password = (
        None
        if security.private_key_password_env is None
        else env_secret(security.private_key_password_env, "private key password")
    )
    certificate = await uacrypto.load_certificate(str(security.certificate))
    client.application_uri = application_uri(certificate) or client.application_uri
    await client.set_security(
        getattr(security_policies, f"SecurityPolicy{security.policy}"),
        str(security.certificate),
        str(security.private_key),
        key_password,
        str(security.server_certificate),
        getattr(ua.MessageSecurityMode, security.mode),
    )


def env_secret(name: str, what: str) -> str:
    """A secret from the environment; secrets are never written in YAML or on a command line."""
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"{what}: environment variable {name} is not set")
    return value


def application_uri(certificate: x509.Certificate) -> str | None:
    """The application URI a certificate was issued for; the client must announce it."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None
