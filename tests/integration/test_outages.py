"""Store outages (issue 12, part 1): 503 with Retry-After, admin reads on
PostgreSQL go on while Redis is down, recovery without a restart, and one
log line when a store goes and one when it comes back.

A private ``redis-server`` on a free port is stopped and started again under
the app; PostgreSQL "down" is a URL whose port nothing listens on.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from app import create_app
from app.services import api_tokens
from app.store import migrations
from tests.compat.conftest import free_port
from tests.conftest import PASSWORD, OktaClient, profile, settings_for

pytestmark = pytest.mark.integration


class PrivateRedis:
    """A redis-server of the test's own. ``durable``: with the append-only
    file docs/deployment.md recommends (``everysec``), so a restart keeps
    the data; otherwise it keeps nothing on disk and a restart loses all."""

    def __init__(self, workdir: Path, durable: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is installed by scripts/ensure_services.sh"
        self.process = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "yes" if self.durable else "no",
                "--appendfsync",
                "everysec",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path, durable=True)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


def _app(tmp_path: Path, **overrides: Any) -> Any:
    settings = settings_for(tmp_path, outage_retry_after=7, redis_timeout=0.5, **overrides)
    application = create_app(settings)
    return application


def test_redis_down_is_503_with_retry_after_and_heals_without_a_restart(
    tmp_path: Path, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(tmp_path, redis_url=private_redis.url, rate_limit_authn="off")
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "outage")
    api, anonymous = OktaClient(app.test_client(), token), OktaClient(app.test_client(), None)
    body = {"profile": profile(), "credentials": {"password": {"value": PASSWORD}}}
    user = api.post("/api/v1/users", json=body).get_json()
    sign_in = {"username": user["profile"]["login"], "password": PASSWORD}
    assert anonymous.post("/api/v1/authn", json=sign_in).get_json()["status"] == "SUCCESS"

    private_redis.stop()
    caplog.set_level(logging.WARNING, logger="portcullis.outages")
    for _ in range(5):
        r = anonymous.post("/api/v1/authn", json=sign_in)
        assert r.status_code == 503, r.get_json()
        assert r.headers["Retry-After"] == "7"
        assert r.get_json()["errorCode"] == "E0000010"
        assert r.get_json()["errorCauses"] == [
            {"errorSummary": "Redis is unreachable: try again in 7 seconds."}
        ]
    # The admin APIs that need only PostgreSQL go on.
    assert api.get(f"/api/v1/users/{user['id']}").status_code == 200
    down = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert down == ["Redis is unreachable (ConnectionError): answering 503"]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback per request

    private_redis.start()
    time.sleep(1.1)  # past the probe interval
    assert anonymous.post("/api/v1/authn", json=sign_in).get_json()["status"] == "SUCCESS"
    back = _logged_soon(caplog, "answers again")
    assert len(back) == 1
    assert re.fullmatch(
        r"Redis answers again after \d+\.\d s; 5 requests were refused with 503", back[0]
    ), back


def _logged_soon(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    """The lines holding ``words``, once one is there: the probe that notices
    a recovery runs in a thread of its own."""
    deadline = time.monotonic() + 5
    while True:
        lines = [r.getMessage() for r in caplog.records if words in r.getMessage()]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_the_database_down_is_503_for_admin_and_sign_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()
    app = _app(
        tmp_path,
        database_url=f"postgresql://postgres@127.0.0.1:{closed}/nothing",
        database_connect_timeout=1,
    )
    api, anonymous = (
        OktaClient(app.test_client(), "00-any-token"),
        OktaClient(app.test_client(), None),
    )
    caplog.set_level(logging.WARNING, logger="portcullis.outages")
    for client, path, body in (
        (api, "/api/v1/users", None),
        (anonymous, "/api/v1/authn", {"username": "a@example.com", "password": "x"}),
    ):
        r = client.post(path, json=body) if body else client.get(path)
        assert r.status_code == 503, r.get_json()
        assert r.headers["Retry-After"] == "7"
        assert r.get_json()["errorCode"] == "E0000010"
        assert "The database is unreachable" in r.get_json()["errorCauses"][0]["errorSummary"]
    down = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(down) == 1 and down[0].startswith("The database is unreachable (")


def test_the_workos_api_answers_503_in_its_own_shape(tmp_path: Path) -> None:
    closed = free_port()
    app = _app(tmp_path, redis_url=f"redis://127.0.0.1:{closed}/0")
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    from app.services import workos_mfa

    _, key = workos_mfa.create_api_key(ctx, "outage")
    client = app.test_client()
    enrolled = client.post(
        "/auth/factors/enroll",
        json={"type": "totp", "totp_issuer": "Acme", "totp_user": "a@example.com"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert enrolled.status_code == 201  # the factor is in PostgreSQL/SQLite only
    r = client.post(
        f"/auth/factors/{enrolled.get_json()['id']}/challenge",
        json={},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 503 and r.headers["Retry-After"] == "7"
    assert r.get_json()["code"] == "service_unavailable"


def test_a_schema_error_is_still_a_bug_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Not every OperationalError is an outage: SQLite's "no such table" (a
    database nobody migrated) is a 500 whose traceback is logged."""
    app = _app(tmp_path)  # not migrated
    r = OktaClient(app.test_client(), "00-any-token").get("/api/v1/users")
    assert r.status_code == 500 and r.get_json()["errorCode"] == "E0000009"
    assert "Retry-After" not in r.headers
    assert any(record.exc_info for record in caplog.records)


def test_liveness_stays_200_while_readiness_names_the_store_that_went(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    """An orchestrator restarts a worker whose liveness check fails: Redis
    blinking must not do that, since the workers heal on their own."""
    app = _app(tmp_path, redis_url=private_redis.url)
    migrations.upgrade(app.extensions["portcullis"].stores.database)
    client = app.test_client()
    assert client.get("/healthz/live").get_json() == {"status": "ok"}
    assert client.get("/healthz").status_code == 200

    private_redis.stop()
    live = client.get("/healthz/live")
    assert live.status_code == 200 and live.get_json() == {"status": "ok"}
    ready = client.get("/healthz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["redis"].startswith("failed: ")
    assert ready.get_json()["checks"]["database"] == "ok"

    private_redis.start()
    assert client.get("/healthz").status_code == 200


# ---- fail closed: no sign-in step proceeds on a guess while Redis is down ----

CODE_STEP = 30  # seconds: one TOTP time step


def _refused_for_the_outage(r: Any) -> None:
    assert r.status_code == 503, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.headers["Retry-After"] == "7"


@pytest.mark.parametrize("rate_limit", ["300 per minute", "off"])
def test_every_sign_in_step_refuses_with_503_while_redis_is_down_and_resumes_after(
    tmp_path: Path, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch, rate_limit: str
) -> None:
    """Redis holds the transactions, lockout counters, replay marks and
    sessions: while it cannot be read, every step that would judge one of
    them answers 503, whatever it was sent (a right or a wrong code or
    password, a known or an unknown user), so the outage is neither an
    opening nor an oracle. After it, the open transaction goes on as if
    nothing happened: nothing was half-consumed.

    With the rate limiter on, its Redis counter refuses every /authn call
    first; with it off, each step must refuse on its own."""
    from app.services.authn import transaction as authn_service
    from tests.api.test_authn import Policy, enroll_active, totp_now
    from tests.conftest import FrozenClock

    clock = FrozenClock()
    settings = settings_for(
        tmp_path,
        outage_retry_after=7,
        redis_timeout=0.5,
        redis_url=private_redis.url,
        rate_limit_authn=rate_limit,
    )
    app = create_app(settings, clock=clock)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    holder = Policy()
    holder.require_mfa()
    monkeypatch.setattr(authn_service, "effective_for", lambda ctx, uow, user: holder.value)
    _, token = api_tokens.create_token(ctx, "outage")
    api, anonymous = OktaClient(app.test_client(), token), OktaClient(app.test_client(), None)
    body = {"profile": profile(), "credentials": {"password": {"value": PASSWORD}}}
    user = api.post("/api/v1/users", json=body).get_json()
    login = user["profile"]["login"]
    totp = enroll_active(api, user, "token:software:totp", None, clock)
    others = {}  # a suspended and a deactivated user: refused like the rest
    for status, lifecycle in (("suspended", "suspend"), ("deactivated", "deactivate")):
        other = {**body, "profile": profile(f"{status}@example.com")}
        other_id = api.post("/api/v1/users", json=other).get_json()["id"]
        r = api.post(f"/api/v1/users/{other_id}/lifecycle/{lifecycle}")
        assert r.status_code == 200, r.get_json()
        others[status] = f"{status}@example.com"
    clock.advance(seconds=CODE_STEP)  # the activation's code is spent
    r = anonymous.post("/api/v1/authn", json={"username": login, "password": PASSWORD})
    assert r.get_json()["status"] == "MFA_REQUIRED", r.get_json()
    state = r.get_json()["stateToken"]
    verify = f"/api/v1/authn/factors/{totp['id']}/verify"
    right_code = totp_now(totp["secret"], clock)
    wrong_code = f"{(int(right_code) + 1) % 1_000_000:06d}"

    private_redis.stop()
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("right password", "/api/v1/authn", {"username": login, "password": PASSWORD}),
        ("wrong password", "/api/v1/authn", {"username": login, "password": "not-it-1A!"}),
        ("unknown user", "/api/v1/authn", {"username": "nobody@example.com", "password": "x"}),
        *(
            (f"{status} user", "/api/v1/authn", {"username": other, "password": PASSWORD})
            for status, other in others.items()
        ),
        ("status", "/api/v1/authn", {"stateToken": state}),
        ("right code", verify, {"stateToken": state, "passCode": right_code}),
        ("wrong code", verify, {"stateToken": state, "passCode": wrong_code}),
        ("cancel", "/api/v1/authn/cancel", {"stateToken": state}),
        ("forged state", "/api/v1/authn", {"stateToken": "00" + "x" * 40}),
        ("recovery", "/api/v1/authn/recovery/password", {"username": login, "factorType": "EMAIL"}),
        ("unlock", "/api/v1/authn/recovery/unlock", {"username": login, "factorType": "EMAIL"}),
    ]
    for name, path, payload in steps:
        r = anonymous.post(path, json=payload)
        assert r.status_code == 503, (name, r.status_code, r.get_json())
        assert r.headers["Retry-After"] == "7", name
        assert r.get_json()["errorCode"] == "E0000010", name
    # The Factors API's verify keeps replay marks in Redis too.
    r = api.post(
        f"/api/v1/users/{user['id']}/factors/{totp['id']}/verify", json={"passCode": right_code}
    )
    _refused_for_the_outage(r)
    # A session cookie cannot be checked, so it is not honoured.
    anonymous.client.set_cookie("sid", "102" + "a" * 30)
    _refused_for_the_outage(anonymous.get("/api/v1/sessions/me"))
    _refused_for_the_outage(
        anonymous.client.get(
            "/login/sessionCookieRedirect?token=20111abc&redirectUrl=http://portcullis.test/app"
        )
    )

    private_redis.start()
    time.sleep(1.1)
    # The transaction is where it was, and the code nobody could judge is still good.
    assert (
        anonymous.post("/api/v1/authn", json={"stateToken": state}).get_json()["status"]
        == "MFA_REQUIRED"
    )
    r = anonymous.post(verify, json={"stateToken": state, "passCode": right_code})
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"


def test_a_redis_that_never_answers_is_a_503_not_a_hang(tmp_path: Path) -> None:
    """A Redis behind a partition accepts connections (or a load balancer does)
    and never replies: the request tries twice (``REDIS_TIMEOUT`` each, one
    retry), far below gunicorn's 30-second worker timeout, not redis-py's
    default of several retries, each with a health-check PING."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:  # closed
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        port = listener.getsockname()[1]
        app = _app(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0", rate_limit_authn="off")
        migrations.upgrade(app.extensions["portcullis"].stores.database)
        r = app.test_client().post("/api/v1/authn", json={"stateToken": "00" + "x" * 40})
        assert r.status_code == 503 and r.headers["Retry-After"] == "7", r.get_json()
        for _ in range(20):  # the accepting thread may lag the client by a moment
            if len(accepted) >= 2:
                break
            time.sleep(0.05)
        assert len(accepted) == 2  # the try and its one retry (redis-py's default: 11)
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def test_the_admin_apis_that_need_only_the_database_go_on_while_redis_is_down(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    """Reads and writes of users, groups, policies, factors and trusted origins
    keep answering; what needs Redis (a session, an activation e-mail's
    token) answers 503 and changes nothing."""
    app = _app(tmp_path, redis_url=private_redis.url)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "outage")
    api = OktaClient(app.test_client(), token)
    body = {"profile": profile(), "credentials": {"password": {"value": PASSWORD}}}
    user = api.post("/api/v1/users", json=body).get_json()
    group = api.post("/api/v1/groups", json={"profile": {"name": "Staff"}}).get_json()

    private_redis.stop()
    uid, gid = user["id"], group["id"]
    answered = {
        "list users": api.get("/api/v1/users?limit=5"),
        "search users": api.get('/api/v1/users?search=profile.lastName eq "Brock"'),
        "get user": api.get(f"/api/v1/users/{uid}"),
        "update profile": api.post(
            f"/api/v1/users/{uid}", json={"profile": {"nickName": "while Redis was down"}}
        ),
        "create user": api.post(
            "/api/v1/users?activate=false",
            json={"profile": profile("staged@example.com")},
        ),
        "list groups": api.get("/api/v1/groups"),
        "add to group": api.put(f"/api/v1/groups/{gid}/users/{uid}"),
        "group members": api.get(f"/api/v1/groups/{gid}/users"),
        "user's groups": api.get(f"/api/v1/users/{uid}/groups"),
        "list policies": api.get("/api/v1/policies?type=OKTA_SIGN_ON"),
        "enroll a question": api.post(
            f"/api/v1/users/{uid}/factors",
            json={
                "factorType": "question",
                "provider": "OKTA",
                "profile": {"question": "favorite_art_piece", "answer": "Les Demoiselles"},
            },
        ),
        "list factors": api.get(f"/api/v1/users/{uid}/factors"),
        "list trusted origins": api.get("/api/v1/trustedOrigins"),
    }
    failed = {
        name: (r.status_code, r.get_json()) for name, r in answered.items() if r.status_code >= 300
    }
    assert not failed, failed
    assert api.get(f"/api/v1/users/{uid}").get_json()["profile"]["nickName"] == (
        "while Redis was down"
    )
    # A change that must end the user's sessions needs Redis: refused whole,
    # the user unchanged, so that the retry does it all.
    r = api.post(f"/api/v1/users/{uid}/lifecycle/suspend")
    assert r.status_code == 503 and r.headers["Retry-After"] == "7", r.get_json()
    assert api.get(f"/api/v1/users/{uid}").get_json()["status"] == "ACTIVE"
    new_password = {"credentials": {"password": {"value": "An0ther-Passw0rd!"}}}
    r = api.post(f"/api/v1/users/{uid}", json=new_password)
    assert r.status_code == 503, r.get_json()

    private_redis.start()
    anonymous = OktaClient(app.test_client(), None)
    sign_in = {"username": user["profile"]["login"], "password": PASSWORD}
    r = anonymous.post("/api/v1/authn", json=sign_in)  # the old password still works
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    session = api.post("/api/v1/sessions", json={"sessionToken": r.get_json()["sessionToken"]})
    assert session.status_code == 200
    assert api.post(f"/api/v1/users/{uid}/lifecycle/suspend").status_code == 200
    assert api.get(f"/api/v1/sessions/{session.get_json()['id']}").status_code == 404
