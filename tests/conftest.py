"""Fixtures shared by every tier.

The ``app`` fixture is parametrised over two backends, so the same API test
bodies run on the embedded defaults (SQLite + fakeredis) and, marked
``integration``, on a real PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import Settings
from app.delivery import Outbox
from app.store import migrations
from app.store.redis_client import connect

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Per test run (process): two suites running at once on one machine (a
# developer's and CI's, or parallel checkouts) must not drop each other's
# database or flush each other's Redis. Redis has 16 databases: 1 to 15 here.
PG_DATABASE = os.environ.get("TEST_PG_DATABASE", f"portcullis_test_{os.getpid()}")
REAL_REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}")

BACKENDS = [
    pytest.param("embedded", id="sqlite-fakeredis"),
    pytest.param("real", id="postgres-redis", marks=pytest.mark.integration),
]


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty test database on the real PostgreSQL server, dropped after the run."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{PG_DATABASE}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


def _reset_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    base = Settings(
        instance_path=tmp_path / "instance",
        database_url=f"sqlite:///{tmp_path / 'portcullis.db'}",
        redis_url=f"fakeredis://{uuid.uuid4().hex}",
        secret_key="test-secret-key",
        encryption_key="test-encryption-key",
        base_url="http://portcullis.test",
        # Cheap argon2 in tests; the benchmarks measure the real cost.
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
    )
    return replace(base, **overrides)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> Iterator[Flask]:
    if request.param == "real":
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        redis.Redis.from_url(REAL_REDIS_URL).flushdb()
        settings = settings_for(tmp_path, database_url=url, redis_url=REAL_REDIS_URL)
    else:
        settings = settings_for(tmp_path)
    application = create_app(settings, clock=clock)
    ctx = application.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    yield application
    ctx.stores.database.dispose()


@pytest.fixture
def ctx(app: Flask) -> Any:
    return app.extensions["portcullis"]


@pytest.fixture
def outbox(ctx: Any) -> Outbox:
    return Outbox(ctx.stores.redis, clock=ctx.clock)


@pytest.fixture
def admin_token(ctx: Any) -> str:
    from app.services import api_tokens

    _, value = api_tokens.create_token(ctx, "tests")
    return value


class OktaClient:
    """The Flask test client with ``Authorization: SSWS`` and JSON by default."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"SSWS {self.token}"
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        kwargs["headers"] = self._headers(kwargs.get("headers"))
        return self.client.open(path, method=method, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(app: Flask, admin_token: str) -> OktaClient:
    return OktaClient(app.test_client(), admin_token)


@pytest.fixture
def anonymous(app: Flask) -> OktaClient:
    return OktaClient(app.test_client(), None)


def profile(login: str = "isaac.brock@example.com", **extra: Any) -> dict[str, Any]:
    first, _, _rest = login.partition("@")
    return {
        "login": login,
        "email": login,
        "firstName": first.split(".")[0].title(),
        "lastName": "Brock",
        **extra,
    }


PASSWORD = "Sup3r-Secret-Phrase"


@pytest.fixture
def make_user(api: OktaClient) -> Any:
    """``make_user()`` creates an ACTIVE user with ``PASSWORD``; returns its JSON."""

    def create(
        login: str = "isaac.brock@example.com",
        password: str | None = PASSWORD,
        activate: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"profile": profile(login, **extra)}
        if password:
            body["credentials"] = {"password": {"value": password}}
        response = api.post(f"/api/v1/users?activate={'true' if activate else 'false'}", json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return create


@pytest.fixture
def connect_real_redis() -> redis.Redis:
    return connect(REAL_REDIS_URL)
