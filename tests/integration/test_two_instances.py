"""Two server instances on one PostgreSQL and one Redis (issue 13, P6).

Two gunicorn processes serve ``wsgi:app`` on two loopback ports, each with
an instance folder of its own but the same ``DATABASE_URL``, ``REDIS_URL``,
``SECRET_KEY``, ``ENCRYPTION_KEY`` and ``BASE_URL``, as two hosts behind a
load balancer without sticky sessions (docs/scaling.md). Each flow begins
on A and ends on B: nothing a request leaves behind may live only in the
process that served it, and no refusal (a replayed code, a lockout count, a
revoked token, a spent challenge) may be escaped by moving to the other
instance. The Redis is a private redis-server; the operator's own process
(this one) creates and revokes tokens, as the CLI would.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest

from app import create_app
from app.config import Settings
from app.services import api_tokens, workos_mfa
from app.store import migrations
from tests.compat.conftest import Admin, free_port, gunicorn
from tests.conftest import PASSWORD, _reset_postgres, settings_for
from tests.integration.test_outages import PrivateRedis

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3
WRONG = "Wrong-Password-1"
#: How long an instance may go on accepting an API token after it was
#: revoked: each process trusts a token it found active for
#: API_TOKEN_CACHE_SECONDS (the default here; docs/configuration.md). The test
#: allows that long, and not a second more.
API_TOKEN_CACHE_SECONDS = Settings.api_token_cache_seconds


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> str | None:
        return self.body.get("errorCode") if isinstance(self.body, dict) else None


def call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    ssws: str | None = None,
    bearer: str | None = None,
) -> Answer:
    """One request; any status is an answer (the refusals are the point)."""
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if ssws:
        headers["Authorization"] = f"SSWS {ssws}"
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    return Answer(status, json.loads(raw) if raw else None, got)


@dataclass
class Pair:
    """Instances A and B, the admin API through A, and the operator's own app
    on the same stores (for what the CLI does: tokens and keys)."""

    a: str
    b: str
    token: str
    workos_key: str
    operator: Any

    @property
    def admin(self) -> Admin:
        return Admin(self.a, self.token)


@pytest.fixture(scope="module")
def pair(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("two-instances")
    redis_server = PrivateRedis(tmp)
    redis_server.start()
    _reset_postgres(postgres_url)
    settings = settings_for(tmp, database_url=postgres_url, redis_url=redis_server.url)
    operator = create_app(settings).extensions["portcullis"]
    migrations.upgrade(operator.stores.database)
    _, token = api_tokens.create_token(operator, "two instances")
    _, workos_key = workos_mfa.create_api_key(operator, "two instances")
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_server.url,
        # What every instance must share (docs/scaling.md): the keys that sign
        # and encrypt, and the public address behind the load balancer.
        "SECRET_KEY": settings.secret_key,
        "ENCRYPTION_KEY": settings.encryption_key,
        "BASE_URL": "http://portcullis.test",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
    }
    for name in ("SMTP_HOST", "TWILIO_ACCOUNT_SID"):
        env.pop(name, None)
    instances = [
        {**env, "PORTCULLIS_INSTANCE": str(tmp / f"instance-{i}"), "PORT": str(free_port())}
        for i in range(2)
    ]
    try:
        with (
            gunicorn(instances[0], tmp / "server-0.log") as a,
            gunicorn(instances[1], tmp / "server-1.log") as b,
        ):
            yield Pair(a, b, token, workos_key, operator)
    finally:
        operator.stores.database.dispose()
        redis_server.stop()


def _mfa_user(pair: Pair, login: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A user whose sign-on policy asks for a factor, with an active Google
    Authenticator (activated with the previous step's code: the current
    step's is still unused)."""
    group = pair.admin.group(f"group of {login}")
    pair.admin.require_mfa(group)
    user = pair.admin.user(login, group)
    return user, pair.admin.active_totp(user["id"])


def _fresh_code(secret: str) -> str:
    """The current step's code, with time to use it twice before the step turns."""
    if time.time() % 30 > 25:
        time.sleep(30 - time.time() % 30 + 0.1)
    return pyotp.TOTP(secret).now()


def test_a_sign_in_begun_on_a_finishes_on_b_and_its_session_is_seen_on_both(
    pair: Pair,
) -> None:
    user, factor = _mfa_user(pair, "roaming@example.com")
    login = {"username": "roaming@example.com", "password": PASSWORD}
    start = call(pair.a, "POST", "/api/v1/authn", login)
    assert start.status == 200 and start.body["status"] == "MFA_REQUIRED", start.body

    path = f"/api/v1/authn/factors/{factor['id']}/verify"
    code = _fresh_code(factor["secret"])
    done = call(pair.b, "POST", path, {"stateToken": start.body["stateToken"], "passCode": code})
    assert done.status == 200 and done.body["status"] == "SUCCESS", done.body
    # The transaction ended on B: A does not know it any more either.
    over = call(pair.a, "POST", "/api/v1/authn", {"stateToken": start.body["stateToken"]})
    assert over.status == 401 and over.error == "E0000011", over.body

    session_token = done.body["sessionToken"]
    made = call(
        pair.a, "POST", "/api/v1/sessions", {"sessionToken": session_token}, ssws=pair.token
    )
    assert made.status == 200 and made.body["userId"] == user["id"], made.body
    # A sessionToken is spent once, whichever instance is asked the second time.
    again = call(
        pair.b, "POST", "/api/v1/sessions", {"sessionToken": session_token}, ssws=pair.token
    )
    assert again.status == 403 and again.error == "E0000005", again.body

    seen = call(pair.b, "GET", f"/api/v1/sessions/{made.body['id']}", ssws=pair.token)
    assert seen.status == 200 and seen.body["id"] == made.body["id"], seen.body
    assert seen.body["userId"] == user["id"]
    # Ended through B, it is gone on A.
    ended = call(pair.b, "DELETE", f"/api/v1/sessions/{made.body['id']}", ssws=pair.token)
    assert ended.status == 204, ended.body
    gone = call(pair.a, "GET", f"/api/v1/sessions/{made.body['id']}", ssws=pair.token)
    assert gone.status == 404 and gone.error == "E0000007", gone.body


def test_a_totp_code_used_on_a_is_a_replay_on_b(pair: Pair) -> None:
    user, factor = _mfa_user(pair, "replay@example.com")
    code = _fresh_code(factor["secret"])
    verify = f"/api/v1/users/{user['id']}/factors/{factor['id']}/verify"
    ok = call(pair.a, "POST", verify, {"passCode": code}, ssws=pair.token)
    assert ok.status == 200 and ok.body == {"factorResult": "SUCCESS"}, ok.body

    replay = call(pair.b, "POST", verify, {"passCode": code}, ssws=pair.token)
    assert replay.status == 403 and replay.error == "E0000082", replay.body
    # Nor through a sign-in transaction on B.
    start = call(
        pair.b,
        "POST",
        "/api/v1/authn",
        {"username": user["profile"]["login"], "password": PASSWORD},
    )
    assert start.body["status"] == "MFA_REQUIRED", start.body
    in_flow = call(
        pair.b,
        "POST",
        f"/api/v1/authn/factors/{factor['id']}/verify",
        {"stateToken": start.body["stateToken"], "passCode": code},
    )
    assert in_flow.status == 403 and in_flow.error == "E0000082", in_flow.body


def test_failed_passwords_alternating_a_and_b_lock_the_user(pair: Pair) -> None:
    login = "alternating@example.com"
    group = pair.admin.group(f"group of {login}")
    pair.admin.lock_after(group, MAX_ATTEMPTS)
    user = pair.admin.user(login, group)
    bases = [pair.a, pair.b]
    answers = [
        call(bases[i % 2], "POST", "/api/v1/authn", {"username": login, "password": WRONG})
        for i in range(MAX_ATTEMPTS)
    ]
    assert [a.error for a in answers[:-1]] == ["E0000004"] * (MAX_ATTEMPTS - 1)
    assert answers[-1].status == 200 and answers[-1].body["status"] == "LOCKED_OUT"
    # One count, not one per instance: the right password is refused on both.
    for base in bases:
        right = call(base, "POST", "/api/v1/authn", {"username": login, "password": PASSWORD})
        assert right.body["status"] == "LOCKED_OUT", right.body
    assert pair.admin("GET", f"/api/v1/users/{user['id']}")["status"] == "LOCKED_OUT"
    # The per-client rate limit is one budget too: each call, on either
    # instance, took one from the same window (or a new window began).
    windows = [
        (int(a.headers["X-Rate-Limit-Remaining"]), a.headers["X-Rate-Limit-Reset"]) for a in answers
    ]
    for (before, window), (after, next_window) in itertools.pairwise(windows):
        assert after == before - 1 or next_window != window, windows


def test_a_workos_challenge_made_on_a_is_verified_on_b_once(pair: Pair) -> None:
    key = pair.workos_key
    enrolled = call(
        pair.a,
        "POST",
        "/auth/factors/enroll",
        {"type": "totp", "totp_issuer": "Acme", "totp_user": "workos@example.com"},
        bearer=key,
    )
    assert enrolled.status == 201, enrolled.body
    factor_id, secret = enrolled.body["id"], enrolled.body["totp"]["secret"]
    challenge = call(pair.a, "POST", f"/auth/factors/{factor_id}/challenge", {}, bearer=key)
    assert challenge.status == 201, challenge.body
    verify = f"/auth/challenges/{challenge.body['id']}/verify"

    code = _fresh_code(secret)
    ok = call(pair.b, "POST", verify, {"code": code}, bearer=key)
    assert ok.status == 200 and ok.body["valid"] is True, ok.body
    spent = call(pair.a, "POST", verify, {"code": code}, bearer=key)
    assert spent.status == 422, spent.body
    assert spent.body["code"] == "authentication_challenge_previously_verified"
    # The same code on a new challenge made on B, verified on A: a replay.
    other = call(pair.b, "POST", f"/auth/factors/{factor_id}/challenge", {}, bearer=key)
    replay = call(
        pair.a, "POST", f"/auth/challenges/{other.body['id']}/verify", {"code": code}, bearer=key
    )
    assert replay.status == 200 and replay.body["valid"] is False, replay.body


def _refused_everywhere(pair: Pair, path: str, **auth: str) -> None:
    """Every instance refuses ``auth`` on ``path`` within API_TOKEN_CACHE_SECONDS."""
    deadline = time.monotonic() + API_TOKEN_CACHE_SECONDS
    for base in (pair.a, pair.b):
        while True:
            answer = call(base, "GET", path, **auth)
            if answer.status == 401 or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        assert answer.status == 401, (base, answer.status, answer.body)


def test_a_revoked_token_is_refused_by_both_instances(pair: Pair) -> None:
    record, token = api_tokens.create_token(pair.operator, "short-lived")
    key_record, key = workos_mfa.create_api_key(pair.operator, "short-lived")
    for base in (pair.a, pair.b):  # used on both first: a cache would hold them now
        assert call(base, "GET", "/api/v1/users", ssws=token).status == 200
        assert call(base, "GET", "/auth/factors/auth_factor_none", bearer=key).status == 404

    assert api_tokens.revoke_token(pair.operator, record.id)
    assert workos_mfa.revoke_api_key(pair.operator, key_record.id)
    _refused_everywhere(pair, "/api/v1/users", ssws=token)
    assert call(pair.a, "GET", "/api/v1/users", ssws=token).error == "E0000011"
    _refused_everywhere(pair, "/auth/factors/auth_factor_none", bearer=key)
    # The token that was not revoked goes on working on both.
    for base in (pair.a, pair.b):
        assert call(base, "GET", "/api/v1/users", ssws=pair.token).status == 200
