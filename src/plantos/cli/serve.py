"""``plantos serve``: run the platform for a plant file, with its API and web UI.

On the first start it creates the administrator with a one-time password, shown on a
terminal only; without a terminal (a service manager, a container) the password goes to a
file in the data directory that only the owner may read, never to a log. With
``--tls-cert``/``--tls-key`` the server speaks HTTPS only (HSTS on, cookies ``Secure``);
``--tls-client-ca`` also asks every client for a certificate from that CA (mutual TLS).
"""

from __future__ import annotations

import hashlib
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from plantos.cli.common import DEFAULT_DATA_DIR, console, reported_errors, setup_logging
from plantos.cli.stopping import FORCED_EXIT_CODE
from plantos.core.errors import PlantOSError
from plantos.security.bootstrap import ADMIN, ensure_admin

if TYPE_CHECKING:
    import uvicorn

    from plantos.app import Platform


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of the web server; with ``client_ca`` clients need a certificate it signed,
    and with ``client_crl`` one that the CRL does not list."""

    cert: Path
    key: Path
    client_ca: Path | None = None
    client_crl: Path | None = None

    def uvicorn_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)}
        if self.client_ca is not None:
            options |= {"ssl_ca_certs": str(self.client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
        return options


def tls_files(
    cert: Path | None, key: Path | None, client_ca: Path | None, client_crl: Path | None = None
) -> TlsFiles | None:
    """The TLS files from the options; both or neither of certificate and key."""
    if cert is None and key is None:
        if client_ca is not None or client_crl is not None:
            raise PlantOSError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise PlantOSError("--tls-cert and --tls-key go together")
    if client_crl is not None and client_ca is None:
        raise PlantOSError("--tls-client-crl needs --tls-client-ca")
    for path in (cert, key, client_ca, client_crl):
        if path is not None and not path.is_file():
            raise PlantOSError(f"no such file: {path}")
    return TlsFiles(cert, key, client_ca, client_crl)


def server_config(app: Any, host: str, port: int, tls: TlsFiles | None) -> uvicorn.Config:
    """The uvicorn configuration, loaded, with the client CRL checked when given."""
    import uvicorn

    options = tls.uvicorn_options() if tls else {}
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", **options)
    config.load()
    if tls is not None and tls.client_crl is not None and config.ssl is not None:
        config.ssl.load_verify_locations(cafile=str(tls.client_crl))
        config.ssl.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return config


def announce_credentials(platform: Platform, base_url: str, *, terminal: bool) -> None:
    """The first administrator's password (first start only) and a one-time sign-in link,
    both on a terminal only: a log keeps what it is given."""
    first = ensure_admin(
        platform.users, platform.audit, platform.settings.data_dir, terminal=terminal
    )
    if first is not None and first.password is not None:
        console.print(
            f"[bold]First administrator[/bold] {ADMIN!r}, password (shown only now):\n"
            f"  {first.password}",
            highlight=False,
            soft_wrap=True,
        )
    elif first is not None and first.file is not None:
        console.print(
            f"First administrator {ADMIN!r}: its password is in {first.file} "
            "(readable by its owner only; delete it after signing in)",
            highlight=False,
        )
    data_dir = platform.settings.data_dir
    if terminal:
        link = f"{base_url}/signin?token={platform.tokens.issue_signin()}"
        console.print(f"[bold green]Sign in:[/bold green] {link}", highlight=False, soft_wrap=True)
    else:
        console.print(
            f"Sign in with a password, or get a one-time link with "
            f"'plantos signin-link --data-dir {data_dir}'",
            highlight=False,
        )


def run_server(platform: Platform, host: str, port: int, *, tls: TlsFiles | None = None) -> None:
    """Serve until SIGINT or SIGTERM (then exit 0 once the platform has stopped); if a bus
    consumer gave up, stop and exit 1 so that a service manager restarts PlantOS (never a
    server that answers while its data path stalls)."""
    from sse_starlette.sse import AppStatus

    from plantos.app import create_app
    from plantos.cli.stoppable_server import StoppableServer

    scheme = "https" if tls else "http"
    config = platform.settings.config
    platform.audit.append(
        "plantos",
        "platform.start",
        str(config),
        config_sha256=hashlib.sha256(config.read_bytes()).hexdigest(),
        tls=tls is not None,
        mutual_tls=bool(tls and tls.client_ca),
    )
    server = StoppableServer(
        server_config(create_app(platform), host, port, tls),
        on_listening=lambda: announce_credentials(
            platform, f"{scheme}://{host}:{port}", terminal=sys.stderr.isatty()
        ),
    )
    platform.pipeline.on_failure(lambda _reason: server.stop())
    try:
        server.run()
    finally:
        AppStatus.should_exit = False  # the stream library's flag is process-wide
    if server.stops.forced:
        console.print("[red]forced stop[/red]: the platform was not shut down", highlight=False)
        raise typer.Exit(FORCED_EXIT_CODE)
    if platform.pipeline.failure is not None:
        console.print(
            f"[red]error[/red] {escape(platform.pipeline.failure)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def serve(
    config: Path = typer.Option(..., "--config", "-c", help="The plantos.yaml to run"),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Where the historian and tokens live"),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8080),
    tls_cert: Path | None = typer.Option(None, help="Server certificate (PEM): serve HTTPS"),
    tls_key: Path | None = typer.Option(None, help="Private key of --tls-cert (PEM)"),
    tls_client_ca: Path | None = typer.Option(
        None, help="CA (PEM) whose client certificates are required (mutual TLS)"
    ),
    tls_client_crl: Path | None = typer.Option(
        None, help="CRL (PEM) of --tls-client-ca: revoked client certificates are refused"
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also log the protocol libraries' INFO messages"
    ),
) -> None:
    """Serve the platform for a plant file."""
    from plantos.app import Platform, Settings

    setup_logging(verbose=verbose)
    with reported_errors():
        tls = tls_files(tls_cert, tls_key, tls_client_ca, tls_client_crl)
        platform = Platform(Settings(config=config, data_dir=data_dir, host=host, port=port))
    run_server(platform, host, port, tls=tls)
