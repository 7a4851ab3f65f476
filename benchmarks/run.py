"""Benchmarks: request latency and throughput of the admin APIs, argon2id cost,
and /api/v1/authn over HTTP.

Runs in-process through the Flask test client (no network), on the embedded
defaults and, when reachable, on PostgreSQL + Redis; then, with gunicorn on
loopback (gunicorn.conf.py's settings) and wrk as the load generator, issue
13's targets as ratios to a bare Flask floor of the same run, primary
authentication, the MFA verify step and Redis' share (benchmarks/http_authn.py;
skipped, saying why, without wrk, PostgreSQL or Redis). Writes the figures,
with the machine and the date, to docs/benchmarks.md. Speed is measured here,
never asserted in tests.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import http_authn  # noqa: E402  (benchmarks/, this script's folder, is on sys.path)
import report  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.domain.passwords import Hasher  # noqa: E402
from app.services import api_tokens  # noqa: E402
from app.store import migrations  # noqa: E402

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/portcullis_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
USERS = int(os.environ.get("BENCH_USERS", "300"))


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95) - 1],
        "per_s": 1000 / statistics.mean(samples),
    }


def bench_backend(name: str, settings: Settings) -> list[tuple[str, dict[str, float]]]:
    app = create_app(settings)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "bench")
    client = app.test_client()
    headers = {"Authorization": f"SSWS {token}"}
    counter = iter(range(10**9))

    def create() -> None:
        i = next(counter)
        body = {
            "profile": {
                "login": f"bench{i}@example.com",
                "email": f"bench{i}@example.com",
                "firstName": "Bench",
                "lastName": f"User{i}",
            },
            "credentials": {"password": {"value": "Bench-Passw0rd"}},
        }
        assert client.post("/api/v1/users", json=body, headers=headers).status_code == 200

    results = [("create user (argon2id hash)", timed(create, USERS))]
    users = client.get("/api/v1/users?limit=50", headers=headers).get_json()
    uid = users[0]["id"]
    results.append(
        ("get user by id", timed(lambda: client.get(f"/api/v1/users/{uid}", headers=headers), 500))
    )
    results.append(
        (
            "get user by login",
            timed(lambda: client.get("/api/v1/users/bench7@example.com", headers=headers), 500),
        )
    )
    results.append(
        (
            "list 200 users",
            timed(lambda: client.get("/api/v1/users?limit=200", headers=headers), 50),
        )
    )
    results.append(
        (
            "filter status eq ACTIVE, limit 20",
            timed(
                lambda: client.get(
                    '/api/v1/users?filter=status eq "ACTIVE"&limit=20', headers=headers
                ),
                200,
            ),
        )
    )
    results.append(("healthz", timed(lambda: client.get("/healthz"), 500)))
    factor_users = iter(u["id"] for u in users)

    def enroll_totp() -> None:
        user_id = next(factor_users)
        r = client.post(
            f"/api/v1/users/{user_id}/factors",
            headers=headers,
            json={"factorType": "token:software:totp", "provider": "GOOGLE"},
        )
        assert r.status_code == 200

    results.append(("enroll TOTP factor (seal secret, sign QR link)", timed(enroll_totp, 40)))
    totp = client.get(f"/api/v1/users/{uid}/factors", headers=headers).get_json()[0]
    verify = f"/api/v1/users/{uid}/factors/{totp['id']}/lifecycle/activate"
    results.append(
        (
            "TOTP check, wrong code (open secret, 3 steps)",
            timed(lambda: client.post(verify, json={"passCode": "000000"}, headers=headers), 300),
        )
    )
    ctx.stores.database.dispose()
    return [(f"{name}: {label}", figures) for label, figures in results]


def main() -> None:
    load = os.getloadavg()[0]
    rows: list[tuple[str, dict[str, float]]] = []
    hasher = Hasher()
    rows.append(
        (
            "argon2id hash, default cost (t=3, m=64 MiB, p=4)",
            timed(lambda: hasher.hash("Bench-Passw0rd"), 20),
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(
            instance_path=Path(tmp),
            database_url=f"sqlite:///{tmp}/bench.db",
            redis_url="fakeredis://bench",
            secret_key="b",
            encryption_key="b",
            argon2_time_cost=1,
            argon2_memory_cost=8192,
            argon2_parallelism=1,
        )
        rows += bench_backend("SQLite + fakeredis", base)
        try:
            import psycopg
            import redis

            admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS portcullis_bench WITH (FORCE)")
                conn.execute("CREATE DATABASE portcullis_bench")
            redis.Redis.from_url(REDIS_URL).flushdb()
            rows += bench_backend(
                "PostgreSQL + Redis", replace(base, database_url=PG_URL, redis_url=REDIS_URL)
            )
        except Exception as exc:  # report, do not fail: the embedded figures still stand
            print(f"PostgreSQL/Redis skipped: {exc}", file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    write(rows, peak, load, http_authn.run(hash_p50_ms=rows[0][1]["p50"]))


def write(
    rows: list[tuple[str, dict[str, float]]], peak: int, load: float, http: list[str]
) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make bench` on {report.machine()}; "
        f"1-minute load average {load:.1f} as it began.",
        "In-process through the Flask test client (no network, one thread); request figures "
        f"use argon2id t=1, m=8 MiB, p=1 so that they show the server, not the hash; "
        f"{USERS} users created per backend.",
        "",
        "| what | p50 ms | p95 ms | per second |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, f in rows:
        lines.append(f"| {label} | {f['p50']:.2f} | {f['p95']:.2f} | {f['per_s']:.0f} |")
    lines += [
        "",
        f"Peak resident memory of the in-process run (both backends): {peak / 2**20:.0f} MiB.",
        "",
        *http,
    ]
    out = report.BENCHMARKS_MD
    # The profiles' and the soak's sections are make profile's and make soak's: kept as they were.
    old = out.read_text() if out.exists() else ""
    kept: list[str] = []
    for heading in report.KEPT_HEADINGS:
        if found := report.section(old, heading):
            kept += ["", *found]
    out.write_text("\n".join([*lines, *kept]).rstrip("\n") + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
