"""The server under load, for the HTTP benchmark and the soak: a fresh PostgreSQL
database and a flushed Redis database (a :class:`Target`), gunicorn on loopback
(:func:`serve`), an admin client (:class:`Api`), and the users and TOTP codes both
load generators need.

Used by benchmarks/http_authn.py (``make bench``) and benchmarks/soak.py (``make soak``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
GUNICORN_CONF = HERE / "gunicorn_bench.py"

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/portcullis_bench")
#: On, as in production, but never reached by the load generators.
RATE_LIMIT = "100000000 per minute"
PASSWORD = "Bench-Passw0rd"
TOTP_STEP = 30
CHEAP_ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8192", "ARGON2_PARALLELISM": "1"}

_STARTED = time.monotonic()


def say(text: str) -> None:
    """A progress line on stderr, with the seconds since the script began."""
    print(f"  [{time.monotonic() - _STARTED:5.0f} s] {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Target:
    """Where a server under load keeps its data: a PostgreSQL database of its
    own (dropped and created afresh) and a Redis database of its own (flushed)."""

    database: str
    redis_url: str

    @property
    def database_url(self) -> str:
        return PG_URL.rsplit("/", 1)[0] + "/" + self.database


def admin_database_url() -> str:
    """The ``postgres`` database of the benchmark's PostgreSQL server."""
    return PG_URL.rsplit("/", 1)[0] + "/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    """A running server: admin calls, counters, its URL and its master's pid."""

    def __init__(
        self, port: int, token: str, counters: Path, pid: int, workers: int, threads: int
    ) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.token = token
        self.counters = counters
        self.pid = pid  # the gunicorn master; the workers are its children
        self.workers = workers  # as gunicorn.conf.py (or the caller) chose
        self.threads = threads

    def worker_pids(self) -> list[int]:
        """The gunicorn workers' process ids."""
        from load import children

        return children(self.pid)

    def exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, Message, bytes]:
        """One request on its own connection: (status, response headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        admin: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """A JSON request (with the admin token unless ``admin`` is false): (status, JSON)."""
        sent = {"Accept": "application/json", "Content-Type": "application/json"}
        if admin:
            sent["Authorization"] = f"SSWS {self.token}"
        sent.update(headers or {})
        payload = None if body is None else json.dumps(body).encode()
        status, _, data = self.exchange(method, path, payload, sent)
        return status, json.loads(data) if data else None

    def ok(self, method: str, path: str, body: Any = None, *, admin: bool = True) -> Any:
        status, data = self.call(method, path, body, admin=admin)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {data}")
        return data

    def counts(self) -> tuple[int, int, int]:
        """(requests begun, Redis round trips, the rate limiter's) in all workers,
        once they stop changing."""
        from gunicorn_bench import read_counts

        last = read_counts(str(self.counters))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = read_counts(str(self.counters))
            if now == last:
                return now
            last = now
        return last


def environment(instance: Path, target: Target, port: int, extra: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "PORTCULLIS_INSTANCE": str(instance),
        "RATE_LIMIT_AUTHN": RATE_LIMIT,
        "DATABASE_URL": target.database_url,
        "REDIS_URL": target.redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "BASE_URL": f"http://127.0.0.1:{port}",
        **extra,
    }
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM"):
        if name not in extra:
            env.pop(name, None)  # the default cost unless asked otherwise
    return env


def flask(instance: Path, target: Target, *command: str) -> str:
    """Run a ``flask --app wsgi`` command on the target; its standard output."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *command],
        env=environment(instance, target, 0, {}),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def prepare(instance: Path, target: Target) -> None:
    """A fresh database and Redis database, migrated, with an admin token."""
    import psycopg
    import redis

    with psycopg.connect(admin_database_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {target.database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {target.database}")
    redis.Redis.from_url(target.redis_url, socket_connect_timeout=5).flushdb()
    flask(instance, target, "db", "upgrade")
    flask(instance, target, "bootstrap")


def drop_database(target: Target) -> None:
    import psycopg

    with psycopg.connect(admin_database_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {target.database} WITH (FORCE)")


@contextlib.contextmanager
def serve(
    instance: Path,
    target: Target,
    extra: dict[str, str],
    *,
    workers: int | None = None,
    threads: int | None = None,
    app: str = "wsgi:app",
    ready: str = "/healthz",
) -> Iterator[Api]:
    """gunicorn on a free loopback port until the block ends, with the settings
    of gunicorn.conf.py (benchmarks/gunicorn_bench.py) unless ``workers`` or
    ``threads`` say otherwise; ``app`` is Portcullis unless told (the floor)."""
    port = free_port()
    counters = Path(tempfile.mkdtemp(prefix="counters-", dir=instance))
    env = {**environment(instance, target, port, extra), "BENCH_COUNTER_DIR": str(counters)}
    log_path = instance / f"server-{port}.log"
    chosen = []
    if workers is not None:
        chosen += ["--workers", str(workers)]
    if threads is not None:
        chosen += ["--threads", str(threads)]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                str(GUNICORN_CONF),
                "--bind",
                f"127.0.0.1:{port}",
                *chosen,
                app,
            ],
            env=env,
            cwd=HERE if app.startswith("floor_app") else ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log_path}") from None
                time.sleep(0.2)
        token = (instance / "admin-token").read_text().strip()
        settings = re.search(r"workers=(\d+) threads=(\d+)", log_path.read_text())
        if settings is None:
            raise RuntimeError(f"gunicorn did not say its workers and threads; see {log_path}")
        api = Api(port, token, counters, server.pid, int(settings[1]), int(settings[2]))
        while len(api.worker_pids()) < api.workers and time.monotonic() < deadline:
            time.sleep(0.2)  # the first worker answers while the others boot
        say(f"gunicorn serving {app} on port {port}: {api.workers} x {api.threads}")
        yield api
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        say("gunicorn stopped")


# ---- users and TOTP codes ----------------------------------------------------------------


def create_user(api: Api, login: str) -> str:
    """An active user with the benchmark's password; its id."""
    body = {
        "profile": {"login": login, "email": login, "firstName": "Bench", "lastName": "User"},
        "credentials": {"password": {"value": PASSWORD}},
    }
    return str(api.ok("POST", "/api/v1/users?activate=true", body)["id"])


def totp_code(secret: str, step: int) -> str:
    """The Google Authenticator code of ``secret`` for TOTP step ``step``."""
    import pyotp

    return str(pyotp.HOTP(secret).at(step))


def totp_step() -> int:
    """The current TOTP step (30 seconds)."""
    return int(time.time()) // TOTP_STEP


def require_mfa(api: Api, session: dict[str, Any] | None = None) -> None:
    """An OKTA_SIGN_ON policy for Everyone whose rule requires a factor, with the
    rule's ``actions.signon.session`` if given (idle timeout, lifetime)."""
    groups = api.ok("GET", "/api/v1/groups?q=Everyone")
    everyone = next(g["id"] for g in groups if g["profile"]["name"] == "Everyone")
    policy = api.ok(
        "POST",
        "/api/v1/policies",
        {
            "type": "OKTA_SIGN_ON",
            "name": "bench",
            "priority": 1,
            "conditions": {"people": {"groups": {"include": [everyone]}}},
        },
    )
    signon: dict[str, Any] = {"access": "ALLOW", "requireFactor": True}
    if session is not None:
        signon["session"] = session
    api.ok(
        "POST",
        f"/api/v1/policies/{policy['id']}/rules",
        {"name": "mfa", "priority": 1, "actions": {"signon": signon}},
    )
