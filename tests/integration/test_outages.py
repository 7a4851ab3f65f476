"""Store outages (issue 12, part 1): 503 with Retry-After, admin reads on
PostgreSQL go on while Redis is down, recovery without a restart, and one
log line when a store goes and one when it comes back.

A private ``redis-server`` on a free port is stopped and started again under
the app; PostgreSQL "down" is a URL whose port nothing listens on.
"""

from __future__ import annotations

import logging
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
    """A redis-server of the test's own, keeping nothing on disk."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
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
                "no",
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
    server = PrivateRedis(tmp_path)
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
    back = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert back == ["Redis answers again"]


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
