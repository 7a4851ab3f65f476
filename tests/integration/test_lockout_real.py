"""Lockout across two server processes on one real PostgreSQL and Redis.

Two gunicorn processes (tests/integration/judging_wsgi.py: the app, counting
in Redis every password, code and answer it checks) serve on two loopback
ports and share the database and the Redis db, as two hosts would. Guesses
race across both; at most ``maxAttempts`` of them may be judged, and a lock
set through one holds on the other at once.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyotp
import pytest
import redis

from app import create_app
from app.services import api_tokens
from app.store import migrations
from tests.compat.conftest import Admin, free_port, gunicorn
from tests.conftest import PASSWORD, REAL_REDIS_URL, _reset_postgres, settings_for

pytestmark = pytest.mark.integration
MAX_ATTEMPTS = 3
WRONG = "Wrong-Password-1"
LOCKED = (
    200,
    {"status": "LOCKED_OUT", "_embedded": {}, "_links": {"cancel": "/api/v1/authn/cancel"}},
)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def shape(self) -> tuple[int, dict[str, Any]]:
        """Status and body, less the errorId that differs on every error, with
        each link as its path (the port differs on every run)."""
        body = {k: v for k, v in self.body.items() if k != "errorId"}
        if "_links" in body:
            body["_links"] = {k: urlparse(v["href"]).path for k, v in body["_links"].items()}
        return self.status, body

    @property
    def error(self) -> str | None:
        return self.body.get("errorCode")


def post(base: str, path: str, body: dict[str, Any]) -> Answer:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return Answer(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, json.loads(error.read()))


@dataclass
class Cluster:
    bases: list[str]
    admin: Admin
    redis: redis.Redis

    def judged(self, what: str) -> int:
        return int(self.redis.get(f"test:judged:{what}") or 0)

    def forget_judged(self) -> None:
        self.redis.delete("test:judged:password", "test:judged:factor")

    def race(self, calls: list[tuple[int, str, dict[str, Any]]]) -> list[Answer]:
        """All ``(server, path, body)`` calls at once, as near as threads allow."""
        barrier = threading.Barrier(len(calls), timeout=30)

        def call(item: tuple[int, str, dict[str, Any]]) -> Answer:
            server, path, body = item
            barrier.wait()
            return post(self.bases[server], path, body)

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(call, calls))


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    _reset_postgres(postgres_url)
    client = redis.Redis.from_url(REAL_REDIS_URL, decode_responses=True)
    client.flushdb()
    settings = settings_for(tmp_path, database_url=postgres_url, redis_url=REAL_REDIS_URL)
    setup = create_app(settings)
    ctx = setup.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "lockout-race")
    ctx.stores.database.dispose()
    envs = []
    for index in range(2):
        port = free_port()
        envs.append(
            {
                **os.environ,
                "PORTCULLIS_INSTANCE": str(tmp_path / f"instance-{index}"),
                "DATABASE_URL": postgres_url,
                "REDIS_URL": REAL_REDIS_URL,
                "SECRET_KEY": settings.secret_key,
                "ENCRYPTION_KEY": settings.encryption_key,
                "BASE_URL": f"http://127.0.0.1:{port}",
                "PORT": str(port),
                "RATE_LIMIT_AUTHN": "off",
                "ARGON2_TIME_COST": "1",
                "ARGON2_MEMORY_COST": "1024",
                "ARGON2_PARALLELISM": "1",
            }
        )
    app, threads = "tests.integration.judging_wsgi:app", 16
    with (
        gunicorn(envs[0], tmp_path / "server-0.log", app=app, threads=threads) as a,
        gunicorn(envs[1], tmp_path / "server-1.log", app=app, threads=threads) as b,
    ):
        yield Cluster([a, b], Admin(a, token), client)


def _user(
    cluster: Cluster, login: str, *, mfa: bool, max_attempts: int = MAX_ATTEMPTS
) -> tuple[dict[str, Any], dict[str, str]]:
    """A user whose PASSWORD policy locks after ``max_attempts`` and shows the
    lock (so the answers tell judged failures from refusals); with ``mfa``, a
    sign-on rule that asks for a factor and an active Google Authenticator."""
    admin = cluster.admin
    group = admin.group(f"lockout {login}")
    admin.lock_after(group, max_attempts)
    user = admin.user(login, group)
    factor: dict[str, str] = {}
    if mfa:
        admin.require_mfa(group)
        factor = admin.active_totp(user["id"])
    return user, factor


def _status(cluster: Cluster, user: dict[str, Any]) -> str:
    return str(cluster.admin("GET", f"/api/v1/users/{user['id']}")["status"])


def _sign_in(base: str, login: str, password: str = PASSWORD) -> Answer:
    return post(base, "/api/v1/authn", {"username": login, "password": password})


def test_parallel_wrong_passwords_on_two_servers_judge_at_most_max_attempts(
    cluster: Cluster,
) -> None:
    login = "flood@example.com"
    user, _ = _user(cluster, login, mfa=False)
    cluster.forget_judged()
    body = {"username": login, "password": WRONG}
    answers = cluster.race([(i % 2, "/api/v1/authn", body) for i in range(30)])
    shapes = Counter(a.shape[0] if a.shape != LOCKED else "locked" for a in answers)
    assert set(shapes) <= {401, "locked"}, [a.body for a in answers]
    assert all(a.error == "E0000004" for a in answers if a.status == 401)
    # Judged failures answer the plain 401 but the one that locks; everyone
    # else is refused unjudged with the lock's answer.
    assert shapes[401] <= MAX_ATTEMPTS - 1, shapes
    assert 1 <= cluster.judged("password") <= MAX_ATTEMPTS, cluster.judged("password")
    assert _status(cluster, user) == "LOCKED_OUT"
    for base in cluster.bases:  # the right password now answers as a locked user
        assert _sign_in(base, login).shape == LOCKED
    assert cluster.judged("password") <= MAX_ATTEMPTS


def test_parallel_codes_on_one_transaction_have_one_winner(cluster: Cluster) -> None:
    login = "one.winner@example.com"
    # Eight wrong codes race four right ones. The lock has its own tests: here
    # it stays out of reach, so every wrong code that is judged answers
    # E0000068 (with maxAttempts 3, a run that judged three wrong codes before
    # a right one locked the user, and CI saw E0000069).
    _, factor = _user(cluster, login, mfa=True, max_attempts=50)
    start = _sign_in(cluster.bases[0], login)
    assert start.body["status"] == "MFA_REQUIRED", start.body
    token = start.body["stateToken"]
    right = pyotp.TOTP(factor["secret"]).now()
    path = f"/api/v1/authn/factors/{factor['id']}/verify"
    calls = [
        (i % 2, path, {"stateToken": token, "passCode": right if i % 3 == 0 else "000000"})
        for i in range(12)
    ]
    answers = cluster.race(calls)
    winners = [a for a in answers if a.status == 200]
    assert len(winners) <= 1, [a.body for a in answers]
    for winner in winners:
        assert winner.body["status"] == "SUCCESS" and winner.body["sessionToken"]
    for loser in (a for a in answers if a.status != 200):
        # Busy (another call holds the transaction), wrong, or already over.
        assert loser.error in ("E0000079", "E0000068", "E0000082", "E0000011"), loser.body
    after = post(cluster.bases[1], "/api/v1/authn", {"stateToken": token})
    if winners:
        assert after.status == 401  # the transaction ended with the SUCCESS
    else:
        assert after.body["status"] == "MFA_REQUIRED"


def test_parallel_wrong_codes_on_many_transactions_judge_at_most_max_attempts(
    cluster: Cluster,
) -> None:
    login = "code.flood@example.com"
    user, factor = _user(cluster, login, mfa=True)
    tokens = []
    for i in range(20):  # opened first: each right password resets the count
        start = _sign_in(cluster.bases[i % 2], login)
        assert start.body["status"] == "MFA_REQUIRED", start.body
        tokens.append(start.body["stateToken"])
    cluster.forget_judged()
    path = f"/api/v1/authn/factors/{factor['id']}/verify"
    wrong = [(i % 2, path, {"stateToken": t, "passCode": "000000"}) for i, t in enumerate(tokens)]
    answers = cluster.race(wrong)
    errors = Counter(a.error or a.body.get("status") for a in answers)
    assert set(errors) <= {"E0000068", "E0000069", "LOCKED_OUT"}, [a.body for a in answers]
    assert errors["E0000068"] + errors["E0000069"] <= MAX_ATTEMPTS, errors
    assert errors["E0000069"] <= 1, errors
    assert 1 <= cluster.judged("factor") <= MAX_ATTEMPTS, cluster.judged("factor")
    assert _status(cluster, user) == "LOCKED_OUT"


def test_a_lock_set_on_one_server_holds_on_the_other_at_once(cluster: Cluster) -> None:
    login = "two.hosts@example.com"
    user, factor = _user(cluster, login, mfa=True)
    a, b = cluster.bases
    older = []
    for _ in range(2):  # opened on B before the lock
        start = _sign_in(b, login)
        assert start.body["status"] == "MFA_REQUIRED", start.body
        older.append(start.body["stateToken"])
    answers = [_sign_in(a, login, WRONG) for _ in range(MAX_ATTEMPTS)]
    assert answers[-1].shape == LOCKED  # locked through A
    cluster.forget_judged()
    # B at once: the password, and the older transactions whatever the code.
    assert _sign_in(b, login).shape == LOCKED
    path = f"/api/v1/authn/factors/{factor['id']}/verify"
    right = pyotp.TOTP(factor["secret"]).now()
    with_right = post(b, path, {"stateToken": older[0], "passCode": right})
    with_wrong = post(b, path, {"stateToken": older[1], "passCode": "000000"})
    assert with_right.shape == with_wrong.shape == LOCKED, (with_right.body, with_wrong.body)
    assert cluster.judged("password") == cluster.judged("factor") == 0
    for token in older:  # over, on either server
        assert post(a, "/api/v1/authn", {"stateToken": token}).status == 401

    # An admin's suspension through A holds on B at once too.
    cluster.admin("POST", f"/api/v1/users/{user['id']}/lifecycle/unlock")
    start = _sign_in(b, login)
    assert start.body["status"] == "MFA_REQUIRED", start.body
    cluster.admin("POST", f"/api/v1/users/{user['id']}/lifecycle/suspend")
    refused = _sign_in(b, login)
    assert refused.status == 401 and refused.error == "E0000004"
    r = post(b, path, {"stateToken": start.body["stateToken"], "passCode": right})
    assert r.status == 401 and r.error == "E0000011"
