"""A real Mosquitto MQTT broker for tests: ``/usr/sbin/mosquitto`` on a free local port,
optionally with a TLS listener and a password file."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"


def mosquitto_binary() -> str | None:
    """The broker binary, or None when it is not installed."""
    if Path(MOSQUITTO).is_file():
        return MOSQUITTO
    return shutil.which("mosquitto")


def mosquitto_passwd_binary() -> str | None:
    """The password-file tool, or None when it is not installed."""
    if Path(MOSQUITTO_PASSWD).is_file():
        return MOSQUITTO_PASSWD
    return shutil.which("mosquitto_passwd")


@dataclass(frozen=True)
class ListenerTls:
    """PEM files for a TLS listener; with ``require_certificate`` clients must present a
    certificate signed by ``ca_file`` (mutual TLS)."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_certificate: bool = False
    crl_file: Path | None = None


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    process: subprocess.Popen[bytes]


def _config(
    port: int,
    tls: ListenerTls | None,
    users: dict[str, str] | None,
    workdir: Path,
    unbounded_queues: bool,
) -> str:
    # started as root, mosquitto would switch to user "mosquitto", which cannot read workdir
    lines = [f"listener {port} 127.0.0.1", "persistence false", f"user {getpass.getuser()}"]
    if unbounded_queues:
        lines += ["max_inflight_messages 0", "max_queued_messages 0", "max_queued_bytes 0"]
    if tls is not None:
        lines += [
            f"cafile {tls.ca_file}",
            f"certfile {tls.cert_file}",
            f"keyfile {tls.key_file}",
            f"require_certificate {str(tls.require_certificate).lower()}",
        ]
        if tls.crl_file is not None:
            lines.append(f"crlfile {tls.crl_file}")
    if users is None:
        lines.append("allow_anonymous true")
    else:
        tool = mosquitto_passwd_binary()
        if tool is None:
            raise FileNotFoundError("mosquitto_passwd is not installed")
        passwords = workdir / "passwords"
        passwords.touch(mode=0o600)
        for user, password in users.items():
            subprocess.run([tool, "-b", str(passwords), user, password], check=True, timeout=10)
        lines += ["allow_anonymous false", f"password_file {passwords}"]
    return "\n".join(lines) + "\n"


@contextmanager
def running_mosquitto(
    workdir: Path,
    *,
    timeout_s: float = 10.0,
    tls: ListenerTls | None = None,
    users: dict[str, str] | None = None,
    unbounded_queues: bool = False,
) -> Iterator[Broker]:
    """Start Mosquitto with a minimal config in ``workdir``; stop it on exit. ``tls`` makes
    the listener TLS-only; ``users`` (name to password) turns anonymous access off;
    ``unbounded_queues`` lifts the per-client queue limits (a benchmark must not measure
    the broker dropping what a slow subscriber has not read)."""
    binary = mosquitto_binary()
    if binary is None:
        raise FileNotFoundError("mosquitto is not installed")
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(_config(port, tls, users, workdir, unbounded_queues))
    logfile = (workdir / "mosquitto.log").open("wb")
    proc = subprocess.Popen([binary, "-c", str(config)], stdout=logfile, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {proc.returncode}: "
                    + (workdir / "mosquitto.log").read_text(errors="replace")
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen on {port}") from None
                time.sleep(0.05)
        yield Broker("127.0.0.1", port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        logfile.close()
