"""A small certificate authority for one plant: server certificates for PlantOS and the
broker, client certificates for edge gateways and connectors (mutual TLS), and a CRL.

Keys are elliptic-curve (P-384 for the CA, P-256 for the rest: strong, small and fast on
edge hardware). The CA lives ten years and may sign only end certificates; an end
certificate lives 397 days, the longest browsers accept, so renewal is a yearly habit. The
CRL is re-signed on every revocation and lasts 30 days: re-run ``plantos pki crl`` from a
timer before then, or clients that check it refuse everyone.

Layout of the folder: ``ca.pem``, ``ca.key``, ``crl.pem``, ``index.json`` (every issued
certificate by name, with serial and revocation), and ``<name>.pem``/``<name>.key``.
Private keys are written readable by their owner only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 397
CRL_DAYS = 30
KINDS = ("server", "client")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True, slots=True)
class Issued:
    name: str
    kind: str
    serial: int
    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=not ca, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


class Pki:
    """The CA in ``folder``: :meth:`init` once, then :meth:`issue` and :meth:`revoke`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def crl(self) -> Path:
        return self.folder / "crl.pem"

    def init(self, *, common_name: str = "PlantOS CA") -> Path:
        """Make the CA (refused if one exists: a new CA would orphan every certificate)."""
        if self.ca_cert.exists():
            raise FileExistsError(f"a CA exists already in {self.folder}")
        self.folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP384R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA384())
        )
        _write_key(self.folder / "ca.key", key)
        self.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._save_index({})
        self.write_crl()
        return self.ca_cert

    def _ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        if not self.ca_cert.exists():
            raise FileNotFoundError(f"no CA in {self.folder}: run 'plantos pki init' first")
        cert = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        key = serialization.load_pem_private_key((self.folder / "ca.key").read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the CA key is not an elliptic-curve key")
        return cert, key

    def _index(self) -> dict[str, dict[str, Any]]:
        index: dict[str, dict[str, Any]] = json.loads((self.folder / "index.json").read_text())
        return index

    def _save_index(self, index: dict[str, dict[str, Any]]) -> None:
        (self.folder / "index.json").write_text(json.dumps(index, indent=2) + "\n")

    def issue(self, name: str, *, kind: str, hosts: tuple[str, ...] = ()) -> Issued:
        """A key and certificate named ``name`` for a server (``hosts``: its DNS names
        and IP addresses) or a client (the name is its identity, e.g. ``edge-plant-a``)."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"certificate name {name!r}: letters, digits, '_', '-', '.'")
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r}: server or client")
        if kind == "server" and not hosts:
            raise ValueError("a server certificate needs at least one --host")
        ca_cert, ca_key = self._ca()
        index = self._index()
        if name in index and index[name].get("revoked") is None:
            raise FileExistsError(f"{name!r} is issued already: revoke it first")
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        usage = (
            ExtendedKeyUsageOID.SERVER_AUTH
            if kind == "server"
            else (ExtendedKeyUsageOID.CLIENT_AUTH)
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName(_sans(hosts)), False)
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_path, key_path = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        _write_key(key_path, key)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        index[name] = {"kind": kind, "serial": str(cert.serial_number), "revoked": None}
        self._save_index(index)
        return Issued(name, kind, cert.serial_number, cert_path, key_path)

    def revoke(self, name: str) -> int:
        """Revoke ``name``'s certificate and re-sign the CRL; returns its serial."""
        index = self._index()
        entry = index.get(name)
        if entry is None:
            raise LookupError(f"no certificate {name!r} was issued here")
        if entry["revoked"] is not None:
            raise ValueError(f"{name!r} is revoked already")
        entry["revoked"] = _now().isoformat()
        self._save_index(index)
        self.write_crl()
        return int(entry["serial"])

    def write_crl(self) -> Path:
        """Sign a fresh CRL with every revoked serial, valid :data:`CRL_DAYS`."""
        ca_cert, ca_key = self._ca()
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=CRL_DAYS))
        )
        for entry in self._index().values():
            if entry["revoked"] is not None:
                revoked = (
                    x509.RevokedCertificateBuilder()
                    .serial_number(int(entry["serial"]))
                    .revocation_date(dt.datetime.fromisoformat(entry["revoked"]))
                    .build()
                )
                builder = builder.add_revoked_certificate(revoked)
        crl = builder.sign(ca_key, hashes.SHA384())
        self.crl.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return self.crl


def _sans(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names
