"""Benchmarks over HTTP: Portcullis served by gunicorn on loopback, loaded by wrk.

Part of ``make bench``: benchmarks/run.py calls :func:`run`, which returns the
Markdown section for docs/benchmarks.md. On a fresh PostgreSQL database and a
flushed Redis database, with gunicorn on the settings of gunicorn.conf.py
(benchmarks/gunicorn_bench.py) and wrk (benchmarks/load.py):

1. issue 13's targets (benchmarks/targets.py): the framework floor (a bare
   Flask ``/ping`` on the same gunicorn settings) and, each as a ratio to it,
   an unknown path, ``/healthz/live``, ``/healthz``, the Factors API verify,
   the /authn MFA verify in flow and the WorkOS challenge and verify, with
   the CPU each worker used;
2. primary authentication, ``POST /api/v1/authn`` answering SUCCESS, at the
   default argon2id cost, with one connection and with eight, and with a
   cheap hash (the server's own work, against one argon2id hash);
3. the MFA verify step, ``POST /api/v1/authn/factors/{id}/verify`` with a TOTP
   code answering SUCCESS, on the cheap-hash server (only the set-up signs
   in). Every request has its own transaction and a code never used before
   for its factor (benchmarks/factors.py);
4. for every /authn run, per request: the Redis round trips (counted inside
   the gunicorn workers), of which those that carry the rate limiter's hit,
   the commands Redis ran in the benchmark's database (``MONITOR``), and the
   growth of ``INFO commandstats``, which covers every client of that Redis;
5. the Redis bytes of a live transaction, a session and a remembered device.

Without wrk, PostgreSQL or Redis the section says why it was skipped.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import factors
import load
import server  # benchmarks/, this script's folder, is on sys.path
import targets
from load import Run

TARGET = server.Target(
    os.environ.get("BENCH_AUTHN_DATABASE", "portcullis_bench_authn"),
    os.environ.get("BENCH_AUTHN_REDIS_URL", "redis://127.0.0.1:6379/14"),
)
#: wrk run length of the primary authentication rows, seconds (each of three runs).
PRIMARY_SECONDS = float(os.environ.get("BENCH_PRIMARY_SECONDS", str(targets.SECONDS)))
#: The Redis bytes a live transaction (document and lease) may hold: issue 13.
TRANSACTION_BYTES_TARGET = 1024
#: The server's own work in a password login, as a share of one argon2id hash: issue 13.
OVERHEAD_TARGET = 5.0


class Skipped(Exception):
    """The HTTP benchmark cannot run here (the message says why)."""


def _wrk(api: server.Api, client: Any, run: Run, lines: Path, seconds: float, mode: str) -> Run:
    """An /api/v1/authn run, with the commands Redis ran (``MONITOR``)."""
    return load.wrk(api, client, run, lines, seconds, mode, redis_url=TARGET.redis_url)


# ---- (a) primary authentication ------------------------------------------------------------


def _sign_in_lines(api: server.Api, workdir: Path, prefix: str) -> Path:
    """Eight users, each signed in twice; wrk's request file cycling over them."""
    logins = [f"{prefix}{i}@bench.example.com" for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda login: server.create_user(api, login), logins))
    lines = workdir / f"{prefix}.txt"
    lines.write_text(
        "".join(
            "POST /api/v1/authn "
            + json.dumps({"username": login, "password": server.PASSWORD})
            + "\n"
            for login in logins
        )
    )

    def sign_in(login: str) -> None:
        body = {"username": login, "password": server.PASSWORD}
        answer = api.ok("POST", "/api/v1/authn", body, admin=False)
        if answer["status"] != "SUCCESS":
            raise RuntimeError(f"primary authentication answered {answer['status']}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(sign_in, logins * 2))
    return lines


def _primary(api: server.Api, client: Any, workdir: Path) -> tuple[list[Run], float]:
    lines = _sign_in_lines(api, workdir, "primary")
    # Warm up (every worker thread's SQL and Redis connections, Lua scripts).
    _wrk(api, client, Run("warm-up, not reported", 8, 2), lines, targets.WARM_SECONDS, "cycle")
    samples = _hash_samples()
    runs = [_wrk(api, client, Run("primary authentication", 1, 1), lines, PRIMARY_SECONDS, "cycle")]
    samples += _hash_samples()
    runs.append(
        _wrk(api, client, Run("primary authentication", 8, 2), lines, PRIMARY_SECONDS, "cycle")
    )
    return runs, statistics.median(samples)


def _primary_cheap(api: server.Api, client: Any, workdir: Path) -> tuple[Run, float]:
    """Primary authentication whose hash costs little (the server around it),
    and the time of that hash in this process."""
    lines = _sign_in_lines(api, workdir, "cheap")
    _wrk(api, client, Run("warm-up, not reported", 8, 2), lines, targets.WARM_SECONDS, "cycle")
    label = "primary authentication, *cheap hash*"
    run = _wrk(api, client, Run(label, 1, 1), lines, PRIMARY_SECONDS, "cycle")
    cheap = {k.lower().removeprefix("argon2_"): int(v) for k, v in server.CHEAP_ARGON2.items()}
    samples = _hash_samples(20, cheap["time_cost"], cheap["memory_cost"], cheap["parallelism"])
    return run, statistics.median(samples)


def _hash_samples(
    repeat: int = 5, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4
) -> list[float]:
    """Times (ms) of one argon2id hash (the default cost unless told), in this process, now."""
    if str(server.ROOT) not in sys.path:
        sys.path.insert(0, str(server.ROOT))
    from app.domain.passwords import Hasher

    hasher = Hasher(time_cost, memory_cost, parallelism)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        hasher.hash(server.PASSWORD)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


# ---- (b) the MFA verify step ---------------------------------------------------------------


def _sign_in(api: server.Api, user: factors.Enrolled) -> str:
    """Primary authentication up to MFA_REQUIRED; the new transaction's stateToken."""
    body = {"username": user.login, "password": server.PASSWORD}
    answer = api.ok("POST", "/api/v1/authn", body, admin=False)
    if answer["status"] != "MFA_REQUIRED":
        raise RuntimeError(f"primary authentication answered {answer['status']}, not MFA_REQUIRED")
    return str(answer["stateToken"])


def _verify_line(user: factors.Enrolled, state_token: str, code: str) -> str:
    body = {"stateToken": state_token, "passCode": code}
    return f"POST /api/v1/authn/factors/{user.factor_id}/verify {json.dumps(body)}"


def _verify(api: server.Api, user: factors.Enrolled, state_token: str, code: str | None) -> None:
    if code is None:
        raise RuntimeError("no unused TOTP step for a warm-up verify")
    _, path, body = _verify_line(user, state_token, code).split(" ", 2)
    answer = api.ok("POST", path, json.loads(body), admin=False)
    if answer["status"] != "SUCCESS":
        raise RuntimeError(f"verify answered {answer['status']}")


def _mfa(
    api: server.Api, client: Any, workdir: Path, users: list[factors.Enrolled], ceiling: float
) -> list[Run]:
    """Two verify runs, one connection then eight, each request on its own
    transaction (MFA_REQUIRED, from a sign-in) with a code its factor has not
    used (factors.plan, then factors.codes once the sign-ins are done).

    The one-connection run is sized from a rough rate of this Python client;
    the eight-connection run from the rate the first run measured; each is
    fitted to the transactions made for it (targets.once_row), and one that
    runs out anyway is marked void.
    """
    targets.top_up(users, 32, lambda i: factors.enrol_okta(api, 100 + i))
    with ThreadPoolExecutor(8) as pool:
        warm = users[:32]
        states = list(pool.map(lambda user: _sign_in(api, user), warm))
        now = server.totp_step()
        codes = factors.codes(warm, now)  # new users: each has the current step
        # Warm up in parallel, then one at a time for a rough rate.
        list(pool.map(lambda i: _verify(api, warm[i], states[i], codes[i]), range(16, 32)))
        single = time.monotonic()
        for i in range(16):
            _verify(api, warm[i], states[i], codes[i])
        rate = 16 / (time.monotonic() - single)
    results = []
    # This client is slower than wrk: size the first run for twice its rate.
    needed = math.ceil(rate * targets.SECONDS * 2 * 4 / 3) + 30
    for c, t in ((1, 1), (8, 2)):
        needed = min(needed, 2 * targets.MAX_OKTA_FACTORS)
        targets.top_up(
            users, min(needed, targets.MAX_OKTA_FACTORS), lambda i: factors.enrol_okta(api, 100 + i)
        )
        planned = factors.plan(users, needed)
        server.say(f"signing in {len(planned)} times")
        with ThreadPoolExecutor(8) as pool:
            states = list(pool.map(lambda user: _sign_in(api, user), planned))
        # The codes now, after the sign-ins: of the step the run begins in.
        factors.await_codes(planned)
        codes = factors.codes(planned, server.totp_step())
        lines = [
            _verify_line(user, state, code)
            for user, state, code in zip(planned, states, codes, strict=True)
            if code is not None
        ]
        run = targets.once_row(
            api,
            client,
            workdir,
            targets.AUTHN_VERIFY,
            lines,
            load.Expect(),
            ceiling,
            connections=(c, t),
            redis_url=TARGET.redis_url,
        )
        results.append(run)
        # Eight connections on two workers: little more than one on two cores,
        # up to about three times as much on more.
        needed = math.ceil(run.per_s * targets.SECONDS * (2.5 if load.cpus() <= 2 else 4) * 4 / 3)
    return results


# ---- the section ----------------------------------------------------------------------------


def _versions(client: Any) -> dict[str, str]:
    import gunicorn
    import psycopg

    wrk = subprocess.run([str(shutil.which("wrk")), "-v"], capture_output=True, text=True)
    first = (wrk.stdout + wrk.stderr).split("\n", 1)[0].split(" [", 1)[0]
    with psycopg.connect(server.admin_database_url(), connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    postgres = str(row[0]).split(" ", 1)[0] if row else "?"
    return {
        "gunicorn": gunicorn.__version__,
        "wrk": first.removeprefix("wrk ").strip(),
        "postgres": postgres,
        "redis": str(client.info("server")["redis_version"]),
    }


def run(hash_p50_ms: float) -> list[str]:
    """The Markdown section; ``hash_p50_ms``: one argon2id hash at the default cost."""
    header = ["## Over HTTP: issue 13's targets and /api/v1/authn, with gunicorn and wrk", ""]
    try:
        return header + _measure(hash_p50_ms)
    except Skipped as exc:
        print(f"HTTP benchmark skipped: {exc}", file=sys.stderr)
        return [*header, f"Skipped in this run: {exc}", ""]
    except Exception as exc:  # report, do not fail: the in-process figures still stand
        traceback.print_exc()
        print(f"HTTP benchmark failed: {exc}", file=sys.stderr)
        return [*header, f"Failed in this run: {exc}", ""]


def _measure(hash_p50_ms: float) -> list[str]:
    if shutil.which("wrk") is None:
        raise Skipped("wrk is not installed (Debian package `wrk`)")
    try:
        import psycopg
        import redis

        client = redis.Redis.from_url(TARGET.redis_url, socket_connect_timeout=5)
        client.ping()
        with psycopg.connect(server.admin_database_url(), connect_timeout=5):
            pass
    except Exception as exc:
        raise Skipped(f"PostgreSQL or Redis is not reachable ({exc})") from exc
    when = datetime.now(UTC)
    versions = _versions(client)
    instance = Path(tempfile.mkdtemp(prefix="portcullis-bench-http-"))
    try:
        server.say("HTTP benchmark: a fresh database; primary authentication")
        server.prepare(instance, TARGET)
        workos_key = server.flask(instance, TARGET, "create-api-key", "--name", "bench").split()[-1]
        with server.serve(instance, TARGET, {}) as api:
            primary, hash_now_ms = _primary(api, client, instance)
            settings = (api.workers, api.threads)
        server.say("HTTP benchmark: the floor")
        floor = targets.floor(instance, TARGET, client)
        server.say("HTTP benchmark: the targets, MFA verify")
        with server.serve(instance, TARGET, server.CHEAP_ARGON2) as api:
            cheap = _primary_cheap(api, client, instance)
            rows = targets.cheap_rows(api, client, instance)
            # Nothing Portcullis serves is cheaper than these: a bound on any row's rate.
            ceiling = 1.1 * max(r.per_s for r in rows)
            users: list[factors.Enrolled] = []
            server.require_mfa(api)
            verify = _mfa(api, client, instance, users, ceiling)
            rows.append(targets.factors_verify(api, client, instance, users, ceiling))
            rows.append(verify[-1])
            rows += targets.workos_rows(api, client, instance, workos_key, ceiling)
            memory = targets.memory(api, client, factors.enrol_okta(api, 50))
        server.say("HTTP benchmark: done")
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    return [
        *_intro(when, versions, settings),
        "",
        "### Targets, against the floor of this run",
        "",
        *targets.table(rows, floor),
        "",
        *_targets_note([floor, *rows]),
        "",
        "### Primary authentication and the MFA verify step",
        "",
        *_authn_table(primary, cheap[0], verify),
        "",
        *_overhead(hash_p50_ms, hash_now_ms, primary, cheap),
        "",
        *_redis(primary, cheap[0], verify),
        "",
        *_memory(memory),
        "",
    ]


def _ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f}"


def _intro(when: datetime, versions: dict[str, str], settings: tuple[int, int]) -> list[str]:
    workers, threads = settings
    return [
        f"Measured {when:%Y-%m-%d %H:%M} UTC on the machine above: gunicorn "
        f"{versions['gunicorn']} on 127.0.0.1 with the settings of gunicorn.conf.py "
        f"(here {workers} workers x {threads} threads, gthread), wrk {versions['wrk']} as the "
        f"load generator on the same cores, PostgreSQL {versions['postgres']} (a fresh "
        f"database), Redis {versions['redis']} (a dedicated, flushed database). One wrk run "
        "per row, after a warm-up run that is not reported "
        f"({targets.WARM_SECONDS:g} s; runs of {targets.SECONDS:g} s unless the seconds "
        "column says less: a row whose requests each spend a TOTP step or a challenge runs "
        "as long as the requests made for it last); p50 and p99 are wrk's latencies. The "
        "floor is a bare Flask app (benchmarks/floor_app.py, `GET /ping` answering a small "
        "JSON) on a gunicorn of its own with the same settings; every other row is "
        "Portcullis, its requests/s shown as a multiple of the floor's. CPU per worker is "
        "each gunicorn worker's user + system time during the run (/proc/<pid>/stat), as a "
        "share of one core: the workers share one listening socket, and a keep-alive "
        "connection stays with the worker that accepted it. RSS per worker is each "
        "worker's resident memory (VmRSS, /proc/<pid>/status) as the run ends (issue 13: "
        "at most 150 MiB under load).",
    ]


def _targets_note(rows: list[Run]) -> list[str]:
    void = [r.label for r in rows if not r.valid]
    lines = [
        "Each verify request spends a TOTP code never used before for its factor: the "
        "server accepts a step only if it is newer than the factor's last accepted one, "
        "and within one step of now, so every line of a verify file carries the next "
        "unused step of its factor, the current or the next, and a factor appears at "
        "most twice per file, its two lines a whole pool apart (benchmarks/factors.py). "
        "The Factors API verify (`POST /api/v1/users/{uid}/factors/{fid}/verify`, admin "
        f"token) and the /authn verify share up to {targets.MAX_OKTA_FACTORS} users with "
        "an active Google Authenticator factor (`BENCH_MFA_USERS`); each /authn verify "
        "request finishes its own transaction (MFA_REQUIRED → SUCCESS), made by a sign-in "
        "beforehand. The WorkOS challenge (`POST /auth/factors/{id}/challenge`) cycles over "
        f"up to {targets.MAX_WORKOS_FACTORS} WorkOS TOTP factors (`BENCH_WORKOS_FACTORS`); "
        "each WorkOS verify (`POST /auth/challenges/{id}/verify`) has a challenge of its "
        "own, made beforehand, and the right code from its factor's secret. The server "
        "runs with argon2id t=1, m=8 MiB, p=1 (only the set-up's sign-ins hash), its "
        "per-client rate limit on but never reached, and MONITOR on Redis during the "
        "/authn rows (for the Redis table below). A row counts only if every answer was "
        "the expected one (the status, and `SUCCESS`, `valid: true`, a challenge).",
    ]
    if void:
        lines += [
            "",
            f"**Void in this run** (an unexpected answer, or it ran out): {', '.join(void)}.",
        ]
    return lines


def _authn_table(primary: list[Run], cheap_run: Run, verify: list[Run]) -> list[str]:
    lines = [
        "Primary authentication answers SUCCESS (no sign-on rule asks for a factor) at the "
        "default argon2id cost (t=3, m=64 MiB, p=4), cycling over 8 users; the row marked "
        "*cheap hash* is the same on a server whose users' hashes cost t=1, m=8 MiB, p=1, "
        "so that it shows the server around the hash; the MFA verify rows are those of the "
        "table above, at one connection and at eight. The column *other work* is the share "
        "of the machine (all cores) that other processes used during the run: busy CPU "
        "time from /proc/stat minus that of the gunicorn workers, wrk, Redis, PostgreSQL "
        "and the benchmark itself.",
        "",
        "| what | connections (wrk threads) | seconds | requests | requests/s | p50 ms "
        "| p99 ms | as expected / other | CPU per worker | RSS per worker (MiB) | other work |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    runs = [*primary, cheap_run, *verify]
    for r in runs:
        f = r.figures
        other = f"{f['other']}" + (
            f" ({f['exhausted']} after running out of transactions)" if f["exhausted"] else ""
        )
        void = "" if r.valid else " **(void: not all SUCCESS)**"
        lines.append(
            f"| {r.label}{void} | {r.connections} ({r.threads}) | "
            f"{f['duration_us'] / 1e6:.1f} | {f['requests']} | {r.per_s:.1f} | "
            f"{_ms(f['p50_us'])} | {_ms(f['p99_us'])} | {f['success']} / {other} | "
            f"{load.cpu_shares(r.worker_cpu)} | {load.rss_shares(r.worker_rss)} | {r.other:.0f} % |"
        )
    busiest = max(r.other for r in runs)
    if busiest > 10:
        lines += [
            "",
            f"**Other work used up to {busiest:.0f} % of the machine during these runs**: "
            "the latencies are longer and the rates lower than on an idle machine.",
        ]
    return lines


def _overhead(
    hash_p50_ms: float, hash_now_ms: float, primary: list[Run], cheap: tuple[Run, float]
) -> list[str]:
    cheap_run, cheap_hash_ms = cheap
    single = primary[0].figures["p50_us"] / 1000
    around = cheap_run.figures["p50_us"] / 1000 - cheap_hash_ms
    share = around / hash_now_ms * 100
    met = "met" if share <= OVERHEAD_TARGET else "not met"
    return [
        f"Server overhead of a password login (target: at most {OVERHEAD_TARGET:g} % of its "
        f"argon2id hash; **{met}**). Measured directly: primary authentication with the "
        f"cheap hash takes {cheap_run.figures['p50_us'] / 1000:.1f} ms (p50, one "
        f"connection), of which the cheap hash is {cheap_hash_ms:.1f} ms (timed in the "
        "benchmark process), so everything else (HTTP on loopback and wrk, JSON, the SQL "
        "reads of the user and the policies, the Redis round trips and the rate-limit "
        f"counter, the `lastLogin` update) takes **{around:.1f} ms: {share:.1f} %** of one "
        f"argon2id hash at the default cost ({hash_now_ms:.1f} ms p50, timed in the "
        "benchmark process five times just before the default-cost one-connection run and "
        f"five times just after; {hash_p50_ms:.1f} ms in the in-process table). By "
        f"subtraction instead, the default-cost run's {single:.1f} ms p50 less that hash "
        f"leaves {single - hash_now_ms:.1f} ms; with four argon2 lanes on {load.cpus()} "
        "cores the hash time varies from process to process by more than the server's "
        "share, which is why the cheap-hash run is the measurement.",
    ]


def _redis(primary: list[Run], cheap_run: Run, verify: list[Run]) -> list[str]:
    lines = [
        "### Redis per /authn call",
        "",
        "| run | round trips per request (target ≤ 2) | of which carry the rate limiter's "
        "hit | commands per request | commands per request, by name "
        "| all clients' commands per request |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in [*primary, cheap_run, *verify]:
        served = max(r.served, 1)
        named = ", ".join(
            f"{name} {calls / served:.2f}"
            for name, calls in sorted(r.commands.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        lines.append(
            f"| {r.label}, {r.connections} connection(s) | {r.round_trips / served:.2f} | "
            f"{r.limiter_round_trips / served:.2f} | "
            f"{sum(r.commands.values()) / served:.2f} | {named} | "
            f"{r.all_commands / served:.2f} |"
        )
    lines += [
        "",
        "Every figure is divided by the /api/v1/authn requests the server began during the "
        "run (counted in the workers: wrk's own count leaves out those in flight when it "
        "stops). Round trips are counted inside the gunicorn workers "
        "(benchmarks/gunicorn_bench.py wraps redis-py's `send_packed_command`): one command "
        "or one whole pipeline is one round trip, the rate limiter's included. The server "
        "runs with its per-client rate limit on "
        f"(`RATE_LIMIT_AUTHN={server.RATE_LIMIT}`, so high that wrk is never refused); its "
        "hit (app/store/rate_limit.py, keys `ratelimit:*`) rides on the request's first "
        "round trip, or goes alone when that round trip cannot carry it, so the second "
        "column counts the round trips whose command names a `ratelimit:` key, whether "
        "alone or carrying Portcullis' own work too: it is not added to the first. "
        "Commands are those Redis ran in the benchmark's database, seen with `MONITOR` "
        "during the run (its small cost is inside the measured runs): they include each "
        "command inside a pipeline and the commands a Lua script runs (an `evalsha` or "
        "`eval`, then each `redis.call` in it), and the set-up commands of a connection the "
        "pool opens (none once warmed up). The last column is the growth of `INFO "
        "commandstats` (calls of every command, without the benchmark's own `INFO` and "
        "`MONITOR`): the same count for the whole Redis server, so it also holds what other "
        "clients of this Redis sent meanwhile; it equals the column before it only when "
        "nothing else used this Redis.",
    ]
    return lines


def _memory(m: targets.Memory) -> list[str]:
    transaction = m.transaction + m.lease
    met = "met" if transaction <= TRANSACTION_BYTES_TARGET else "not met"
    return [
        "### Redis bytes per live transaction, session and remembered device",
        "",
        "| what | keys | bytes (`MEMORY USAGE`) |",
        "| --- | --- | ---: |",
        f"| live transaction (target ≤ {TRANSACTION_BYTES_TARGET} bytes: **{met}**) | "
        f"`authn:{{…}}` + its lease `authn:{{…}}:lease` | {m.transaction} + {m.lease} = "
        f"{transaction} |",
        f"| session | `session:…` (the cookie carries its id; no per-user index) | {m.session} |",
        f"| remembered device | `device:<user>:…` | {m.device} |",
        "",
        "Redis' own estimate of each key (`MEMORY USAGE`, every element sampled), key and "
        "value with their overhead, taken after the runs above. The transaction figure is "
        f"the median over the {m.transactions_seen} live transactions left in the database "
        "(MFA_REQUIRED, signed in for runs that ended first); a lease lives only during a "
        "call, so the benchmark sets one of the server's shape (a 16-hex-digit nonce with a "
        "millisecond expiry) beside a live transaction, measures it and deletes it. The "
        "session is one made from a sign-in (`POST /api/v1/sessions`) whose verify asked to "
        "remember the device. Ending all of a user's sessions adds one mark per user "
        "(`sessions-ended:<user>`), kept no longer than a session could live.",
    ]


if __name__ == "__main__":  # the HTTP part alone: python benchmarks/http_authn.py [hash ms]
    print("\n".join(run(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0)))
