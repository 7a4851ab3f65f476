"""Benchmarks over HTTP: /api/v1/authn served by gunicorn on loopback, loaded by wrk.

Part of ``make bench``: benchmarks/run.py calls :func:`run`, which returns the
Markdown section for docs/benchmarks.md. On a fresh PostgreSQL database and a
flushed Redis database, with gunicorn (2 workers x 4 threads) and wrk:

1. primary authentication, ``POST /api/v1/authn`` answering SUCCESS, at the
   default argon2id cost, with one connection and with eight;
2. the MFA verify step, ``POST /api/v1/authn/factors/{id}/verify`` with a TOTP
   code answering SUCCESS, on a second server run with a cheap argon2id cost
   (only the set-up signs in). Every request has its own transaction and a
   code never used before for its factor (the server refuses a replayed step);
3. for every run, per /authn request: the Redis round trips (counted inside
   the gunicorn workers, see benchmarks/gunicorn_bench.py), the commands Redis
   ran in the benchmark's database (``MONITOR`` during the run), and the growth
   of ``INFO commandstats``, which covers every client of that Redis server.

Without wrk, PostgreSQL or Redis the section says why it was skipped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import server  # benchmarks/, this script's folder, is on sys.path

TARGET = server.Target(
    "portcullis_bench_authn",
    os.environ.get("BENCH_AUTHN_REDIS_URL", "redis://127.0.0.1:6379/14"),
)
LUA = Path(__file__).resolve().parent / "authn.lua"
WORKERS, THREADS = 2, 4
#: wrk run lengths, seconds: primary authentication (each of two runs), MFA verify.
PRIMARY_SECONDS = int(os.environ.get("BENCH_PRIMARY_SECONDS", "10"))
VERIFY_SECONDS = int(os.environ.get("BENCH_VERIFY_SECONDS", "4"))
#: At most this many users with a TOTP factor are prepared for the verify runs.
MAX_MFA_USERS = int(os.environ.get("BENCH_MFA_USERS", "2000"))


class Skipped(Exception):
    """The HTTP benchmark cannot run here (the message says why)."""


# ---- one wrk run ----------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    connections: int
    threads: int
    figures: dict[str, int] = field(default_factory=dict)
    served: int = 0  # requests the server began during the run
    round_trips: int = 0
    limiter_round_trips: int = 0  # the rate limiter's counter (flask-limiter)
    commands: dict[str, int] = field(default_factory=dict)  # this database (MONITOR)
    all_commands: int = 0  # the whole server, every client (INFO commandstats)
    other: float = 0.0  # % of the machine used by other processes during the run

    @property
    def per_s(self) -> float:
        return self.figures["requests"] / (self.figures["duration_us"] / 1e6)

    @property
    def valid(self) -> bool:
        f = self.figures
        return (
            f["requests"] > 0
            and f["other"] == 0
            and f["exhausted"] == 0
            and f["socket_errors"] == 0
            and f["timeouts"] == 0
        )


class _Monitor:
    """Counts, by name, the commands Redis runs in the benchmark's database.

    ``MONITOR`` shows every command of every client with its database number,
    including those a Lua script runs (client "lua"); only lines of this
    database count, so other clients of the same Redis do not.
    """

    LINE = re.compile(rb'^[0-9.]+ \[(\d+) [^\]]*\] "([^"]*)"')

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=5)
        self.db = int(self.client.connection_pool.connection_kwargs.get("db", 0))
        self.counts: Counter[str] = Counter()
        self.connection: Any = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)

    def __enter__(self) -> _Monitor:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("Redis MONITOR did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # the last lines of the run
        self.connection.disconnect()
        self.thread.join(10)

    def _listen(self) -> None:
        connection = self.client.connection_pool.make_connection()
        connection.send_command("MONITOR")
        connection.read_response()  # OK
        self.connection = connection
        self.ready.set()
        with contextlib.suppress(Exception):  # until __exit__ disconnects
            while True:
                match = self.LINE.match(connection.read_response())
                if match and int(match[1]) == self.db:
                    self.counts[match[2].decode().lower()] += 1


def _commandstats(client: Any) -> dict[str, int]:
    stats = client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        if name not in ("cmdstat_info", "cmdstat_monitor")  # the benchmark's own
    }


def _wrk(api: server.Api, client: Any, run: Run, lines: Path, seconds: int, mode: str) -> Run:
    served_before, trips_before, limiter_before = api.counts()
    stats_before = _commandstats(client)
    cpu_before = _cpu_snapshot()
    command = [
        str(shutil.which("wrk")),
        f"-t{run.threads}",
        f"-c{run.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        api.base_url,
        "--",
        str(lines),
        str(run.threads),
        mode,
    ]
    with _Monitor(TARGET.redis_url) as monitor:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
        cpu_after = _cpu_snapshot()
        served_after, trips_after, limiter_after = api.counts()
    result = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH-RESULT ")), None)
    if done.returncode != 0 or result is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    run.figures = json.loads(result.removeprefix("BENCH-RESULT "))
    stats_after = _commandstats(client)
    run.served = served_after - served_before
    run.round_trips = trips_after - trips_before
    run.limiter_round_trips = limiter_after - limiter_before
    run.other = _other_work(cpu_before, cpu_after)
    run.commands = dict(monitor.counts)
    run.all_commands = sum(stats_after.values()) - sum(stats_before.values())
    f = run.figures
    server.say(
        f"{run.label}, {run.connections} connection(s): {f['requests']} requests, "
        f"{run.per_s:.1f}/s, p50 {f['p50_us'] / 1000:.1f} ms, p99 {f['p99_us'] / 1000:.1f} ms, "
        f"SUCCESS {f['success']}, other {f['other']}, exhausted {f['exhausted']}"
    )
    return run


# ---- (a) primary authentication ------------------------------------------------------------


def _sign_in_lines(api: server.Api, workdir: Path, prefix: str) -> Path:
    """Eight users, each signed in twice; wrk's request file cycling over them."""
    logins = [f"{prefix}{i}@bench.example.com" for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda login: server.create_user(api, login), logins))
    lines = workdir / f"{prefix}.txt"
    lines.write_text(
        "".join(
            "/api/v1/authn " + json.dumps({"username": login, "password": server.PASSWORD}) + "\n"
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
    _wrk(api, client, Run("warm-up, not reported", 8, 2), lines, 3, "cycle")
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
    _wrk(api, client, Run("warm-up, not reported", 8, 2), lines, 3, "cycle")
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


@dataclass
class Enrolled:
    """A user with an active Google Authenticator factor."""

    login: str
    factor_id: str
    secret: str
    last: int  # the last TOTP step this factor used (activation, then verify lines)

    def line(self, state_token: str, now: int) -> str | None:
        """A verify request for wrk with a code the factor has not used, if one is
        accepted now (this step or the next); None if none is."""
        step = max(self.last + 1, now)
        if step > now + 1:
            return None
        self.last = step
        body = {"stateToken": state_token, "passCode": server.totp_code(self.secret, step)}
        return f"/api/v1/authn/factors/{self.factor_id}/verify {json.dumps(body)}\n"


def _enrol(api: server.Api, index: int) -> Enrolled:
    """Create a user, enrol and activate a Google Authenticator factor.

    Activation uses the previous step's code (accepted: one step of skew), so
    that the current step and the next stay unused for verify requests.
    """
    login = f"mfa{index}@bench.example.com"
    user_id = server.create_user(api, login)
    factor = api.ok(
        "POST",
        f"/api/v1/users/{user_id}/factors",
        {"factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    secret = factor["_embedded"]["activation"]["sharedSecret"]
    activate = f"/api/v1/users/{user_id}/factors/{factor['id']}/lifecycle/activate"
    step = server.totp_step() - 1
    status, _ = api.call("POST", activate, {"passCode": server.totp_code(secret, step)})
    if status != 200:  # the step turned on the way: the code fell out of the window
        step = server.totp_step()
        api.ok("POST", activate, {"passCode": server.totp_code(secret, step)})
    return Enrolled(login, factor["id"], secret, step)


def _sign_in(api: server.Api, user: Enrolled) -> str:
    """Primary authentication up to MFA_REQUIRED; the new transaction's stateToken."""
    body = {"username": user.login, "password": server.PASSWORD}
    answer = api.ok("POST", "/api/v1/authn", body, admin=False)
    if answer["status"] != "MFA_REQUIRED":
        raise RuntimeError(f"primary authentication answered {answer['status']}, not MFA_REQUIRED")
    return str(answer["stateToken"])


def _verify(api: server.Api, user: Enrolled, state_token: str, now: int) -> None:
    line = user.line(state_token, now)
    if line is None:
        raise RuntimeError("no unused TOTP step for a warm-up verify")
    path, body = line.split(" ", 1)
    answer = api.ok("POST", path, json.loads(body), admin=False)
    if answer["status"] != "SUCCESS":
        raise RuntimeError(f"verify answered {answer['status']}")


def _mfa(api: server.Api, client: Any, workdir: Path) -> list[Run]:
    """Two verify runs, one connection then eight, each request on its own
    transaction (MFA_REQUIRED, from a sign-in) with a code its factor has not
    used: each line's code is of a step after the factor's last one, and of
    the current step or the next, so still accepted (one step of skew) when
    wrk sends it, at least 30 s after the file was written.

    The one-connection run is sized from a rough rate of this Python client;
    the eight-connection run from the rate the first run measured. A run that
    runs out of transactions is marked void.
    """
    server.require_mfa(api)
    with ThreadPoolExecutor(8) as pool:
        warm = list(pool.map(lambda i: _enrol(api, i), range(32)))
        states = list(pool.map(lambda user: _sign_in(api, user), warm))
        now = server.totp_step()
        # Warm up in parallel, then one at a time for a rough rate.
        list(
            pool.map(
                lambda pair: _verify(api, *pair, now), zip(warm[16:], states[16:], strict=True)
            )
        )
        single = time.monotonic()
        for user, state in zip(warm[:16], states[:16], strict=True):
            _verify(api, user, state, now)
        rate = 16 / (time.monotonic() - single)
    users: list[Enrolled] = []
    results = []
    # This client is slower than wrk: size the first run for three times its rate.
    needed = math.ceil(rate * VERIFY_SECONDS * 3) + 30
    for c, t in ((1, 1), (8, 2)):
        needed = min(needed, MAX_MFA_USERS)
        with ThreadPoolExecutor(8) as pool:
            if needed > len(users):
                server.say(f"enrolling {needed - len(users)} more users")
                more = range(100 + len(users), 100 + needed)
                users += list(pool.map(lambda i: _enrol(api, i), more))
            server.say(f"signing in {needed} users")
            states = list(pool.map(lambda user: _sign_in(api, user), users[:needed]))
        now = server.totp_step()
        lines = [user.line(state, now) for user, state in zip(users, states, strict=False)]
        path = workdir / f"verify-c{c}.txt"
        path.write_text("".join(line for line in lines if line))
        run = _wrk(api, client, Run("MFA verify (TOTP)", c, t), path, VERIFY_SECONDS, "once")
        results.append(run)
        # Eight connections on two workers: little more than one on two cores,
        # up to about three times as much on more.
        needed = math.ceil(run.per_s * VERIFY_SECONDS * (2.5 if cpus() <= 2 else 4)) + 30
    return results


def cpus() -> int:
    return os.cpu_count() or 1


#: Processes that are part of the measurement: the server, the load
#: generator, the services it uses, and this benchmark.
OURS = ("gunicorn", "wrk", "redis-server", "postgres")


def _cpu_snapshot() -> tuple[int, int, int]:
    """(busy clock ticks of the whole machine, of which ours, all ticks) from /proc."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    busy = sum(fields[i] for i in (0, 1, 2, 5, 6, 7) if i < len(fields))
    ours = 0
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                raw = fh.read()
        except OSError:  # gone meanwhile
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        if int(entry) == me or comm.startswith(OURS):
            ours += int(rest[11]) + int(rest[12])  # utime + stime
    return busy, ours, sum(fields)


def _other_work(before: tuple[int, int, int], after: tuple[int, int, int]) -> float:
    """The share of the machine (all cores, %) that other processes used between
    two snapshots: busy time not spent by the server, wrk, Redis, PostgreSQL or
    this benchmark."""
    total = max(after[2] - before[2], 1)
    other = (after[0] - before[0]) - (after[1] - before[1])
    return max(other, 0) / total * 100


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
    header = ["## Over HTTP: /api/v1/authn with gunicorn and wrk", ""]
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
        with server.serve(instance, TARGET, {}, workers=WORKERS, threads=THREADS) as api:
            primary, hash_now_ms = _primary(api, client, instance)
        server.say("HTTP benchmark: MFA verify")
        with server.serve(
            instance, TARGET, server.CHEAP_ARGON2, workers=WORKERS, threads=THREADS
        ) as api:
            cheap = _primary_cheap(api, client, instance)
            verify = _mfa(api, client, instance)
        server.say("HTTP benchmark: done")
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    return _section(when, versions, hash_p50_ms, hash_now_ms, primary, cheap, verify)


def _ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f}"


def _section(
    when: datetime,
    versions: dict[str, str],
    hash_p50_ms: float,
    hash_now_ms: float,
    primary: list[Run],
    cheap: tuple[Run, float],
    verify: list[Run],
) -> list[str]:
    lines = [
        f"Measured {when:%Y-%m-%d %H:%M} UTC on the machine above: gunicorn "
        f"{versions['gunicorn']} on 127.0.0.1 with {WORKERS} workers x {THREADS} threads "
        f"(gthread), wrk {versions['wrk']} as the load generator on the same cores, "
        f"PostgreSQL {versions['postgres']} (a fresh database), Redis {versions['redis']} "
        f"(a dedicated, flushed database). One wrk run per row; p50 and p99 are wrk's "
        "latencies. Primary authentication answers SUCCESS (no sign-on rule asks for a "
        "factor) at the default argon2id cost (t=3, m=64 MiB, p=4), cycling over 8 users, "
        "after a 3-second warm-up run that is not reported; the row marked *cheap hash* is "
        "the same on a server whose users' hashes cost t=1, m=8 MiB, p=1, so that it shows "
        "the server around the hash. "
        "Each MFA verify request finishes its own transaction (MFA_REQUIRED → SUCCESS) with a "
        "Google Authenticator code not used before for its factor; that server run uses "
        "argon2id t=1, m=8 MiB, p=1, which only the set-up's sign-ins pay. A row counts "
        "only if every answer was 200 SUCCESS. The last column is the share of the machine "
        "(all cores) that other processes used during the run: busy CPU time from "
        "/proc/stat minus that of the gunicorn workers, wrk, Redis, PostgreSQL and the "
        "benchmark itself.",
        "",
        "| what | connections (wrk threads) | seconds | requests | requests/s | p50 ms "
        "| p99 ms | 200 SUCCESS / other | other work |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    cheap_run, cheap_hash_ms = cheap
    for r in [*primary, cheap_run, *verify]:
        f = r.figures
        other = f"{f['other']}" + (
            f" ({f['exhausted']} after running out of transactions)" if f["exhausted"] else ""
        )
        void = "" if r.valid else " **(void: not all SUCCESS)**"
        lines.append(
            f"| {r.label}{void} | {r.connections} ({r.threads}) | "
            f"{f['duration_us'] / 1e6:.1f} | {f['requests']} | {r.per_s:.1f} | "
            f"{_ms(f['p50_us'])} | {_ms(f['p99_us'])} | {f['success']} / {other} | "
            f"{r.other:.0f} % |"
        )
    busiest = max(r.other for r in [*primary, cheap_run, *verify])
    if busiest > 10:
        lines += [
            "",
            f"**Other work used up to {busiest:.0f} % of the machine during these runs**: "
            "the latencies are longer and the rates lower than on an idle machine.",
        ]
    single = primary[0].figures["p50_us"] / 1000
    around = cheap_run.figures["p50_us"] / 1000 - cheap_hash_ms
    lines += [
        "",
        "Server overhead of a password login (design target: under 10 % of its argon2id "
        f"hash). Measured directly: primary authentication with the cheap hash takes "
        f"{cheap_run.figures['p50_us'] / 1000:.1f} ms (p50, one connection), of which the "
        f"cheap hash is {cheap_hash_ms:.1f} ms (timed in the benchmark process), so "
        "everything else (HTTP on loopback and wrk, JSON, the SQL reads of the user and the "
        "policies, the Redis round trips and the rate-limit counter, the `lastLogin` "
        f"update) takes **{around:.1f} ms: {around / hash_now_ms * 100:.1f} %** of one "
        f"argon2id hash at the default cost ({hash_now_ms:.1f} ms p50, timed in the "
        "benchmark process five times just before the default-cost one-connection run and "
        f"five times just after; {hash_p50_ms:.1f} ms in the in-process table). By "
        f"subtraction instead, the default-cost run's {single:.1f} ms p50 less that hash "
        f"leaves {single - hash_now_ms:.1f} ms; with four argon2 lanes on {cpus()} cores "
        "the hash time varies from process to process by more than the server's share, "
        "which is why the cheap-hash run is the measurement.",
        "",
        "### Redis per /authn call",
        "",
        "| run | round trips per request | rate limiter's round trips per request "
        "| commands per request | commands per request, by name "
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
        "or one whole pipeline is one round trip. Commands are those Redis ran in the "
        "benchmark's database, seen with `MONITOR` during the run (its small cost is "
        "inside the measured runs): they include each "
        "command inside a pipeline and the commands a Lua script runs (an `evalsha` or "
        "`eval`, then each `redis.call` in it), and the set-up commands of a connection the "
        "pool opens (none once warmed up). The last column is the growth of `INFO "
        "commandstats` (calls of every command, without the benchmark's own `INFO` and "
        "`MONITOR`): the same count for the whole Redis server, so it also holds what other "
        "clients of this Redis sent meanwhile; it equals the column before it only when "
        "nothing else used this Redis. The server runs with its per-client rate limit on "
        f"(`RATE_LIMIT_AUTHN={server.RATE_LIMIT}`, so high that wrk is never refused): its "
        "round trips (flask-limiter: the counter, then its value and expiry for the "
        "`X-Rate-Limit-*` headers) are counted apart from Portcullis' own, and its "
        "commands (keys under `LIMITS:`) are among the commands.",
        "",
    ]
    return lines


if __name__ == "__main__":  # the HTTP part alone: python benchmarks/http_authn.py [hash ms]
    print("\n".join(run(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0)))
