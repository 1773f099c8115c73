"""The security commands against the data directory of a running server: tokens issued,
used and revoked, users added who then sign in with a password, the audit chain verified
and its tampering named, and the first start that shows its secret nowhere but a file
only its owner may read."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_PLANT, REPO
from tests.support.server import RunningServer, free_port, running_server, wait_until

PASSWORD = "a long enough password"


def plantos(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantos.cli.main", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")},
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("cli")) as running:
        yield running


def _data(server: RunningServer) -> str:
    return str(server.platform.settings.data_dir)


def test_a_token_issued_from_the_shell_works_at_once_and_stops_when_revoked(
    server: RunningServer,
) -> None:
    issued = plantos(
        "token", "issue", "--role", "viewer", "--scope", "site-1", "--expires", "1h",
        "--name", "dashboard", "--data-dir", _data(server),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert re.fullmatch(r"pos_[\w-]{43}", token)
    headers = {"Authorization": f"Bearer {token}"}
    status = httpx.get(f"{server.url}/api/v1/status", headers=headers).json()
    assert (status["role"], status["scope"]) == ("viewer", "site-1")

    listed = plantos("token", "list", "--data-dir", _data(server))
    [row] = [line for line in listed.stdout.splitlines() if "dashboard" in line]
    token_id = row.split("\t")[0]
    assert token not in listed.stdout and "\tactive\t" in row

    revoked = plantos("token", "revoke", token_id, "--data-dir", _data(server))
    assert revoked.returncode == 0, revoked.stderr
    refused = httpx.get(f"{server.url}/api/v1/status", headers=headers)
    assert refused.status_code == 401 and refused.json()["detail"] == "token revoked"
    actions = [r.action for r in server.platform.audit.records(action="token.")]
    assert actions[-3:] == ["token.issue", "token.use", "token.revoke"]


def test_bad_token_options_are_refused_with_the_reason(server: RunningServer) -> None:
    bad = plantos("token", "issue", "--role", "root", "--data-dir", _data(server))
    assert bad.returncode == 1 and "unknown role 'root'" in bad.stderr and not bad.stdout
    bad = plantos("token", "issue", "--role", "viewer", "--expires", "soon",
                  "--data-dir", _data(server))  # fmt: skip
    assert bad.returncode == 1 and "not a duration" in bad.stderr


def test_a_user_added_from_the_shell_signs_in_with_a_password(server: RunningServer) -> None:
    added = plantos(
        "user", "add", "olga", "--role", "operator", "--scope", "site-1",
        "--data-dir", _data(server), stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    with httpx.Client(base_url=server.url) as browser:
        form = browser.get("/signin")
        login = re.search(r'name="login" value="([^"]+)"', form.text)
        assert login is not None
        signed = browser.post(
            "/signin", data={"username": "olga", "password": PASSWORD, "login": login[1]}
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get("/api/v1/status").json()["identity"] == "olga"
    users = plantos("user", "list", "--data-dir", _data(server)).stdout
    assert re.search(r"^olga\toperator\tsite-1\tactive\t", users, re.M)


def test_passwd_recovers_a_locked_account_and_is_audited(server: RunningServer) -> None:
    plantos("user", "add", "piet", "--role", "viewer", "--data-dir", _data(server),
            stdin=PASSWORD + "\n")  # fmt: skip
    users = server.platform.users
    for _ in range(5):
        with pytest.raises(Exception):  # noqa: B017 - AuthError, then LockedError
            users.authenticate("piet", "wrong guess")
    assert users.get("piet").locked_until_ns
    reset = plantos("user", "passwd", "piet", "--generate", "--data-dir", _data(server))
    assert reset.returncode == 0, reset.stderr
    assert users.authenticate("piet", reset.stdout.strip()).name == "piet"
    [record] = server.platform.audit.records(action="user.passwd")
    assert record.target == "piet" and record.actor.startswith("shell:")


def test_disable_ends_the_users_sessions(server: RunningServer) -> None:
    plantos("user", "add", "quin", "--role", "viewer", "--data-dir", _data(server),
            stdin=PASSWORD + "\n")  # fmt: skip
    session = server.platform.tokens.issue_session("quin", "viewer")
    assert plantos("user", "disable", "quin", "--data-dir", _data(server)).returncode == 0
    response = httpx.get(f"{server.url}/api/v1/status", cookies={"plantos_session": session})
    assert response.status_code == 401


def test_audit_verify_names_the_first_edited_record(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name in ("a", "b", "c"):
        plantos("user", "add", name, "--role", "viewer", "--generate", "--data-dir", str(data))
    ok = plantos("audit", "verify", "--data-dir", str(data))
    assert ok.returncode == 0 and "intact: 3 records" in ok.stderr
    db = sqlite3.connect(data / "audit.sqlite")
    db.execute("UPDATE audit SET target = 'z' WHERE seq = 2")
    db.commit()
    db.close()
    broken = plantos("audit", "verify", "--data-dir", str(data))
    assert broken.returncode == 1 and "record 2" in broken.stderr and "edited" in broken.stderr
    exported = plantos("audit", "export", "--format", "syslog", "--data-dir", str(data))
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == 3
    assert all(line.startswith("<86>1 ") for line in exported.stdout.splitlines())


def test_the_first_start_without_a_terminal_writes_the_secret_to_an_owner_only_file(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plantos.cli.main", "serve", "--config", str(DEMO_PLANT),
             "--data-dir", str(tmp_path / "data"), "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")},
        )  # fmt: skip
        try:
            secret = tmp_path / "data" / "initial-admin-password.txt"
            wait_until(lambda: _up(port), "the server", timeout_s=90)
            assert secret.stat().st_mode & 0o777 == 0o600
            password = re.search(r"password: (\S+)", secret.read_text())
            assert password is not None
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
                login = re.search(r'name="login" value="([^"]+)"', browser.get("/signin").text)
                assert login is not None
                form = {"username": "admin", "password": password[1], "login": login[1]}
                assert browser.post("/signin", data=form).status_code == 303
                token = browser.post(
                    "/api/v1/tokens",
                    json={"role": "viewer", "name": "probe"},
                    headers={"X-CSRF-Token": _csrf(browser)},
                ).json()["token"]
                httpx.get(f"http://127.0.0.1:{port}/api/v1/plant",
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text()
    assert password[1] not in text and token not in text and "pos_" not in text
    for stored in (tmp_path / "data").glob("*.sqlite*"):
        raw = stored.read_bytes()
        assert password[1].encode() not in raw and token.encode() not in raw, stored.name
    assert "initial-admin-password.txt" in text and "plantos signin-link" in text


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/signin", timeout=1).status_code == 401
    except httpx.HTTPError:
        time.sleep(0.2)
        return False


def _csrf(browser: httpx.Client) -> str:
    page = browser.get("/")
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert found is not None
    return found[1]


def test_secret_file_is_not_group_or_world_readable_whatever_the_umask(tmp_path: Path) -> None:
    from plantos.security.bootstrap import write_secret_file

    old = os.umask(0)
    try:
        write_secret_file(tmp_path / "s.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "s.txt").stat().st_mode & 0o777 == 0o600


def test_plantos_check_names_a_bad_security_section_by_line(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(
        "plantos: 1\nenterprise: {id: acme}\nsites:\n  - id: a\nsecurity:\n  core_zone: dmz\n"
        "  zones:\n    dmz: {}\n    cell: {members: [a/nowhere]}\n"
    )
    result = plantos("check", str(plant))
    assert result.returncode == 1
    assert f"{plant}:9: unknown plant path 'a/nowhere'" in result.stderr.replace("\n", "")


def test_a_new_grant_applies_at_once(server: RunningServer) -> None:
    plantos("user", "add", "rita", "--role", "viewer", "--data-dir", _data(server),
            stdin=PASSWORD + "\n")  # fmt: skip
    session = server.platform.tokens.issue_session("rita", "viewer")
    changed = plantos("user", "grant", "rita", "--role", "planner", "--scope", "site-1",
                      "--data-dir", _data(server))  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    user = server.platform.users.get("rita")
    assert (user.role, user.scope) == ("planner", "site-1")
    ended = httpx.get(f"{server.url}/api/v1/status", cookies={"plantos_session": session})
    assert ended.status_code == 401
    bad = plantos("user", "grant", "rita", "--role", "boss", "--data-dir", _data(server))
    assert bad.returncode == 1 and "unknown role 'boss'" in bad.stderr
