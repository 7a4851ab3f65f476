"""The rows of issue 13's targets, each a ratio to the framework floor of the same run.

All at 8 connections (2 wrk threads), after a warm-up run that is not
reported: the floor (benchmarks/floor_app.py, ``GET /ping`` on the same
gunicorn settings), an unknown path (404), ``/healthz/live``, ``/healthz``,
the Factors API verify, the WorkOS challenge and the WorkOS verify; the
/authn MFA verify row is benchmarks/http_authn.py's. :data:`TARGETS` holds
what each must reach; :func:`table` shows whether it did. :func:`memory`
measures the Redis bytes of a live transaction, a session and a remembered
device.

A row whose requests each spend something (a TOTP step, a challenge) is a
``once`` run over a file with one line per request: its length is fitted to
the lines there are (:func:`fit_seconds`), from the rate of its warm-up, so
that it does not run out; a row that ran out anyway is void.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import factors
import load
import server  # benchmarks/, this script's folder, is on sys.path

#: Seconds of each reported wrk run, and of the warm-up before it.
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WARM_SECONDS = float(os.environ.get("BENCH_WARM_SECONDS", "2"))
#: At most this many Okta users with a TOTP factor, and WorkOS TOTP factors.
MAX_OKTA_FACTORS = int(os.environ.get("BENCH_MFA_USERS", "3000"))
MAX_WORKOS_FACTORS = int(os.environ.get("BENCH_WORKOS_FACTORS", "3000"))

FLOOR = "floor: bare Flask `GET /ping`"
NOT_FOUND = "unknown path (404)"
LIVE = "`GET /healthz/live`"
READY = "`GET /healthz`"
FACTORS_VERIFY = "Factors API verify (TOTP)"
AUTHN_VERIFY = "`/api/v1/authn` MFA verify (TOTP), in flow"
WORKOS_CHALLENGE = "WorkOS challenge (TOTP factor)"
WORKOS_VERIFY = "WorkOS verify (TOTP)"


@dataclass(frozen=True)
class Target:
    """At least ``ratio`` x the floor's requests/s, and a p99 of at most ``p99_ms``."""

    ratio: float
    p99_ms: float | None = None

    def met(self, ratio: float, p99_ms: float) -> bool:
        return ratio >= self.ratio and (self.p99_ms is None or p99_ms <= self.p99_ms)

    def __str__(self) -> str:
        p99 = f", p99 ≤ {self.p99_ms:g} ms" if self.p99_ms is not None else ""
        return f"≥ {self.ratio:g} x floor{p99}"


#: Issue 13's targets, by row.
TARGETS = {
    LIVE: Target(0.5),
    READY: Target(0.2),
    FACTORS_VERIFY: Target(0.3, 15),
    AUTHN_VERIFY: Target(0.3, 15),
    WORKOS_CHALLENGE: Target(0.3, 15),
    WORKOS_VERIFY: Target(0.3, 15),
}


def ratio(rate: float, floor: float) -> float:
    """A row's requests/s as a multiple of the floor's (0 without a floor)."""
    return rate / floor if floor > 0 else 0.0


def fit_seconds(lines: int, rate: float, ceiling: float) -> float:
    """How long a ``once`` run of ``lines`` requests may last at ``rate`` per
    second without running out (a quarter to spare): at most ``ceiling``,
    at least 1 s (wrk's shortest)."""
    if rate <= 0:
        return ceiling
    return max(1.0, min(ceiling, math.floor(lines / (rate * 1.25))))


def warm_rate(warm: load.Run, ceiling: float) -> float:
    """The rate a ``once`` row may reach, from its ``probe`` warm-up: the
    warm-up's own if it did not run out; else connections / mean latency
    (Little's law for a closed loop: an upper bound, since wrk's own time
    between requests is left out; the threads stopped when they ran out, so
    the mean is the lines'), at most ``ceiling``."""
    f = warm.figures
    if f["exhausted"] == 0:
        return warm.per_s
    if f.get("mean_us", 0) <= 0:
        return ceiling
    return min(ceiling, warm.connections * 1e6 / f["mean_us"])


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")


def _write(workdir: Path, name: str, lines: list[str]) -> Path:
    path = workdir / f"{_slug(name)}.txt"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def cycle_row(
    api: server.Api,
    client: Any,
    workdir: Path,
    label: str,
    lines: list[str],
    expect: load.Expect,
    authorization: str = "",
) -> load.Run:
    """A row whose requests can be repeated: a warm-up, then the run."""
    path = _write(workdir, label, lines)
    warm = load.Run("warm-up, not reported", 8, 2, expect)
    load.wrk(api, client, warm, path, WARM_SECONDS, "cycle", authorization=authorization)
    run = load.Run(label, 8, 2, expect)
    return load.wrk(api, client, run, path, SECONDS, "cycle", authorization=authorization)


def once_row(
    api: server.Api,
    client: Any,
    workdir: Path,
    label: str,
    lines: list[str],
    expect: load.Expect,
    ceiling_rate: float,
    authorization: str = "",
    connections: tuple[int, int] = (8, 2),
    redis_url: str | None = None,
) -> load.Run:
    """A row whose every request spends its line: the first quarter warms up
    (and measures the rate, :func:`warm_rate`), the rest is the run, as long
    as they last. ``ceiling_rate``: an upper bound on the rate.
    ``connections``: wrk's connections and threads; ``redis_url``: count the
    commands Redis runs in that database (load.wrk)."""
    cut = len(lines) // 4
    slug = _slug(label)
    warm = load.Run("warm-up, not reported", *connections, expect)
    load.wrk(
        api,
        client,
        warm,
        _write(workdir, slug + "-warm", lines[:cut]),
        WARM_SECONDS,
        "probe",
        authorization=authorization,
        redis_url=redis_url,
    )
    seconds = fit_seconds(len(lines) - cut, warm_rate(warm, ceiling_rate), SECONDS)
    run = load.Run(label, *connections, expect)
    path = _write(workdir, slug, lines[cut:])
    return load.wrk(
        api, client, run, path, seconds, "once", authorization=authorization, redis_url=redis_url
    )


# ---- the rows --------------------------------------------------------------------------------


def floor(instance: Path, target: server.Target, client: Any) -> load.Run:
    """The floor, on a gunicorn of its own with the same settings as Portcullis'
    (the same environment: gunicorn.conf.py chooses from ``REDIS_URL``)."""
    with server.serve(instance, target, {}, app="floor_app:app", ready="/ping") as api:
        return cycle_row(api, client, instance, FLOOR, ["GET /ping"], load.Expect(200, '"ok"'))


def cheap_rows(api: server.Api, client: Any, workdir: Path) -> list[load.Run]:
    """The unknown path, liveness and readiness."""
    return [
        cycle_row(api, client, workdir, NOT_FOUND, ["GET /bench-unknown"], load.Expect(404, "")),
        cycle_row(
            api, client, workdir, LIVE, ["GET /healthz/live"], load.Expect(200, '"status":%s*"ok"')
        ),
        cycle_row(
            api, client, workdir, READY, ["GET /healthz"], load.Expect(200, '"status":%s*"ok"')
        ),
    ]


T = TypeVar("T")


def top_up(pool: list[T], size: int, make: Callable[[int], T]) -> None:
    """Grow ``pool`` to ``size``, making eight at a time."""
    if size <= len(pool):
        return
    server.say(f"enrolling {size - len(pool)} more factors")
    with ThreadPoolExecutor(8) as pool_of_threads:
        pool += list(pool_of_threads.map(make, range(len(pool), size)))


def factors_verify(
    api: server.Api,
    client: Any,
    workdir: Path,
    users: list[factors.Enrolled],
    ceiling_rate: float,
) -> load.Run:
    """``POST /api/v1/users/{uid}/factors/{fid}/verify``, each with a code new for its factor."""
    top_up(users, MAX_OKTA_FACTORS, lambda i: factors.enrol_okta(api, 100 + i))
    factors.await_codes(factors.plan(users, 2 * len(users)))
    lines = [
        f"POST /api/v1/users/{u.user_id}/factors/{u.factor_id}/verify "
        + json.dumps({"passCode": code})
        for u, code in factors.fresh_codes(users, server.totp_step(), 2 * len(users))
    ]
    expect = load.Expect(200, '"factorResult":%s*"SUCCESS"')
    return once_row(
        api, client, workdir, FACTORS_VERIFY, lines, expect, ceiling_rate, f"SSWS {api.token}"
    )


def workos_rows(
    api: server.Api, client: Any, workdir: Path, key: str, ceiling_rate: float
) -> list[load.Run]:
    """The WorkOS challenge (cycling over the factors), then the WorkOS verify:
    each request on its own challenge, made beforehand, with the right code,
    new for its factor."""
    pool: list[factors.WorkosFactor] = []
    top_up(pool, MAX_WORKOS_FACTORS, lambda i: factors.enrol_workos(api, key, i))
    bearer = f"Bearer {key}"
    challenge = cycle_row(
        api,
        client,
        workdir,
        WORKOS_CHALLENGE,
        [f"POST /auth/factors/{f.factor_id}/challenge {{}}" for f in pool],
        load.Expect(201, '"authentication_challenge"'),
        bearer,
    )
    # As many challenges as the verify row can spend if a verify costs what a
    # challenge does (a quarter more, and a third more for its warm-up), at
    # most two codes per factor.
    wanted = math.ceil(challenge.per_s * SECONDS * 1.25 * 4 / 3)
    planned = factors.plan(pool, wanted)
    server.say(f"making {len(planned)} WorkOS challenges")
    with ThreadPoolExecutor(8) as threads:
        ids = list(threads.map(lambda f: factors.challenge_workos(api, key, f), planned))
    # The codes now, after the challenges: of the step the run begins in.
    factors.await_codes(planned)
    codes = factors.codes(planned, server.totp_step())
    lines = [
        f"POST /auth/challenges/{challenge_id}/verify " + json.dumps({"code": code})
        for challenge_id, code in zip(ids, codes, strict=True)
        if code is not None
    ]
    expect = load.Expect(200, '"valid":%s*true')
    verify = once_row(api, client, workdir, WORKOS_VERIFY, lines, expect, ceiling_rate, bearer)
    return [challenge, verify]


# ---- the table -------------------------------------------------------------------------------


def table(runs: list[load.Run], floor_run: load.Run) -> list[str]:
    """The target table: every row at 8 connections against the floor."""
    lines = [
        "| what (8 connections) | seconds | requests/s | p50 ms | p99 ms | x floor | target "
        "| met | CPU per worker (% of one core) | RSS per worker (MiB) | as expected / other |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | ---: |",
    ]
    for r in [floor_run, *runs]:
        f = r.figures
        times = ratio(r.per_s, floor_run.per_s)
        p99 = f["p99_us"] / 1000
        target = TARGETS.get(r.label)
        if target is None:
            goal, met = "", ""
        elif not r.valid:
            goal, met = str(target), "void"
        else:
            goal, met = str(target), "**met**" if target.met(times, p99) else "**not met**"
        # A void run's figures mix in what it sent after running out: not shown.
        rate, times_shown = (f"{r.per_s:,.0f}", f"{times:.2f}") if r.valid else ("-", "-")
        lines.append(
            f"| {r.label} | {f['duration_us'] / 1e6:.1f} | {rate} | {f['p50_us'] / 1000:.1f} | "
            f"{p99:.1f} | {times_shown} | {goal} | {met} | {load.cpu_shares(r.worker_cpu)} | "
            f"{load.rss_shares(r.worker_rss)} | "
            f"{f['success']} / {f['other'] + f['exhausted']} |"
        )
    return lines


# ---- Redis memory ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """``MEMORY USAGE`` (bytes) of what one live transaction, session and device hold."""

    transaction: int
    lease: int
    session: int
    device: int
    transactions_seen: int


def memory(api: server.Api, client: Any, user: factors.Enrolled) -> Memory:
    """Sign ``user`` in (MFA_REQUIRED, remembering a device), read the live
    transaction's bytes, finish it, make a session of it and read the session's
    and the device's bytes. The transaction figure is the median over every
    live transaction in the database; a lease lives only during a call, so one
    of the server's shape (its 16-hex-digit nonce, with a PX expiry) is set on
    a live transaction by the benchmark, measured and deleted."""
    device_token = "bench-device-" + user.user_id
    body = {
        "username": user.login,
        "password": server.PASSWORD,
        "context": {"deviceToken": device_token},
    }
    answer = api.ok("POST", "/api/v1/authn", body, admin=False)
    if answer["status"] != "MFA_REQUIRED":
        raise RuntimeError(f"primary authentication answered {answer['status']}")
    sizes = []
    for key in client.scan_iter(match="authn:*", count=1000):
        if not key.endswith(b":lease"):
            sizes.append(int(client.memory_usage(key, samples=0)))
    if not sizes:
        raise RuntimeError("no live transaction found under authn:*")
    doc_key = next(k for k in client.scan_iter(match="authn:*") if not k.endswith(b":lease"))
    lease_key = doc_key + b":lease"
    client.set(lease_key, os.urandom(8).hex(), px=30_000, nx=True)
    lease = int(client.memory_usage(lease_key, samples=0))
    client.delete(lease_key)
    code = user.totp.next_code(server.totp_step())
    if code is None:
        raise RuntimeError("no unused TOTP step left for the memory sign-in")
    done = api.ok(
        "POST",
        f"/api/v1/authn/factors/{user.factor_id}/verify?rememberDevice=true",
        {"stateToken": answer["stateToken"], "passCode": code},
        admin=False,
    )
    if done["status"] != "SUCCESS":
        raise RuntimeError(f"verify answered {done['status']}")
    session = api.ok("POST", "/api/v1/sessions", {"sessionToken": done["sessionToken"]})
    session_key = f"session:{session['id']}".encode()
    device_key = next(client.scan_iter(match=f"device:{user.user_id}:*"), None)
    if device_key is None:
        raise RuntimeError("no remembered device under device:*")
    return Memory(
        transaction=int(statistics.median(sizes)),
        lease=lease,
        session=int(client.memory_usage(session_key, samples=0)),
        device=int(client.memory_usage(device_key, samples=0)),
        transactions_seen=len(sizes),
    )
