"""PostgreSQL or Redis goes under load and comes back (issue 12, items 1, 4, 5).

A private PostgreSQL cluster of the test's own (``initdb`` and ``pg_ctl``
from Debian's postgresql package, run as the ``postgres`` user when the
tests run as root) and a private redis-server serve the app while four
clients sign in, update their user, create users and activate factors.
PostgreSQL is stopped with ``pg_ctl stop -m immediate`` (a crash:
connections cut mid-statement, no checkpoint) and started again, which
replays its WAL; Redis is stopped as a service manager stops it and started
again from its append-only file. What must hold:

- every answer is a success or ``503 E0000010`` with ``Retry-After``, never a
  500 and never a hang;
- the app heals on its own once the cluster is back (no restart);
- all or nothing: every acknowledged change is there, every change is whole
  (a profile update's fields together, a created user with its profile,
  ``lastLogin`` and the sessionToken of one sign-in), and Redis holds no
  sessionToken that no client received;
- the outage is logged in two lines, not a traceback per request.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy

from app import create_app
from app.services import api_tokens
from app.store import migrations
from tests.compat.conftest import free_port
from tests.conftest import PASSWORD, OktaClient, profile, settings_for
from tests.integration.test_outages import PrivateRedis

pytestmark = pytest.mark.integration

CLIENTS = 4
DOWN_SECONDS = 3.0
RETRY_AFTER = "7"


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:  # scripts/ensure_services.sh installs Debian's postgresql
        raise RuntimeError("initdb not found: install Debian's postgresql package")
    return Path(found[-1]).parent


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in Path(path).parts[4].split(".") if p.isdigit())


class PrivatePostgres:
    """A PostgreSQL cluster on a free port, in a directory of its own."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="portcullis-pg-"))
        self.data = self.root / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        initdb = str(self.bin / "initdb")
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=50"
        )
        pg_ctl = str(self.bin / "pg_ctl")
        log = str(self.root / "server.log")
        self._run(pg_ctl, "-D", str(self.data), "-l", log, "-w", "-o", options, "start")

    def crash(self) -> None:
        """Stop at once: connections cut, no checkpoint; the restart replays the WAL."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def remove(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    cluster.init()
    cluster.start()
    yield cluster
    cluster.remove()


@dataclass
class Ledger:
    """What one client was told, to hold the stores to afterwards."""

    user_id: str
    login: str
    statuses: dict[int, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    version_acked: int = 0  # the last profile version answered 200
    versions_tried: set[int] = field(default_factory=set)
    session_tokens: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # ids of users answered 200
    activated: list[tuple[str, str]] = field(default_factory=list)  # (user, factor)


class Client:
    """One client's loop: sign in, update its user, create a user with an
    active Google Authenticator factor; until told to stop."""

    def __init__(self, app: Any, token: str, ledger: Ledger, stop: threading.Event) -> None:
        self.api = OktaClient(app.test_client(), token)
        self.anonymous = OktaClient(app.test_client(), None)
        self.ledger = ledger
        self.stop = stop
        self.n = 0

    def answer(self, r: Any, ok: int = 200) -> bool:
        """True for the success; counts, and notes anything but a 503 outage."""
        self.ledger.statuses[r.status_code] = self.ledger.statuses.get(r.status_code, 0) + 1
        if r.status_code == ok:
            return True
        body = r.get_json(silent=True) or {}
        if not (
            r.status_code == 503
            and r.headers.get("Retry-After") == RETRY_AFTER
            and body.get("errorCode") == "E0000010"
        ):
            self.ledger.unexpected.append(f"{r.request.path}: {r.status_code} {body}")
        return False

    def run(self) -> None:
        steps: list[Callable[[], None]] = [self.sign_in, self.update, self.create_with_factor]
        while not self.stop.is_set():
            steps[self.n % len(steps)]()
            self.n += 1

    def sign_in(self) -> None:
        body = {"username": self.ledger.login, "password": PASSWORD}
        r = self.anonymous.post("/api/v1/authn", json=body)
        if self.answer(r):
            assert r.get_json()["status"] == "SUCCESS"
            self.ledger.session_tokens.append(r.get_json()["sessionToken"])

    def update(self) -> None:
        version = self.n
        self.ledger.versions_tried.add(version)
        fields = {"firstName": f"v{version}", "lastName": f"v{version}", "nickName": f"v{version}"}
        r = self.api.post(f"/api/v1/users/{self.ledger.user_id}", json={"profile": fields})
        if self.answer(r):
            self.ledger.version_acked = version

    def create_with_factor(self) -> None:
        login = f"c{self.n}.{self.ledger.login}"
        body = {"profile": profile(login), "credentials": {"password": {"value": PASSWORD}}}
        r = self.api.post("/api/v1/users", json=body)
        if not self.answer(r):
            return
        user_id = r.get_json()["id"]
        self.ledger.created.append(user_id)
        base = f"/api/v1/users/{user_id}/factors"
        r = self.api.post(base, json={"factorType": "token:software:totp", "provider": "GOOGLE"})
        if not self.answer(r):
            return
        factor = r.get_json()
        code = pyotp.TOTP(factor["_embedded"]["activation"]["sharedSecret"]).now()
        r = self.api.post(f"{base}/{factor['id']}/lifecycle/activate", json={"passCode": code})
        if self.answer(r):
            self.ledger.activated.append((user_id, factor["id"]))


@pytest.mark.parametrize("store", ["PostgreSQL", "Redis"])
def test_a_store_going_under_load_loses_nothing_and_heals(
    tmp_path: Path,
    private_postgres: PrivatePostgres,
    caplog: pytest.LogCaptureFixture,
    store: str,
) -> None:
    """PostgreSQL crashes (``-m immediate``); Redis is stopped as a service
    manager stops it (SIGTERM, with its append-only file, so that it keeps
    what it acknowledged: docs/deployment.md says what it costs without)."""
    cache = PrivateRedis(tmp_path, durable=True)
    cache.start()
    try:
        if store == "PostgreSQL":
            outage = (private_postgres.crash, private_postgres.start)
        else:
            outage = (cache.stop, cache.start)
        _under_load(tmp_path, private_postgres, cache, caplog, *outage)
    finally:
        if cache.process is not None and cache.process.poll() is None:
            cache.stop()


def _under_load(
    tmp_path: Path,
    cluster: PrivatePostgres,
    cache: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
    stop_store: Callable[[], None],
    start_store: Callable[[], None],
) -> None:
    settings = settings_for(
        tmp_path,
        database_url=cluster.url,
        redis_url=cache.url,
        outage_retry_after=int(RETRY_AFTER),
        database_connect_timeout=1,
        rate_limit_authn="off",
    )
    app = create_app(settings)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "crash")
    admin = OktaClient(app.test_client(), token)
    anonymous = OktaClient(app.test_client(), None)
    ledgers = []
    for i in range(CLIENTS):
        login = f"client{i}@example.com"
        body = {"profile": profile(login), "credentials": {"password": {"value": PASSWORD}}}
        r = admin.post("/api/v1/users", json=body)
        assert r.status_code == 200, r.get_json()
        ledgers.append(Ledger(user_id=r.get_json()["id"], login=login))

    caplog.set_level(logging.WARNING)
    stop = threading.Event()
    clients = [Client(app, token, ledger, stop) for ledger in ledgers]
    threads = [threading.Thread(target=c.run, name=f"client-{i}") for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)  # under load
        stop_store()
        time.sleep(DOWN_SECONDS)
        start_store()
        first_after = _sign_in(anonymous, ledgers[0])
        time.sleep(1.5)  # load again after the recovery
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert all(not t.is_alive() for t in threads), "a client hung"
    # Healed with no restart and no stale connection: the first request after
    # the store is back goes through.
    assert first_after == 200, first_after

    unexpected = [line for ledger in ledgers for line in ledger.unexpected]
    assert not unexpected, unexpected[:5]
    refused = sum(ledger.statuses.get(503, 0) for ledger in ledgers)
    answered = sum(ledger.statuses.get(200, 0) for ledger in ledgers)
    assert refused > 0 and answered > 0, [ledger.statuses for ledger in ledgers]
    name = "The database" if stop_store == cluster.crash else "Redis"
    _nothing_lost_nothing_half_written(admin, ctx, ledgers, redis_went=name == "Redis")

    outage_lines = [r.getMessage() for r in caplog.records if r.name == "portcullis.outages"]
    assert outage_lines[0].startswith(f"{name} is unreachable ("), outage_lines
    assert len(outage_lines) <= 4, outage_lines  # gone, back; perhaps Redis-free retries
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def _sign_in(anonymous: OktaClient, ledger: Ledger) -> int:
    """One sign-in (both stores); its sessionToken joins the client's."""
    r = anonymous.post("/api/v1/authn", json={"username": ledger.login, "password": PASSWORD})
    if r.status_code == 200:
        ledger.session_tokens.append(r.get_json()["sessionToken"])
    return int(r.status_code)


def _nothing_lost_nothing_half_written(
    admin: OktaClient, ctx: Any, ledgers: list[Ledger], *, redis_went: bool
) -> None:
    for ledger in ledgers:
        user = admin.get(f"/api/v1/users/{ledger.user_id}").get_json()
        names = {user["profile"][k] for k in ("firstName", "lastName", "nickName")}
        assert len(names) == 1, f"a half-written profile update: {user['profile']}"
        (name,) = names
        if name.startswith("v"):
            version = int(name[1:])
            assert version in ledger.versions_tried
            assert version >= ledger.version_acked, "an acknowledged update was lost"
        else:
            assert ledger.version_acked == 0
        if ledger.session_tokens:
            assert user["lastLogin"] is not None, "a sign-in without its lastLogin"
        for user_id in ledger.created:
            created = admin.get(f"/api/v1/users/{user_id}")
            assert created.status_code == 200, "an acknowledged user was lost"
            assert created.get_json()["profile"]["email"], "a user without its profile"
        for user_id, factor_id in ledger.activated:
            factor = admin.get(f"/api/v1/users/{user_id}/factors/{factor_id}").get_json()
            assert factor["status"] == "ACTIVE", "an acknowledged activation was lost"
    # Every sessionToken a client received makes a session. None is left over
    # that no client received when the database failed (a SUCCESS whose
    # database half failed voids it). When Redis stops in the middle of the
    # save, its reply lost, the outcome is in doubt: a token may be stored that
    # was never sent; it expires with its TTL (docs/deployment.md).
    for ledger in ledgers:
        for session_token in ledger.session_tokens:
            r = admin.post("/api/v1/sessions", json={"sessionToken": session_token})
            assert r.status_code == 200, r.get_json()
    left = list(ctx.stores.redis.scan_iter(match="sessiontoken:*"))
    if redis_went:
        refused_sign_ins = sum(ledger.statuses.get(503, 0) for ledger in ledgers)
        assert len(left) <= refused_sign_ins
        ttl = ctx.settings.session_token_ttl
        assert all(0 < ctx.stores.redis.ttl(key) <= ttl for key in left)
    else:
        assert left == []
    # Every factor in the database is whole: pending or active, with a secret.
    with ctx.stores.database.engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT status FROM factors")).all()
    assert {row[0] for row in rows} <= {"PENDING_ACTIVATION", "ACTIVE"}
