"""A live Portcullis for the real-client tests (okta-auth-js in Node, the Okta
Sign-In Widget in Chromium), and the checks that the Node side is there.

The server is what ``scripts/run_postman.py`` starts: a throw-away instance
folder, the embedded defaults (SQLite + fakeredis), ``flask db upgrade`` and
``flask bootstrap`` for the admin token, gunicorn on a free loopback port.
One server for the whole run: each test makes its own users and groups.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NODE_MODULES = ROOT / "node_modules"
PASSWORD = "Sup3r-Secret-Phrase"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within {seconds:.0f} s")


def embedded_env(instance: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a throw-away server on the embedded defaults (SQLite
    in ``instance``, fakeredis), the cheapest argon2id (these tests are about
    protocols, not hashing), no SMTP or Twilio; ``extra`` on top."""
    env = {
        **os.environ,
        "PORTCULLIS_INSTANCE": str(instance),
        "REDIS_URL": "fakeredis://",
        "PORT": str(port),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8192",
        "ARGON2_PARALLELISM": "1",
        **extra,
    }
    for name in ("DATABASE_URL", "SMTP_HOST", "TWILIO_ACCOUNT_SID"):
        if name not in extra:
            env.pop(name, None)
    return env


def bootstrap(env: dict[str, str]) -> str:
    """``flask db upgrade`` and ``flask bootstrap`` in ``env``; the admin token."""
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    for command in (["db", "upgrade"], ["bootstrap"]):
        subprocess.run([*flask, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    return (Path(env["PORTCULLIS_INSTANCE"]) / "admin-token").read_text().strip()


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    log: Path,
    *,
    app: str = "wsgi:app",
    threads: int = 4,
    workers: int = 1,
) -> Iterator[str]:
    """``app`` on gunicorn (gunicorn.conf.py's settings, with ``workers``
    workers of ``threads`` threads) at ``env``'s PORT until the block ends, its
    output in ``log``; yields the base URL once ``/healthz`` answers."""
    base = f"http://127.0.0.1:{env['PORT']}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{env['PORT']}"),
                *("--workers", str(workers), "--threads", str(threads), "--timeout", "60", app),
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(f"{base}/healthz", process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def missing_tool(message: str) -> None:
    """Skip with the reason, but fail in CI, where the tool must be there."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _installed(package: str) -> str | None:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


@pytest.fixture(scope="session")
def node_packages() -> Path:
    """``node_modules`` with the versions package.json pins; ``npm ci`` when they
    are not (``make test`` runs pytest before ``make postman`` runs ``npm ci``)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing_tool(
            "Node.js (node and npm) is not installed: scripts/ensure_services.sh installs it"
        )
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    wanted = ("@okta/okta-auth-js", "@okta/okta-signin-widget")
    if any(_installed(name) != pinned[name] for name in wanted):
        done = subprocess.run(
            [str(npm), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed:\n{done.stdout}\n{done.stderr}")
    return NODE_MODULES


class Admin:
    """The admin API with the bootstrap SSWS token."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"SSWS {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read().decode()}") from None
        return json.loads(raw) if raw else None

    def group(self, name: str) -> str:
        return str(self("POST", "/api/v1/groups", {"profile": {"name": name}})["id"])

    def user(self, login: str, group_id: str) -> dict[str, Any]:
        user: dict[str, Any] = self(
            "POST",
            "/api/v1/users?activate=true",
            {
                "profile": {
                    "login": login,
                    "email": login,
                    "firstName": "Kate",
                    "lastName": "Libby",
                },
                "credentials": {"password": {"value": PASSWORD}},
                "groupIds": [group_id],
            },
        )
        return user

    def require_mfa(self, group_id: str) -> None:
        """An OKTA_SIGN_ON policy for the group whose rule asks for a second factor."""
        policy = self(
            "POST",
            "/api/v1/policies",
            {
                "type": "OKTA_SIGN_ON",
                "name": f"MFA for {group_id}",
                "priority": 1,
                "conditions": {"people": {"groups": {"include": [group_id]}}},
            },
        )
        self(
            "POST",
            f"/api/v1/policies/{policy['id']}/rules",
            {
                "name": "Require MFA",
                "priority": 1,
                "actions": {"signon": {"access": "ALLOW", "requireFactor": True}},
            },
        )

    def lock_after(self, group_id: str, max_attempts: int) -> None:
        """A PASSWORD policy for the group that locks after ``max_attempts``
        failures and says so (the answers tell judged failures from refusals)."""
        self(
            "POST",
            "/api/v1/policies",
            {
                "type": "PASSWORD",
                "name": f"Lockout for {group_id}",
                "priority": 1,
                "conditions": {"people": {"groups": {"include": [group_id]}}},
                "settings": {
                    "password": {
                        "lockout": {"maxAttempts": max_attempts, "showLockoutFailures": True}
                    }
                },
            },
        )

    def require_google_authenticator(self, group_id: str) -> None:
        """An MFA_ENROLL policy for the group: Google Authenticator must be enrolled."""
        self(
            "POST",
            "/api/v1/policies",
            {
                "type": "MFA_ENROLL",
                "name": f"Google Authenticator for {group_id}",
                "priority": 1,
                "conditions": {"people": {"groups": {"include": [group_id]}}},
                "settings": {"factors": {"google_otp": {"enroll": {"self": "REQUIRED"}}}},
            },
        )

    def require_webauthn(self, group_id: str) -> None:
        """An MFA_ENROLL policy for the group: a WebAuthn authenticator must be enrolled."""
        self(
            "POST",
            "/api/v1/policies",
            {
                "type": "MFA_ENROLL",
                "name": f"Security key required for {group_id}",
                "priority": 1,
                "conditions": {"people": {"groups": {"include": [group_id]}}},
                "settings": {"factors": {"fido_webauthn": {"enroll": {"self": "REQUIRED"}}}},
            },
        )

    def active_totp(self, user_id: str) -> dict[str, str]:
        """Enroll Google Authenticator for the user and activate it with the code
        of the *previous* 30-second step (the server accepts one step of skew),
        so the client's code of the current step is still unused."""
        factor = self(
            "POST",
            f"/api/v1/users/{user_id}/factors",
            {"factorType": "token:software:totp", "provider": "GOOGLE"},
        )
        secret = factor["_embedded"]["activation"]["sharedSecret"]
        if time.time() % 30 > 27:  # do not let the step roll over under the request
            time.sleep(30 - time.time() % 30 + 0.1)
        previous = pyotp.TOTP(secret).at(time.time() - 30)
        self(
            "POST",
            f"/api/v1/users/{user_id}/factors/{factor['id']}/lifecycle/activate",
            {"passCode": previous},
        )
        return {"id": factor["id"], "secret": secret}


@dataclass
class LiveServer:
    base: str
    admin: Admin
    instance: Path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("portcullis")
    env = embedded_env(instance, free_port())
    token = bootstrap(env)
    with gunicorn(env, instance / "server.log") as base:
        yield LiveServer(base=base, admin=Admin(base, token), instance=instance)


def virtual_authenticator(context: Any, page: Any) -> tuple[Any, str]:
    """Chromium's DevTools virtual authenticator on ``page``: a platform
    passkey (ctap2, internal) that verifies the user and is touched at once.
    The CDP session and the authenticator's id."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])
