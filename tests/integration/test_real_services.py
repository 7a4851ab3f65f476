"""On a real PostgreSQL and Redis: races, migrations, the CLI, and a live server."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from app import create_app
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
BIN = Path(sys.executable).parent


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Any:
    _reset_postgres(postgres_url)
    redis.Redis.from_url(REAL_REDIS_URL).flushdb()
    app = create_app(settings_for(tmp_path, database_url=postgres_url, redis_url=REAL_REDIS_URL))
    migrations.upgrade(app.extensions["portcullis"].stores.database)
    yield app
    app.extensions["portcullis"].stores.database.dispose()


def test_concurrent_creates_of_one_login_have_one_winner(pg_app: Any) -> None:
    from app.services import api_tokens

    _, token = api_tokens.create_token(pg_app.extensions["portcullis"], "race")

    def create(i: int) -> int:
        client = OktaClient(pg_app.test_client(), token)
        body = {
            "profile": profile("racer@example.com"),
            "credentials": {"password": {"value": PASSWORD}},
        }
        response = client.post("/api/v1/users", json=body)
        if response.status_code != 200:
            assert response.get_json()["errorCode"] == "E0000001"
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(8)))
    assert sorted(statuses) == [200] + [400] * 7


def test_migrations_go_down_and_up_without_dropping(postgres_url: str, tmp_path: Path) -> None:
    _reset_postgres(postgres_url)
    app = create_app(settings_for(tmp_path, database_url=postgres_url, redis_url=REAL_REDIS_URL))
    database = app.extensions["portcullis"].stores.database
    migrations.upgrade(database)
    migrations.upgrade(database)  # idempotent
    assert migrations.current(database) == migrations.head() == "0009"
    with psycopg.connect(postgres_url) as conn:
        (first_version,) = conn.execute("select version from policy_version").fetchone()
    migrations.downgrade(database, "base")
    assert migrations.current(database) is None
    migrations.upgrade(database)
    with psycopg.connect(postgres_url) as conn:
        (count,) = conn.execute("select count(*) from groups where type='BUILT_IN'").fetchone()
        defaults = conn.execute(
            "select type, name from policies where system order by type"
        ).fetchall()
    assert count == 1
    with psycopg.connect(postgres_url) as conn:
        ((row_id, version),) = conn.execute("select id, version from policy_version").fetchall()
    # Made again by the downgrade and upgrade: a number no process has held policies under.
    assert row_id == 1 and version > first_version
    assert defaults == [
        ("MFA_ENROLL", "Default Policy"),
        ("OKTA_SIGN_ON", "Default Policy"),
        ("PASSWORD", "Default Policy"),
    ]
    database.dispose()


def test_models_and_migrations_agree(postgres_url: str, tmp_path: Path) -> None:
    """The schema the migrations build is the one the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.store.models import Base

    _reset_postgres(postgres_url)
    app = create_app(settings_for(tmp_path, database_url=postgres_url, redis_url=REAL_REDIS_URL))
    database = app.extensions["portcullis"].stores.database
    migrations.upgrade(database)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    database.dispose()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


def test_cli_tokens_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    _reset_postgres(postgres_url)
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": REAL_REDIS_URL,
        "PORTCULLIS_INSTANCE": str(tmp_path / "instance"),
    }
    assert _cli(env, "db", "upgrade").returncode == 0
    first = _cli(env, "bootstrap")
    token_file = tmp_path / "instance" / "admin-token"
    token = token_file.read_text().strip()
    # captured, not a terminal: where the token is, never the token itself
    assert token not in first.stdout and str(token_file) in first.stdout
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert _cli(env, "bootstrap").stdout == ""  # only on the first start
    created = _cli(env, "create-token", "--name", "ci")
    new_token = created.stdout.strip().splitlines()[-1]
    assert new_token.startswith("00") and len(new_token) == 42
    listing = _cli(env, "list-tokens").stdout
    assert "ci" in listing and new_token not in listing and token not in listing
    token_id = next(line.split()[0] for line in listing.splitlines() if line.endswith(" ci"))
    assert _cli(env, "revoke-token", token_id).returncode == 0
    assert "revoked" in _cli(env, "list-tokens").stdout
    assert _cli(env, "revoke-token", token_id).returncode != 0
    user = _cli(env, "create-user", "--login", "cli@example.com", "--password", PASSWORD)
    assert user.returncode == 0 and "ACTIVE" in user.stdout
    weak = _cli(env, "create-user", "--login", "weak@example.com", "--password", "weak")
    assert weak.returncode != 0 and "Password requirements" in weak.stderr
    invited = _cli(env, "create-user", "--login", "invited@example.com")
    assert invited.returncode == 0 and "PROVISIONED" in invited.stdout
    # the activation e-mail went to the local outbox, which any process can print
    printed = _cli(env, "outbox", "-n", "1").stdout
    assert "email to invited@example.com" in printed and "/welcome/" in printed
    outbox_file = tmp_path / "instance" / "outbox.log"
    assert stat.S_IMODE(outbox_file.stat().st_mode) == 0o600
    seeded = _cli(env, "seed-demo")
    assert seeded.returncode == 0 and "password:" in seeded.stdout
    assert _cli(env, "seed-demo").returncode == 0  # safe to run twice


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(method: str, url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"SSWS {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.mark.parametrize("backend", ["embedded", "postgres-redis"])
def test_live_server(backend: str, postgres_url: str, tmp_path: Path) -> None:
    """What `make run` does, on each backend: migrate, bootstrap, serve, answer."""
    port = _free_port()
    env = {
        "PORTCULLIS_INSTANCE": str(tmp_path / "instance"),
        "PORT": str(port),
        "ARGON2_MEMORY_COST": "8192",
        "ARGON2_TIME_COST": "1",
    }
    if backend == "postgres-redis":
        _reset_postgres(postgres_url)
        redis.Redis.from_url(REAL_REDIS_URL).flushdb()
        env.update(DATABASE_URL=postgres_url, REDIS_URL=REAL_REDIS_URL)
    assert _cli(env, "db", "upgrade").returncode == 0
    printed = _cli(env, "bootstrap").stdout
    token = (tmp_path / "instance" / "admin-token").read_text().strip()
    assert "admin-token" in printed and token not in printed
    workers = "2" if backend == "postgres-redis" else "1"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", workers, "wsgi:app"],
        env={**os.environ, **env},
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _http("GET", f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        status, health = _http("GET", f"{base}/healthz")
        assert status == 200 and health["checks"] == {"database": "ok", "redis": "ok"}
        assert _http("GET", f"{base}/api/v1/users")[0] == 401
        status, user = _http(
            "POST",
            f"{base}/api/v1/users?activate=true",
            token,
            {"profile": profile(), "credentials": {"password": {"value": PASSWORD}}},
        )
        assert status == 200 and user["status"] == "ACTIVE"
        assert user["_links"]["self"]["href"] == f"{base}/api/v1/users/{user['id']}"
        # Every worker sees the same data (one shared database and Redis).
        for _ in range(6):
            assert _http("GET", f"{base}/api/v1/users/{user['id']}", token)[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_one_code_verifies_once_under_concurrency(pg_app: Any) -> None:
    """Eight parallel verifications of one TOTP code and one SMS code on real
    Redis: exactly one SUCCESS each, the rest refused, none a 500."""
    import pyotp

    from app.delivery import Outbox
    from app.services import api_tokens

    ctx = pg_app.extensions["portcullis"]
    _, token = api_tokens.create_token(ctx, "race")
    api = OktaClient(pg_app.test_client(), token)
    user = api.post(
        "/api/v1/users",
        json={"profile": profile(), "credentials": {"password": {"value": PASSWORD}}},
    ).get_json()
    base = f"/api/v1/users/{user['id']}/factors"
    totp = api.post(
        base, json={"factorType": "token:software:totp", "provider": "GOOGLE"}
    ).get_json()
    secret = totp["_embedded"]["activation"]["sharedSecret"]
    sms = api.post(
        f"{base}?activate=true",
        json={"factorType": "sms", "profile": {"phoneNumber": "+15052694259"}},
    ).get_json()
    # activate TOTP with the previous step's code, keep the current one for the race
    counter = int(time.time()) // 30
    api.post(
        f"{base}/{totp['id']}/lifecycle/activate",
        json={"passCode": pyotp.HOTP(secret).at(counter - 1)},
    )
    assert api.post(f"{base}/{sms['id']}/verify").get_json()["factorResult"] == "CHALLENGE"
    import re

    sms_code = re.search(r"\d{6}", Outbox(ctx.stores.redis).messages()[0].body).group(0)  # type: ignore[union-attr]

    def race(factor_id: str, code: str) -> list[int]:
        def attempt(_: int) -> int:
            client = OktaClient(pg_app.test_client(), token)
            r = client.post(f"{base}/{factor_id}/verify", json={"passCode": code})
            return int(r.status_code)

        with ThreadPoolExecutor(max_workers=8) as pool:
            return sorted(pool.map(attempt, range(8)))

    assert race(totp["id"], pyotp.HOTP(secret).at(counter)) == [200] + [403] * 7
    assert race(sms["id"], sms_code) == [200] + [403] * 7


def test_one_workos_challenge_verifies_once_under_concurrency(pg_app: Any) -> None:
    """Eight parallel verifications of one challenge with the right code on real
    Redis: exactly one ``valid: true``; the others are refused, none is a 500."""
    import re

    from app.delivery import Outbox
    from app.services import workos_mfa

    ctx = pg_app.extensions["portcullis"]
    _, key = workos_mfa.create_api_key(ctx, "race")
    headers = {"Authorization": f"Bearer {key}"}
    client = pg_app.test_client()
    factor = client.post(
        "/auth/factors/enroll",
        headers=headers,
        json={"type": "sms", "phone_number": "+15052694259"},
    ).get_json()
    challenge = client.post(
        f"/auth/factors/{factor['id']}/challenge", headers=headers, json={}
    ).get_json()
    code = re.search(r"\d{6}", Outbox(ctx.stores.redis).messages()[0].body).group(0)  # type: ignore[union-attr]

    def attempt(_: int) -> tuple[int, bool | None]:
        r = pg_app.test_client().post(
            f"/auth/challenges/{challenge['id']}/verify", headers=headers, json={"code": code}
        )
        return r.status_code, r.get_json().get("valid")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count((200, True)) == 1
    assert all(status in (200, 422) for status, _ in results)
    assert all(valid is not True for r, valid in results if r == 422)
