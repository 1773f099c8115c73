"""``plantos pki``: a small CA for the plant's TLS and mutual TLS (see docs/security.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from plantos.cli.common import console, reported_errors
from plantos.core.errors import PlantOSError
from plantos.security.stores import SecurityStores, shell_actor

app = typer.Typer(help="Certificates: a CA, server and client certificates, revocation.")

DATA_DIR = typer.Option(Path("data"), help="Data directory of the platform")
PKI_DIR = typer.Option(None, "--dir", help="Where the CA lives (default: DATA_DIR/pki)")

if TYPE_CHECKING:
    from plantos.security.pki import Pki


def _pki(data_dir: Path, folder: Path | None) -> Pki:
    from plantos.security.pki import Pki

    return Pki(folder or data_dir / "pki")


@app.command("init")
def init(data_dir: Path = DATA_DIR, folder: Path | None = PKI_DIR,
         name: str = typer.Option("PlantOS CA", help="The CA's common name")) -> None:  # fmt: skip
    """Make the CA (once)."""
    with reported_errors():
        try:
            ca = _pki(data_dir, folder).init(common_name=name)
        except FileExistsError as exc:
            raise PlantOSError(str(exc)) from None
        SecurityStores.open(data_dir).audit.append(shell_actor(), "pki.init", str(ca))
    console.print(f"CA certificate: {ca}", highlight=False)


@app.command("issue")
def issue(
    name: str = typer.Argument(..., help="Certificate name (a client's identity)"),
    kind: str = typer.Option("client", help="server or client"),
    host: list[str] = typer.Option([], help="DNS name or IP of a server (repeatable)"),
    data_dir: Path = DATA_DIR,
    folder: Path | None = PKI_DIR,
) -> None:
    """Issue a key and certificate signed by the CA."""
    with reported_errors():
        try:
            issued = _pki(data_dir, folder).issue(name, kind=kind, hosts=tuple(host))
        except (FileExistsError, FileNotFoundError) as exc:
            raise PlantOSError(str(exc)) from None
        SecurityStores.open(data_dir).audit.append(
            shell_actor(), "pki.issue", name, kind=kind, serial=str(issued.serial), hosts=host
        )
    console.print(f"certificate {issued.cert}\nkey {issued.key} (owner only)", highlight=False)


@app.command("revoke")
def revoke(name: str = typer.Argument(...), data_dir: Path = DATA_DIR,
           folder: Path | None = PKI_DIR) -> None:  # fmt: skip
    """Revoke a certificate and re-sign the CRL (give the broker and PlantOS the new CRL)."""
    with reported_errors():
        pki = _pki(data_dir, folder)
        try:
            serial = pki.revoke(name)
        except (LookupError, FileNotFoundError) as exc:
            raise PlantOSError(str(exc).strip('"')) from None
        SecurityStores.open(data_dir).audit.append(
            shell_actor(), "pki.revoke", name, serial=str(serial)
        )
    console.print(f"revoked {name} (serial {serial}); CRL: {pki.crl}", highlight=False)


@app.command("crl")
def crl(data_dir: Path = DATA_DIR, folder: Path | None = PKI_DIR) -> None:
    """Re-sign the CRL (it lasts 30 days: run this from a timer)."""
    with reported_errors():
        try:
            path = _pki(data_dir, folder).write_crl()
        except FileNotFoundError as exc:
            raise PlantOSError(str(exc)) from None
    console.print(f"CRL: {path}", highlight=False)
