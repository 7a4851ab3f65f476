"""``make fuzz``: schemathesis over the whole OpenAPI document, against a live
server on PostgreSQL + Redis, with fixtures so that operations reach their
2xx paths and not only 404.

1. A fresh PostgreSQL database and Redis database; ``flask db upgrade``; an
   SSWS token and a WorkOS API key.
2. gunicorn on a free loopback port (the per-client rate limit off: the fuzzer
   is one client; no request-line limit: a reverse proxy sets its own).
3. Fixtures through the APIs: users in each status, groups, policies and
   rules, factors (active, pending, question), trusted origins, sessions,
   WorkOS factors and challenges, state and recovery tokens. Their ids go
   into schemathesis' dictionaries, drawn for the parameters of those names
   with a probability, so both real and random ids are tried.
4. ``schemathesis run`` with every check and the coverage, fuzzing and
   stateful phases (``scripts/schemathesis.toml`` says which check is off for
   which operation, and why). Fails unless there were 0 failures, no error
   but schemathesis' own generation errors (``GENERATION_ERRORS``), and at
   least ``FUZZ_MIN_REQUESTS`` (10,000) requests.

``FUZZ_EXAMPLES`` (per operation and phase; default 110) sets the depth,
``FUZZ_SEED`` the seed (default: fixed, for a repeatable CI run).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pyotp

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("FUZZ_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FUZZ_REDIS_URL", f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "110"))
SEED = os.environ.get("FUZZ_SEED", "20261202")
MIN_REQUESTS = int(os.environ.get("FUZZ_MIN_REQUESTS", "10000"))
PASSWORD = "Fuzz-Pass-Phrase-42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client:
    """Just enough HTTP for the fixtures: JSON in, (status, JSON) out."""

    def __init__(self, base: str, authorization: str | None = None) -> None:
        self.base, self.authorization = base, authorization

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"fixture {method} {path}: {status} {answer}")
        return answer


def fresh_database() -> str:
    name = f"portcullis_fuzz_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + (
        f"/{name}"
    )


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--limit-request-line",
            "0",
            "--log-level",
            "warning",
            "--access-logfile",
            env["FUZZ_ACCESS_LOG"],
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(env["FUZZ_SERVER_LOG"], "wb"),  # noqa: SIM115 (lives with the process)
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer within 30 s")


# ---- fixtures ------------------------------------------------------------------------------


def _user(api: Client, name: str, *, password: bool = True, activate: bool = True) -> str:
    body: dict[str, Any] = {
        "profile": {
            "firstName": name.title(),
            "lastName": "Fuzz",
            "email": f"{name}@example.com",
            "login": f"{name}@example.com",
            "mobilePhone": "+1 415 555 0100",
        }
    }
    if password:
        body["credentials"] = {"password": {"value": PASSWORD}}
    return str(api.ok("POST", f"/api/v1/users?activate={str(activate).lower()}", body)["id"])


def _session_token(anon: Client, login: str) -> str:
    answer = anon.ok("POST", "/api/v1/authn", {"username": login, "password": PASSWORD})
    return str(answer.get("sessionToken") or answer.get("stateToken"))


def fixtures(api: Client, workos: Client, anon: Client) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {name: [] for name in (
        "user_id", "group_id", "policy_id", "rule_id", "factor_id", "origin_id",
        "session_id", "challenge_id", "token", "state_token", "recovery_token",
        "session_token", "login",
    )}  # fmt: skip
    users = {
        status: _user(api, status.lower(), password=status != "STAGED", activate=status != "STAGED")
        for status in ("ACTIVE", "STAGED", "SUSPENDED", "DEPROVISIONED", "EXPIRED", "LOCKED", "MFA")
    }
    api.ok("POST", f"/api/v1/users/{users['SUSPENDED']}/lifecycle/suspend")
    api.ok("POST", f"/api/v1/users/{users['DEPROVISIONED']}/lifecycle/deactivate")
    api.ok("POST", f"/api/v1/users/{users['EXPIRED']}/lifecycle/expire_password")
    for _ in range(12):
        anon.call("POST", "/api/v1/authn", {"username": "locked@example.com", "password": "no"})
    provisioned = _user(api, "provisioned", password=False, activate=True)
    ids["user_id"] += [*users.values(), provisioned]
    ids["login"] += [f"{name.lower()}@example.com" for name in users]

    group = api.ok("POST", "/api/v1/groups", {"profile": {"name": "Fuzzers", "description": "x"}})
    ids["group_id"].append(group["id"])
    api.ok("PUT", f"/api/v1/groups/{group['id']}/users/{users['ACTIVE']}")

    for kind in ("OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL"):
        for policy in api.ok("GET", f"/api/v1/policies?type={kind}"):
            ids["policy_id"].append(policy["id"])
            ids["rule_id"] += [
                r["id"] for r in api.ok("GET", f"/api/v1/policies/{policy['id']}/rules")
            ]

    mfa = users["MFA"]
    question = api.ok(
        "POST",
        f"/api/v1/users/{mfa}/factors?activate=true",
        {"factorType": "question", "provider": "OKTA",
         "profile": {"question": "favorite_art_piece", "answer": "The Kiss by Klimt"}},
    )  # fmt: skip
    totp = api.ok(
        "POST",
        f"/api/v1/users/{mfa}/factors",
        {"factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    secret = totp["_embedded"]["activation"]["sharedSecret"]
    qr = totp["_embedded"]["activation"]["_links"]["qrcode"]["href"]
    ids["token"].append(qr.rstrip("/").rsplit("/", 1)[1])
    api.ok(
        "POST",
        f"/api/v1/users/{mfa}/factors/{totp['id']}/lifecycle/activate",
        {"passCode": pyotp.TOTP(secret).now()},
    )
    sms = api.ok(
        "POST",
        f"/api/v1/users/{users['ACTIVE']}/factors",
        {"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": "+14155550100"}},
    )
    ids["factor_id"] += [question["id"], totp["id"], sms["id"]]
    rule_policy = next(p for p in api.ok("GET", "/api/v1/policies?type=OKTA_SIGN_ON"))
    ids["policy_id"].append(rule_policy["id"])

    origin = api.ok(
        "POST",
        "/api/v1/trustedOrigins",
        {"name": "Fuzz app", "origin": "https://fuzz.example.com",
         "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}]},
    )  # fmt: skip
    ids["origin_id"].append(origin["id"])

    for _ in range(5):
        ids["session_token"].append(_session_token(anon, "active@example.com"))
        ids["state_token"].append(_session_token(anon, "mfa@example.com"))
    session = api.ok("POST", "/api/v1/sessions", {"sessionToken": ids["session_token"].pop()})
    ids["session_id"].append(session["id"])
    for _ in range(5):
        reset = api.ok(
            "POST", f"/api/v1/users/{users['ACTIVE']}/lifecycle/reset_password?sendEmail=false"
        )
        ids["recovery_token"].append(reset["resetPasswordUrl"].rstrip("/").rsplit("/", 1)[1])

    factor = workos.ok(
        "POST",
        "/auth/factors/enroll",
        {"type": "totp", "totp_issuer": "Fuzz", "totp_user": "a@b.c"},
    )
    challenge = workos.ok("POST", f"/auth/factors/{factor['id']}/challenge", {})
    ids["factor_id"].append(factor["id"])
    ids["challenge_id"].append(challenge["id"])
    return ids


# ---- the run -------------------------------------------------------------------------------


def config(ids: dict[str, list[str]]) -> str:
    """The run's schemathesis.toml: the project's checked-in settings, then the
    fixture dictionaries and the parameters they are drawn for."""
    lines = [(ROOT / "scripts" / "schemathesis.toml").read_text(), ""]
    for name, values in ids.items():
        if values:
            lines.append(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}")
    lines.append("[parameters]")
    for name in ("user_id", "group_id", "policy_id", "rule_id", "factor_id", "origin_id",
                 "session_id", "challenge_id", "token"):  # fmt: skip
        if ids[name]:
            lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}')
    for field, name in (("stateToken", "state_token"), ("recoveryToken", "recovery_token"),
                        ("sessionToken", "session_token"), ("username", "login")):  # fmt: skip
        lines.append(f'"body.{field}" = {{ dictionary = "{name}", probability = 0.5 }}')
    return "\n".join(lines) + "\n"


def served(access_log: Path) -> int:
    """Requests the server answered: lines of its access log."""
    with access_log.open("rb") as lines:
        return sum(1 for _ in lines)


#: Titles schemathesis gives errors of its own test generation: it could not
#: build a case from a schema ("Schema Error"), hypothesis saw a flaky draw or
#: another internal exception ("Runtime Error": seen once as a FlakyFailure
#: while it filled in an operation's example), or a health check tripped. No
#: request was judged, so they say nothing about the server. Errors that do
#: ("Network Error", "Server Unavailable", "Unresponsive Operation", "Unhealthy
#: API"), and any title not listed here, fail the run.
GENERATION_ERRORS = ("Schema Error", "Runtime Error", "Failed Health Check")


def verdict(report_dir: Path) -> tuple[int, list[str], list[str]]:
    """(unique failures, errors that fail the run, schemathesis' own generation
    errors) from its JSON report."""
    (path,) = sorted(report_dir.glob("*.json"))[-1:]
    report = json.loads(path.read_text())
    errors = [(e["title"], f"{e['title']} (x{e['count']})") for e in report.get("errors", [])]
    failing = [text for title, text in errors if title not in GENERATION_ERRORS]
    tolerated = [text for title, text in errors if title in GENERATION_ERRORS]
    return int(report["test_cases"]["unique_failures"]), failing, tolerated


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="portcullis-fuzz-"))
    database = fresh_database()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": REDIS_URL,
        "PORTCULLIS_INSTANCE": str(work / "instance"),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "RATE_LIMIT_AUTHN": "off",
        "FUZZ_SERVER_LOG": str(ROOT / "artifacts" / "fuzz-server.log"),
        "FUZZ_ACCESS_LOG": str(work / "access.log"),
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True)
    server = None
    try:
        flask(env, "db", "upgrade")
        token = flask(env, "create-token", "--name", "fuzz")
        key = flask(env, "create-api-key", "--name", "fuzz")
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        ids = fixtures(Client(base, f"SSWS {token}"), Client(base, f"Bearer {key}"), Client(base))
        report = work / "report"
        (work / "schemathesis.toml").write_text(config(ids))
        run_env = {**env, "FUZZ_SSWS": f"SSWS {token}", "FUZZ_WORKOS_KEY": key}
        before = served(Path(env["FUZZ_ACCESS_LOG"]))
        started = time.monotonic()
        done = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "--config-file",
                str(work / "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                SEED,
                "--workers",
                "2",
                "--report",
                "json",
                "--report-dir",
                str(report),
            ],
            cwd=work,
            env=run_env,
        )
        requests = served(Path(env["FUZZ_ACCESS_LOG"])) - before
        failures, errors, tolerated = verdict(report)
        print(
            f"fuzz: {requests} requests, {failures} unique failures, {len(errors)} errors, "
            f"schemathesis exit {done.returncode}, {time.monotonic() - started:.0f} s"
        )
        for error in tolerated:
            print(f"fuzz: schemathesis' own generation error, not the server's: {error}")
        for error in errors:
            print(f"fuzz: error: {error}")
        if requests < MIN_REQUESTS:
            print(f"fuzz: fewer than {MIN_REQUESTS} requests: raise FUZZ_EXAMPLES")
            return 1
        return 1 if failures or errors else 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        drop_database(database)
        if not os.environ.get("FUZZ_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
