"""Issue 13's scale figures (make bench-scale): a million users (P4) and
Redis memory for 100,000 live sessions (P5). Written to docs/benchmarks.md
under "Scale", with the machine and the date.

P4. A fresh PostgreSQL database is seeded in bulk (``COPY``, not HTTP) with
users shaped as the Users API stores them (every one with the same argon2id
hash: the hash is not what is measured). A gunicorn server (gunicorn.conf.py's
settings, argon2id t=1, m=8 MiB, p=1) then answers, one request at a time:
primary authentication (SUCCESS), an unknown username (refused) and the MFA
verify step (MFA_REQUIRED → SUCCESS), first with ``SCALE_SMALL`` users
(1,000), then with ``SCALE_USERS`` (1,000,000): p50 of each, and the plans
PostgreSQL chooses for the login lookups (``EXPLAIN ANALYZE``).

P5. Sessions as the server stores them (app.store.sessions, the record
app.services.sessions writes for a signed-in user) are created in a private
redis-server until ``SCALE_SESSIONS`` (100,000) are live, each for a user of
its own; Redis' ``used_memory`` before and after, and ``MEMORY USAGE`` of a
session's key and of the mark that ending all of a user's sessions leaves.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import factors  # noqa: E402  (benchmarks/, this script's folder, is on sys.path)
import report  # noqa: E402
import server  # noqa: E402
import soak  # noqa: E402

SMALL = int(os.environ.get("SCALE_SMALL", "1000"))
USERS = int(os.environ.get("SCALE_USERS", "1000000"))
SESSIONS = int(os.environ.get("SCALE_SESSIONS", "100000"))
REQUESTS = int(os.environ.get("SCALE_REQUESTS", "300"))  # per figure
MFA_USERS = 150
HEADING = report.SCALE_HEADING
TARGET = server.Target(
    "portcullis_scale", os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/12")
)


# ---- P4: a million users ---------------------------------------------------------------------


def seed(conn: Any, start: int, stop: int, password_hash: str) -> float:
    """Users ``seed<start>`` … ``seed<stop - 1>`` by COPY; seconds taken."""
    from app.domain import ids

    began = time.perf_counter()
    now = datetime.now(UTC)
    columns = (
        "id, status, login, login_lower, profile, created, last_updated, status_changed, "
        "activated, password_changed, password_hash, password_history"
    )
    batch = 50_000
    for low in range(start, stop, batch):
        buffer = io.StringIO()
        for i in range(low, min(low + batch, stop)):
            login = f"seed{i}@scale.example.com"
            profile = json.dumps(
                {"login": login, "email": login, "firstName": "Seed", "lastName": f"User{i}"}
            )
            row = (
                ids.new_id(ids.USER),
                "ACTIVE",
                login,
                login,
                profile,
                now,
                now,
                now,
                now,
                now,
                password_hash,
                "[]",
            )
            buffer.write("\t".join(str(v).replace("\\", "\\\\") for v in row) + "\n")
        with conn.cursor() as cursor, cursor.copy(f"COPY users ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        conn.commit()
    conn.execute("ANALYZE users")
    conn.commit()
    return time.perf_counter() - began


def explain(conn: Any, login: str) -> list[tuple[str, str]]:
    """The plans of the two lookups a sign-in makes (as app.store.users builds them)."""
    plans = []
    for label, query, args in (
        ("by login", "SELECT * FROM users WHERE login_lower = %s", (login,)),
        (
            "by short name (a username without @)",
            "SELECT * FROM users WHERE login_lower LIKE %s ESCAPE '\\' LIMIT 2",
            ("seed7@%",),
        ),
    ):
        rows = conn.execute(f"EXPLAIN ANALYZE {query}", args).fetchall()
        plans.append((label, "\n".join(r[0] for r in rows)))
    return plans


def _p50(call: Callable[[], None], n: int) -> float:
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def figures(api: server.Api, users: list[factors.Enrolled], plain: list[str]) -> dict[str, float]:
    """p50 ms of a password sign-in, an unknown username and the MFA verify step."""
    counter = iter(range(10**9))

    def primary() -> None:
        login = plain[next(counter) % len(plain)]
        answer = api.ok(
            "POST", "/api/v1/authn", {"username": login, "password": server.PASSWORD}, admin=False
        )
        assert answer["status"] == "SUCCESS", answer

    def unknown() -> None:
        status, _ = api.call(
            "POST",
            "/api/v1/authn",
            {"username": f"nobody{next(counter)}", "password": "x-Y-z-1234"},
            admin=False,
        )
        assert status == 401, status

    primary_p50 = _p50(primary, REQUESTS)
    unknown_p50 = _p50(unknown, REQUESTS)
    factors.await_codes(users)
    pending = []
    for user, code in factors.fresh_codes(users, server.totp_step(), len(users)):
        answer = api.ok(
            "POST",
            "/api/v1/authn",
            {"username": user.login, "password": server.PASSWORD},
            admin=False,
        )
        assert answer["status"] == "MFA_REQUIRED", answer
        pending.append((user, answer["stateToken"], code))
    samples = []
    for user, state, code in pending:
        began = time.perf_counter()
        answer = api.ok(
            "POST",
            f"/api/v1/authn/factors/{user.factor_id}/verify",
            {"stateToken": state, "passCode": code},
            admin=False,
        )
        samples.append((time.perf_counter() - began) * 1000)
        assert answer["status"] == "SUCCESS", answer
    return {"primary": primary_p50, "unknown": unknown_p50, "verify": statistics.median(samples)}


def million(instance: Path) -> tuple[dict[str, dict[str, float]], float, list[tuple[str, str]]]:
    import psycopg

    from app.domain.passwords import Hasher

    server.prepare(instance, TARGET)
    cheap = {k.lower().removeprefix("argon2_"): int(v) for k, v in server.CHEAP_ARGON2.items()}
    hashed = Hasher(cheap["time_cost"], cheap["memory_cost"], cheap["parallelism"]).hash(
        server.PASSWORD
    )
    results: dict[str, dict[str, float]] = {}
    with (
        psycopg.connect(TARGET.database_url) as conn,
        server.serve(instance, TARGET, server.CHEAP_ARGON2) as api,
    ):
        plain = [f"plain{i}@scale.example.com" for i in range(8)]
        for login in plain:
            server.create_user(api, login)
        users = [factors.enrol_okta(api, i) for i in range(MFA_USERS)]
        group = api.ok("POST", "/api/v1/groups", {"profile": {"name": "mfa"}})
        for user in users:
            api.call("PUT", f"/api/v1/groups/{group['id']}/users/{user.user_id}")
        _require_mfa_for(api, group["id"])
        small = SMALL - len(plain) - len(users)
        server.say(f"seeding {small} users")
        seed(conn, 0, small, hashed)
        results[f"{SMALL:,} users"] = figures(api, users, plain)
        server.say(f"seeding {USERS - SMALL} more users")
        seconds = seed(conn, small, USERS - len(plain) - len(users), hashed)
        (count,) = conn.execute("SELECT count(*) FROM users").fetchone()
        results[f"{count:,} users"] = figures(api, users, plain)
        plans = explain(conn, "seed123456@scale.example.com")
    server.drop_database(TARGET)
    return results, seconds, plans


def _require_mfa_for(api: server.Api, group_id: str) -> None:
    policy = api.ok(
        "POST",
        "/api/v1/policies",
        {
            "type": "OKTA_SIGN_ON",
            "name": "scale",
            "priority": 1,
            "conditions": {"people": {"groups": {"include": [group_id]}}},
        },
    )
    api.ok(
        "POST",
        f"/api/v1/policies/{policy['id']}/rules",
        {
            "name": "mfa",
            "priority": 1,
            "actions": {"signon": {"access": "ALLOW", "requireFactor": True}},
        },
    )


# ---- P5: Redis memory per session ------------------------------------------------------------


def sessions(instance: Path) -> dict[str, Any]:
    import redis

    from app.domain import ids
    from app.domain.clock import okta_timestamp
    from app.store.sessions import Sessions

    process, url = soak.private_redis(instance)
    try:
        client = redis.Redis.from_url(url, decode_responses=True)
        store = Sessions(client)
        before = int(client.info("memory")["used_memory"])
        now = datetime.now(UTC)
        began = time.perf_counter()
        for i in range(SESSIONS):
            record = {  # what app.services.sessions.create stores for a signed-in user
                "user_id": ids.new_id(ids.USER),
                "login": f"seed{i}@scale.example.com",
                "name": f"Seed User{i}",
                "created_at": okta_timestamp(now),
                "last_password_verification": okta_timestamp(now),
                "last_factor_verification": okta_timestamp(now),
                "amr": ["pwd", "otp", "mfa"],
                "mfa_active": True,
                "idle_seconds": 7200,
                "absolute_expires_at": None,
                "persistent_cookie": False,
                "expires_at": okta_timestamp(now),
            }
            store.create(record, 7200)
        seconds = time.perf_counter() - began
        after = int(client.info("memory")["used_memory"])
        sample = {}
        keys = [k for k in client.scan_iter(match="session:*", count=1000)][:200]
        sample["session:"] = statistics.median(client.memory_usage(k, samples=0) for k in keys)
        store.delete_for_user("00uscalemarkuser0000")
        sample["sessions-ended:"] = client.memory_usage("sessions-ended:00uscalemarkuser0000")
        return {
            "before": before,
            "after": after,
            "per_session": (after - before) / SESSIONS,
            "sample": sample,
            "seconds": seconds,
            "keys": client.dbsize(),
        }
    finally:
        process.terminate()
        process.wait()


# ---- P6: two instances against one ----------------------------------------------------------


def two_instances(instance: Path) -> dict[str, Any]:
    """WorkOS challenges at 8 connections: one instance (gunicorn.conf.py's
    workers), then two instances on the same PostgreSQL and Redis, each with
    as many workers and half the connections (two wrk processes at once)."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    import load
    import redis

    target = server.Target("portcullis_scale_two", TARGET.redis_url)
    first, second = instance / "a", instance / "b"
    first.mkdir()
    server.prepare(first, target)
    shutil.copytree(first, second)  # the same keys and admin token, as two hosts share
    client = redis.Redis.from_url(target.redis_url)
    key = server.flask(first, target, "create-api-key", "--name", "scale").split()[-1]
    bearer = f"Bearer {key}"
    expect = load.Expect(201, '"authentication_challenge"')
    result: dict[str, Any] = {}
    with server.serve(first, target, {}) as a:
        pool = [factors.enrol_workos(a, key, i) for i in range(200)]
        lines = instance / "challenges.txt"
        lines.write_text(
            "".join(f"POST /auth/factors/{f.factor_id}/challenge {{}}\n" for f in pool)
        )
        load.wrk(
            a, client, load.Run("warm-up", 8, 2, expect), lines, 2, "cycle", authorization=bearer
        )
        one = load.wrk(
            a,
            client,
            load.Run("one instance", 8, 2, expect),
            lines,
            10,
            "cycle",
            authorization=bearer,
        )
        result["one"] = (one, a.workers, a.threads)
        with server.serve(second, target, {}) as b:
            for api in (a, b):
                load.wrk(
                    api,
                    client,
                    load.Run("warm-up", 4, 1, expect),
                    lines,
                    2,
                    "cycle",
                    authorization=bearer,
                )
            with ThreadPoolExecutor(2) as threads:
                runs = list(
                    threads.map(
                        lambda api: load.wrk(
                            api,
                            client,
                            load.Run("two instances", 4, 1, expect),
                            lines,
                            10,
                            "cycle",
                            authorization=bearer,
                        ),
                        (a, b),
                    )
                )
            result["two"] = runs
    server.drop_database(target)
    return result


# ---- the report ------------------------------------------------------------------------------


def main() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        instance = Path(tmp)
        results, seed_seconds, plans = million(instance)
        memory = sessions(instance)
        pair = two_instances(instance)
    write(results, seed_seconds, plans, memory, pair, load)


def _cpu(run: Any) -> str:
    import load

    return str(load.cpu_shares(run.worker_cpu))


def _rss(run: Any) -> str:
    import load

    return str(load.rss_shares(run.worker_rss))


def write(
    results: dict[str, dict[str, float]],
    seed_seconds: float,
    plans: list[tuple[str, str]],
    memory: dict[str, Any],
    pair: dict[str, Any],
    load: float,
) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (small, small_f), (large, large_f) = results.items()
    lines = [
        HEADING,
        "",
        f"Measured {when} with `make bench-scale` (benchmarks/scale.py) on {report.machine()}; "
        f"1-minute load average {load:.1f} as it began.",
        "",
        "### P4: a million users",
        "",
        f"The users were seeded with `COPY` ({USERS - SMALL:,} of them in {seed_seconds:.0f} s, "
        "with every index in place), shaped as the Users API stores them. One client, one "
        f"request at a time, {REQUESTS} requests per figure ({MFA_USERS} for the verify step, "
        "each on a transaction of its own), gunicorn with gunicorn.conf.py's settings, "
        "argon2id t=1, m=8 MiB, p=1. Target: the p50 with a million users within 10 % of "
        "the p50 with a thousand.",
        "",
        f"| p50 ms | {small} | {large} | change | within 10 % |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for key, label in (
        ("primary", "primary authentication (SUCCESS)"),
        ("unknown", "primary authentication, unknown username (401)"),
        ("verify", "`/api/v1/authn` MFA verify (TOTP)"),
    ):
        change = (large_f[key] - small_f[key]) / small_f[key] * 100
        lines.append(
            f"| {label} | {small_f[key]:.2f} | {large_f[key]:.2f} | {change:+.1f} % | "
            f"{'yes' if change <= 10 else '**no**'} |"
        )
    lines += ["", "The login lookups' plans with a million users (`EXPLAIN ANALYZE`):", ""]
    for label, plan in plans:
        lines += [f"{label}:", "", "```", plan, "```", ""]
    target = 50 * 2**20
    total = memory["per_session"] * 100_000
    lines += [
        "### P5: Redis memory per live session",
        "",
        f"{SESSIONS:,} sessions created through app.store.sessions (each for a user of its "
        f"own) in a private redis-server "
        f"({memory['seconds']:.0f} s, {memory['keys']:,} keys): `used_memory` "
        f"{memory['before'] / 2**20:.1f} MiB before, {memory['after'] / 2**20:.1f} MiB after.",
        "",
        "| what | bytes |",
        "| --- | ---: |",
        f"| per live session (`used_memory` growth / sessions) | {memory['per_session']:.0f} |",
    ]
    for prefix, size in memory["sample"].items():
        what = "median of 200" if prefix == "session:" else "one user's sessions ended"
        lines.append(f"| `{prefix}…` (`MEMORY USAGE`, {what}) | {size:.0f} |")
    lines += [
        "",
        f"100,000 live sessions take **{total / 2**20:.1f} MiB** of Redis "
        f"(target: at most 50 MiB: {'**met**' if total <= target else '**not met**'}).",
        "",
    ]
    one, workers, threads = pair["one"]
    two = pair["two"]
    both = sum(r.per_s for r in two)
    lines += [
        "### P6: two instances against one",
        "",
        "`POST /auth/factors/{id}/challenge` (WorkOS, cycling over 200 TOTP factors) for "
        f"10 s at 8 connections: one instance ({workers} workers x {threads} threads, "
        "gunicorn.conf.py's choice here), then two instances with the same settings on the "
        "same PostgreSQL and Redis, each driven by a wrk of its own at 4 connections, both "
        "at once. All on this machine's cores, with PostgreSQL, Redis and wrk.",
        "",
        "| run | requests/s | p50 ms | p99 ms | CPU per worker | RSS per worker (MiB) |",
        "| --- | ---: | ---: | ---: | --- | --- |",
        f"| one instance | {one.per_s:,.0f} | {one.figures['p50_us'] / 1000:.1f} | "
        f"{one.figures['p99_us'] / 1000:.1f} | {_cpu(one)} | {_rss(one)} |",
    ]
    for name, r in zip(("two instances: A", "two instances: B"), two, strict=True):
        lines.append(
            f"| {name} | {r.per_s:,.0f} | {r.figures['p50_us'] / 1000:.1f} | "
            f"{r.figures['p99_us'] / 1000:.1f} | {_cpu(r)} | {_rss(r)} |"
        )
    lines += [
        f"| two instances: both | {both:,.0f} | | | | |",
        "",
        f"Two instances served **{both / one.per_s:.2f} x** what one did.",
        "",
    ]
    path = report.BENCHMARKS_MD
    path.write_text(report.put_section(path.read_text(), HEADING, lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
