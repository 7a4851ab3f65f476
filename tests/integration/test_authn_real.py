"""The /authn engine on a real PostgreSQL and Redis: races on one transaction."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyotp
import pytest
import redis

from app import create_app
from app.delivery import Outbox
from app.domain.policy import EffectivePolicy, SignOnSettings
from app.services import api_tokens
from app.services.authn import transaction as authn_service
from app.store import migrations
from tests.conftest import (
    PASSWORD,
    REAL_REDIS_URL,
    OktaClient,
    _reset_postgres,
    profile,
    settings_for,
)

pytestmark = pytest.mark.integration
LOGIN = "racer@example.com"
ANSWER = "Mr Bunny Rabbit"


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    _reset_postgres(postgres_url)
    redis.Redis.from_url(REAL_REDIS_URL).flushdb()
    # The rate limiter's counters are measured on their own (test_rate_limit_…).
    app = create_app(
        settings_for(
            tmp_path,
            database_url=postgres_url,
            redis_url=REAL_REDIS_URL,
            rate_limit_authn="off",
        )
    )
    migrations.upgrade(app.extensions["portcullis"].stores.database)
    mfa = EffectivePolicy(sign_on=SignOnSettings(require_factor=True))
    monkeypatch.setattr(authn_service, "effective_for", lambda ctx, uow, user: mfa)
    yield app
    app.extensions["portcullis"].stores.database.dispose()


def _user_with_question(app: Any) -> str:
    _, token = api_tokens.create_token(app.extensions["portcullis"], "race")
    admin = OktaClient(app.test_client(), token)
    body = {"profile": profile(LOGIN), "credentials": {"password": {"value": PASSWORD}}}
    user = admin.post("/api/v1/users?activate=true", json=body).get_json()
    r = admin.post(
        f"/api/v1/users/{user['id']}/factors",
        json={
            "factorType": "question",
            "profile": {"question": "name_of_first_plush_toy", "answer": ANSWER},
        },
    )
    assert r.status_code == 200, r.get_json()
    return str(r.get_json()["id"])


def _race(app: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def call(item: tuple[str, dict[str, Any]]) -> Any:
        path, body = item
        client = app.test_client()
        barrier.wait()
        return client.post(f"/api/v1/authn{path}", json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, calls))


def test_parallel_verifies_of_one_transaction_have_exactly_one_winner(pg_app: Any) -> None:
    factor_id = _user_with_question(pg_app)
    client = pg_app.test_client()
    for _round in range(5):
        token = client.post(
            "/api/v1/authn", json={"username": LOGIN, "password": PASSWORD}
        ).get_json()["stateToken"]
        body = {"stateToken": token, "answer": ANSWER}
        answers = _race(pg_app, [(f"/factors/{factor_id}/verify", body)] * 8)
        statuses = Counter(r.status_code for r in answers)
        assert statuses[200] == 1, [r.get_json() for r in answers]
        winners = [r.get_json() for r in answers if r.status_code == 200]
        assert winners[0]["status"] == "SUCCESS" and winners[0]["sessionToken"]
        for loser in (r for r in answers if r.status_code != 200):
            # Busy (another call holds the transaction) or already finished.
            assert loser.get_json()["errorCode"] in ("E0000079", "E0000011")
        spent = client.post("/api/v1/authn", json={"stateToken": token})
        assert spent.status_code == 401


def test_cancel_racing_verify_never_half_applies(pg_app: Any) -> None:
    factor_id = _user_with_question(pg_app)
    client = pg_app.test_client()
    ctx = pg_app.extensions["portcullis"]
    for _round in range(5):
        token = client.post(
            "/api/v1/authn", json={"username": LOGIN, "password": PASSWORD}
        ).get_json()["stateToken"]
        verify = (f"/factors/{factor_id}/verify", {"stateToken": token, "answer": ANSWER})
        cancel = ("/cancel", {"stateToken": token})
        answers = _race(pg_app, [verify, cancel, verify, cancel])
        ok = [r.get_json() for r in answers if r.status_code == 200]
        assert len(ok) == 1, [r.get_json() for r in answers]
        if ok[0]["status"] == "SUCCESS":
            assert ctx.stores.session_tokens.consume(ok[0]["sessionToken"]) is not None
        else:
            assert ok[0]["status"] == "UNAUTHENTICATED"
        assert client.post("/api/v1/authn", json={"stateToken": token}).status_code == 401


def _name(packed: Any) -> str:
    """The command name (and script sha prefix) of a packed Redis command."""
    raw = b"".join(packed) if isinstance(packed, list | tuple) else bytes(packed)
    parts = raw.split(b"\r\n")
    return b" ".join(parts[2:5:2]).decode(errors="replace")[:24]


def _spy_round_trips(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every command or pipeline the app sends to Redis from now on, by name."""
    calls: list[str] = []
    pool = ctx.stores.redis.connection_pool
    original = pool.get_connection

    def counting(*args: Any, **kwargs: Any) -> Any:
        connection = original(*args, **kwargs)
        if getattr(connection, "_spied", False):  # pooled connections come back
            return connection
        connection._spied = True
        send = connection.send_packed_command

        def spy(command: Any, *a: Any, **k: Any) -> Any:
            calls.append(_name(command))
            return send(command, *a, **k)

        connection.send_packed_command = spy
        return connection

    monkeypatch.setattr(pool, "get_connection", counting)
    return calls


def test_redis_round_trips_per_authn_call(pg_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Design target: at most two Redis round trips per /authn call on a transaction."""
    factor_id = _user_with_question(pg_app)
    client = pg_app.test_client()
    ctx = pg_app.extensions["portcullis"]

    def begin() -> str:
        return str(
            client.post("/api/v1/authn", json={"username": LOGIN, "password": PASSWORD}).get_json()[
                "stateToken"
            ]
        )

    warm = begin()  # loads the Lua scripts into the server once
    client.post("/api/v1/authn/previous", json={"stateToken": warm})
    client.post(
        f"/api/v1/authn/factors/{factor_id}/verify", json={"stateToken": warm, "answer": ANSWER}
    )
    token = begin()
    calls = _spy_round_trips(ctx, monkeypatch)
    # Primary auth: two. The attempt's lockout slot (INCR) before the password
    # is judged, then one pipeline (the new transaction, the lockout reset).
    begun = begin()
    assert len(calls) == 2 and calls[0].startswith("INCR"), calls
    client.post("/api/v1/authn/cancel", json={"stateToken": begun})
    calls.clear()
    r = client.post("/api/v1/authn", json={"stateToken": token})
    assert r.status_code == 200
    reads = len(calls)
    calls.clear()
    r = client.post("/api/v1/authn/previous", json={"stateToken": token})
    assert r.status_code == 403  # not allowed in MFA_REQUIRED: lease taken and dropped
    refused = len(calls)
    refused_calls = list(calls)
    calls.clear()
    r = client.post(
        f"/api/v1/authn/factors/{factor_id}/verify", json={"stateToken": token, "answer": ANSWER}
    )
    assert r.get_json()["status"] == "SUCCESS"
    assert reads == 1
    assert refused == 2, refused_calls
    # Two: lease+load, then one script that finishes the transaction, resets
    # the lockout counter and stores the sessionToken.
    assert len(calls) == 2, calls
    assert calls[0].startswith("EVALSHA"), calls


def test_code_checks_ride_in_the_save(pg_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A TOTP verify (with rememberDevice) and an SMS verify are two round trips
    each too: the replay / single-use check runs inside the save script."""
    ctx = pg_app.extensions["portcullis"]
    # No 30-second wait between the activation code and the sign-in's code.
    monkeypatch.setattr(ctx, "settings", replace(ctx.settings, otp_resend_after=0))
    _, admin_token = api_tokens.create_token(ctx, "trips")
    admin = OktaClient(pg_app.test_client(), admin_token)
    body = {"profile": profile(LOGIN), "credentials": {"password": {"value": PASSWORD}}}
    user = admin.post("/api/v1/users?activate=true", json=body).get_json()
    base = f"/api/v1/users/{user['id']}/factors"
    totp = admin.post(base, json={"factorType": "token:software:totp", "provider": "GOOGLE"})
    secret = totp.get_json()["_embedded"]["activation"]["sharedSecret"]
    now = time.time()
    r = admin.post(
        f"{base}/{totp.get_json()['id']}/lifecycle/activate",
        json={"passCode": pyotp.TOTP(secret).at(now)},
    )
    assert r.status_code == 200, r.get_json()
    outbox = Outbox(ctx.stores.redis)
    sms = admin.post(base, json={"factorType": "sms", "profile": {"phoneNumber": "+14155550123"}})
    assert sms.status_code == 200, sms.get_json()
    code = re.findall(r"\b\d{6}\b", outbox.messages(to="+14155550123")[0].body)[0]
    r = admin.post(f"{base}/{sms.get_json()['id']}/lifecycle/activate", json={"passCode": code})
    assert r.status_code == 200, r.get_json()
    client = pg_app.test_client()

    def begin() -> str:
        r = client.post("/api/v1/authn", json={"username": LOGIN, "password": PASSWORD})
        assert r.get_json()["status"] == "MFA_REQUIRED", r.get_json()
        return str(r.get_json()["stateToken"])

    # A code for the next step: the activation used this one (skew allows one step).
    totp_token, next_code = begin(), pyotp.TOTP(secret).at(now + 30)
    sms_token = begin()
    sent = client.post(
        f"/api/v1/authn/factors/{sms.get_json()['id']}/verify", json={"stateToken": sms_token}
    )
    assert sent.get_json()["status"] == "MFA_CHALLENGE"
    sms_code = re.findall(r"\b\d{6}\b", outbox.messages(to="+14155550123")[0].body)[0]

    calls = _spy_round_trips(ctx, monkeypatch)
    r = client.post(
        f"/api/v1/authn/factors/{totp.get_json()['id']}/verify?rememberDevice=true",
        json={"stateToken": totp_token, "passCode": next_code},
    )
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    assert len(calls) == 2, calls
    calls.clear()
    r = client.post(
        f"/api/v1/authn/factors/{sms.get_json()['id']}/verify",
        json={"stateToken": sms_token, "passCode": sms_code},
    )
    assert r.get_json().get("status") == "SUCCESS", r.get_json()
    assert len(calls) == 2, calls

    # The same TOTP code again, on a new transaction: refused as a replay, and
    # that transaction is unchanged (still MFA_REQUIRED, and not busy).
    again = begin()
    r = client.post(
        f"/api/v1/authn/factors/{totp.get_json()['id']}/verify",
        json={"stateToken": again, "passCode": next_code},
    )
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000082", r.get_json()
    state = client.post("/api/v1/authn", json={"stateToken": again}).get_json()
    assert state["status"] == "MFA_REQUIRED"
    r = client.post("/api/v1/authn/cancel", json={"stateToken": again})
    assert r.get_json()["status"] == "UNAUTHENTICATED"


def test_activation_in_the_flow_is_two_round_trips(
    pg_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = pg_app.extensions["portcullis"]
    _, admin_token = api_tokens.create_token(ctx, "enrol")
    admin = OktaClient(pg_app.test_client(), admin_token)
    body = {"profile": profile(LOGIN), "credentials": {"password": {"value": PASSWORD}}}
    assert admin.post("/api/v1/users?activate=true", json=body).status_code == 200
    client = pg_app.test_client()
    r = client.post("/api/v1/authn", json={"username": LOGIN, "password": PASSWORD})
    assert r.get_json()["status"] == "MFA_ENROLL", r.get_json()
    token = r.get_json()["stateToken"]
    r = client.post(
        "/api/v1/authn/factors",
        json={"stateToken": token, "factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    assert r.get_json()["status"] == "MFA_ENROLL_ACTIVATE", r.get_json()
    factor = r.get_json()["_embedded"]["factor"]
    secret = factor["_embedded"]["activation"]["sharedSecret"]
    activate = f"/api/v1/authn/factors/{factor['id']}/lifecycle/activate"
    wrong = client.post(activate, json={"stateToken": token, "passCode": "000000"})
    assert wrong.status_code == 403 and wrong.get_json()["errorCode"] == "E0000068"

    calls = _spy_round_trips(ctx, monkeypatch)
    r = client.post(activate, json={"stateToken": token, "passCode": pyotp.TOTP(secret).now()})
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    assert len(calls) == 2, calls
    user_factors = admin.get(f"/api/v1/users/{LOGIN}/factors").get_json()
    assert [(f["id"], f["status"]) for f in user_factors] == [(factor["id"], "ACTIVE")]


def test_rate_limit_counters_are_shared_by_workers(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app instances (two workers, or two hosts) on one Redis share each
    client's count; the count costs no round trip of its own: an unknown
    user's one round trip (where a known user's takes its lockout slot) is
    the count (app.store.rate_limit)."""
    redis.Redis.from_url(REAL_REDIS_URL).flushdb()
    settings = settings_for(
        tmp_path,
        database_url=postgres_url,
        redis_url=REAL_REDIS_URL,
        rate_limit_authn="4 per minute",
    )
    _reset_postgres(postgres_url)
    workers = [create_app(settings), create_app(settings)]
    migrations.upgrade(workers[0].extensions["portcullis"].stores.database)
    try:
        body = {"username": "nobody@example.com", "password": "not it"}
        first = workers[0].test_client().post("/api/v1/authn", json=body)
        assert first.status_code == 401 and first.headers["X-Rate-Limit-Remaining"] == "3"
        calls = _spy_round_trips(workers[1].extensions["portcullis"], monkeypatch)
        second = workers[1].test_client().post("/api/v1/authn", json=body)
        assert second.status_code == 401 and second.headers["X-Rate-Limit-Remaining"] == "2"
        assert len(calls) == 1 and calls[0].startswith("EVAL"), calls
        answers = [workers[i % 2].test_client().post("/api/v1/authn", json=body) for i in range(3)]
        assert [r.status_code for r in answers] == [401, 401, 429]
        assert answers[-1].get_json()["errorCode"] == "E0000047"
        assert int(answers[-1].headers["Retry-After"]) > 0
        other = (
            workers[1]
            .test_client()
            .post("/api/v1/authn", json=body, environ_base={"REMOTE_ADDR": "192.0.2.7"})
        )
        assert other.status_code == 401  # another client has its own count
    finally:
        for app in workers:
            app.extensions["portcullis"].stores.database.dispose()
