"""Soak: mixed traffic at a fixed rate for SOAK_MINUTES (30), on PostgreSQL + Redis,
to show that memory, Redis keys, database connections and latency level off.

``make soak`` (never part of ``make test``). gunicorn (2 workers x 4 threads) on
loopback serves a fresh PostgreSQL database and a Redis of its own (a private
``redis-server`` on a free port, so that ``INFO memory`` counts this server's
keys alone and no test run flushes them; ``SOAK_REDIS_URL`` points it at a
database of an existing Redis instead). Client threads send SOAK_RATE requests
a second, evenly spaced, so that latencies are comparable minute to minute:

* sign-in with MFA: ``/api/v1/authn`` → MFA_REQUIRED → TOTP verify → SUCCESS (now
  and then a wrong code first, refused, or a transaction abandoned), then the
  ``sessionToken`` is exchanged for a session (``POST /api/v1/sessions`` or
  ``/login/sessionCookieRedirect``), or dropped; sessions are read, refreshed,
  ended (by id, by cookie, or all of a user's) or left to expire: the sign-on
  rule's idle timeout and lifetime are minutes, so that expiry happens within
  the run (an ended session must then be 404);
* the Factors API: enroll, activate, list, verify, delete a TOTP factor;
* the WorkOS MFA API: enroll, challenge, verify (a wrong code is ``valid:
  false``, a second verify 422), delete;
* admin reads and writes: users get, list, update; groups list, create, add a
  member, list members, delete.

Every answer is checked; one that is not what the API promises counts as
unexpected, and any unexpected answer fails the soak (exit status 1). Once a
minute it records each gunicorn worker's RSS, Redis ``used_memory`` and keys by
prefix (and keys without an expiry; a session is one ``session:`` key, and a
``sessions-ended:`` counter per user whose sessions were all ended), PostgreSQL connections to
the soak's database, and the requests, unexpected answers, p50 and p99 of the
minute, overall and per kind. Writes docs/img/soak.csv, docs/img/soak.png and
the "Soak (make soak)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import report
import server

MINUTES = int(os.environ.get("SOAK_MINUTES", "30"))
RATE = float(os.environ.get("SOAK_RATE", "40"))  # requests a second, all kinds
CLIENT_THREADS = int(os.environ.get("SOAK_THREADS", "16"))
SAMPLE_SECONDS = int(os.environ.get("SOAK_SAMPLE_SECONDS", "60"))
WORKERS, THREADS = 2, 4
#: Users who sign in with a TOTP factor. A factor accepts each step once and one
#: step ahead at most, so each signs in about once per 30 s: enough for the rate.
MFA_USERS = int(os.environ.get("SOAK_MFA_USERS", "400"))
FACTOR_USERS, ADMIN_USERS = 40, 40
#: The sign-on rule's session settings: short, so that sessions expire during the run.
SESSION_IDLE_MINUTES = int(os.environ.get("SOAK_SESSION_IDLE_MINUTES", "4"))
SESSION_LIFETIME_MINUTES = int(os.environ.get("SOAK_SESSION_LIFETIME_MINUTES", "8"))
#: WorkOS challenges are kept 24 h by default: 5 minutes here, so that they level off too.
CHALLENGE_RETENTION = int(os.environ.get("SOAK_WORKOS_CHALLENGE_RETENTION", "300"))
DATABASE = "portcullis_soak"
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "")  # empty: a private redis-server
SEED = int(os.environ.get("SOAK_SEED", "12"))
IMG = server.ROOT / "docs" / "img"
CSV_PATH, PNG_PATH = IMG / "soak.csv", IMG / "soak.png"
KINDS = ("authn", "sessions", "factors", "workos", "admin")
#: A series "levels off" when its fitted growth over the second half of the run
#: is under this share of its level then (or under the absolute floor).
LEVEL_SHARE = 0.05


class Unexpected(Exception):
    """An answer that is not the one the API promises (already counted)."""


class Stopped(Exception):
    """The soak is over: no more requests."""


# ---- the load --------------------------------------------------------------------------------


@dataclass
class Sample:
    at: float  # seconds since the soak began, when the request was sent
    kind: str
    ms: float
    expected: bool


class Load:
    """Paced requests, timed and checked."""

    def __init__(self, api: server.Api, workos_key: str, started: float, ends: float) -> None:
        self.api = api
        self.workos_key = workos_key
        self.started = started
        self.ends = ends
        self.interval = 1 / RATE
        self.next_slot = started
        self.lock = threading.Lock()
        self.samples: list[Sample] = []
        self.unexpected: list[tuple[float, str]] = []

    def _slot(self) -> None:
        """Wait for the next send time. Slots missed while every thread was busy
        are skipped, never caught up in a burst."""
        with self.lock:
            slot = max(self.next_slot, time.monotonic())
            self.next_slot = slot + self.interval
        if slot >= self.ends:
            raise Stopped
        time.sleep(max(slot - time.monotonic(), 0))

    def send(
        self,
        kind: str,
        method: str,
        path: str,
        expect: int,
        *,
        body: Any = None,
        auth: str = "admin",
        headers: dict[str, str] | None = None,
        check: Callable[[Any], bool] | None = None,
        form: bool = False,
    ) -> tuple[Any, dict[str, str]]:
        """One request; its JSON (None if not JSON) and headers. Raises
        :class:`Unexpected` unless the status is ``expect`` and ``check`` holds."""
        self._slot()
        sent = {"Accept": "application/json", **(headers or {})}
        if auth == "admin":
            sent["Authorization"] = f"SSWS {self.api.token}"
        elif auth == "workos":
            sent["Authorization"] = f"Bearer {self.workos_key}"
        payload = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        begun = time.monotonic()
        try:
            status, answer_headers, data = self.api.exchange(method, path, payload, sent)
        except OSError as exc:
            status, answer_headers, data = 0, None, str(exc).encode()
        ms = (time.monotonic() - begun) * 1000
        parsed: Any = None
        if data and answer_headers is not None and "json" in answer_headers.get("Content-Type", ""):
            parsed = json.loads(data)
        ok = status == expect
        if ok and check is not None:
            try:
                ok = bool(check(parsed))
            except (KeyError, TypeError, IndexError):
                ok = False
        at = begun - self.started
        with self.lock:
            self.samples.append(Sample(at, kind, ms, ok))
            if not ok:
                self.unexpected.append(
                    (
                        at,
                        f"{method} {path.split('?')[0]} → {status} (expected {expect}): "
                        f"{data[:300]!r}",
                    )
                )
        if not ok:
            raise Unexpected
        return parsed, dict(answer_headers or {})


# ---- the users -------------------------------------------------------------------------------


@dataclass
class MfaUser:
    """A user with an active Google Authenticator factor."""

    id: str
    login: str
    factor_id: str
    secret: str
    last: int  # the last TOTP step its factor accepted

    def next_step(self) -> int | None:
        """A step its factor has not used and accepts now (this one or the next)."""
        now = server.totp_step()
        step = max(self.last + 1, now)
        return step if step <= now + 1 else None


@dataclass
class Users:
    mfa: Queue[MfaUser] = field(default_factory=Queue)
    factor: Queue[str] = field(default_factory=Queue)  # no factor between flows
    admin: Queue[str] = field(default_factory=Queue)


def _enrol(api: server.Api, index: int) -> MfaUser:
    login = f"mfa{index}@soak.example.com"
    user_id = server.create_user(api, login)
    factor = api.ok(
        "POST",
        f"/api/v1/users/{user_id}/factors",
        {"factorType": "token:software:totp", "provider": "GOOGLE"},
    )
    secret = factor["_embedded"]["activation"]["sharedSecret"]
    step = server.totp_step()
    api.ok(
        "POST",
        f"/api/v1/users/{user_id}/factors/{factor['id']}/lifecycle/activate",
        {"passCode": server.totp_code(secret, step)},
    )
    return MfaUser(user_id, login, factor["id"], secret, step)


def _users(api: server.Api) -> Users:
    users = Users()
    with ThreadPoolExecutor(8) as pool:
        for user in pool.map(lambda i: _enrol(api, i), range(MFA_USERS)):
            users.mfa.put(user)
        for user_id in pool.map(
            lambda i: server.create_user(api, f"factor{i}@soak.example.com"), range(FACTOR_USERS)
        ):
            users.factor.put(user_id)
        for user_id in pool.map(
            lambda i: server.create_user(api, f"admin{i}@soak.example.com"), range(ADMIN_USERS)
        ):
            users.admin.put(user_id)
    return users


# ---- the flows -------------------------------------------------------------------------------


def _wrong_code(secret: str, step: int) -> str:
    """A six-digit code that no step the server would try (step ± 1) accepts."""
    taken = {server.totp_code(secret, s) for s in (step - 1, step, step + 1)}
    code = 0
    while f"{code:06d}" in taken:
        code += 1
    return f"{code:06d}"


class Flows:
    def __init__(self, load: Load, users: Users, seed: int) -> None:
        self.load = load
        self.users = users
        self.random = random.Random(seed)
        self.counter = iter(range(10**9))
        self.lock = threading.Lock()

    def chance(self, p: float) -> bool:
        with self.lock:
            return self.random.random() < p

    def one(self) -> None:
        """A flow picked at random: its requests go out at the soak's pace."""
        with self.lock:
            pick = self.random.choices(
                (self.sign_in, self.factors, self.workos, self.admin), (45, 12, 12, 31)
            )[0]
        pick()

    # -- sign-in with MFA, then the session ----------------------------------------------------

    def _mfa_user(self) -> tuple[MfaUser, int] | None:
        for _ in range(self.users.mfa.qsize()):
            try:
                user = self.users.mfa.get_nowait()
            except Empty:
                return None
            step = user.next_step()
            if step is not None:
                return user, step
            self.users.mfa.put(user)
        return None

    def sign_in(self) -> None:
        picked = self._mfa_user()
        if picked is None:  # every factor is a step ahead: another kind instead
            self.admin()
            return
        user, step = picked
        try:
            self._sign_in(user, step)
        finally:
            self.users.mfa.put(user)

    def _sign_in(self, user: MfaUser, step: int) -> None:
        send = self.load.send
        answer, _ = send(
            "authn",
            "POST",
            "/api/v1/authn",
            200,
            body={"username": user.login, "password": server.PASSWORD},
            auth="",
            check=lambda a: a["status"] == "MFA_REQUIRED",
        )
        state = answer["stateToken"]
        if self.chance(0.05):
            return  # abandoned: the transaction expires
        verify = f"/api/v1/authn/factors/{user.factor_id}/verify"
        if self.chance(0.1):
            send(
                "authn",
                "POST",
                verify,
                403,
                body={"stateToken": state, "passCode": _wrong_code(user.secret, step)},
                auth="",
                check=lambda a: a["errorCode"] == "E0000068",
            )
        answer, _ = send(
            "authn",
            "POST",
            verify,
            200,
            body={"stateToken": state, "passCode": server.totp_code(user.secret, step)},
            auth="",
            check=lambda a: a["status"] == "SUCCESS",
        )
        user.last = step
        token = answer["sessionToken"]
        with self.lock:
            how = self.random.choices(("api", "cookie", "drop"), (45, 35, 20))[0]
        if how == "api":
            self._api_session(token)
        elif how == "cookie":
            self._cookie_session(token)
        if self.chance(0.05):
            send("sessions", "DELETE", f"/api/v1/users/{user.id}/sessions", 204)

    def _api_session(self, token: str) -> None:
        send = self.load.send
        answer, _ = send(
            "sessions",
            "POST",
            "/api/v1/sessions",
            200,
            body={"sessionToken": token},
            check=lambda a: a["status"] == "ACTIVE",
        )
        path = f"/api/v1/sessions/{answer['id']}"
        if self.chance(0.3):
            send("sessions", "GET", path, 200, check=lambda a: a["id"] == answer["id"])
        if self.chance(0.3):
            send("sessions", "POST", f"{path}/lifecycle/refresh", 200)
        if self.chance(0.5):
            send("sessions", "DELETE", path, 204)
            if self.chance(0.3):  # an ended session is gone
                send("sessions", "GET", path, 404, check=lambda a: a["errorCode"] == "E0000007")

    def _cookie_session(self, token: str) -> None:
        send = self.load.send
        target = self.load.api.base_url + "/app"
        query = urllib.parse.urlencode({"token": token, "redirectUrl": target})
        _, headers = send(
            "sessions",
            "GET",
            f"/login/sessionCookieRedirect?{query}",
            302,
            auth="",
        )
        cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
        if not cookie.startswith("sid="):
            self.load.unexpected.append((time.monotonic() - self.load.started, "no sid cookie"))
            raise Unexpected
        me = {"Cookie": cookie}
        send("sessions", "GET", "/api/v1/sessions/me", 200, auth="", headers=me)
        if self.chance(0.5):
            send("sessions", "DELETE", "/api/v1/sessions/me", 204, auth="", headers=me)
            if self.chance(0.3):
                send("sessions", "GET", "/api/v1/sessions/me", 404, auth="", headers=me)

    # -- the Factors API -------------------------------------------------------------------------

    def factors(self) -> None:
        user_id = self.users.factor.get()
        try:
            self._factors(user_id)
        finally:
            self.users.factor.put(user_id)

    def _factors(self, user_id: str) -> None:
        send = self.load.send
        base = f"/api/v1/users/{user_id}/factors"
        factor, _ = send(
            "factors",
            "POST",
            base,
            200,
            body={"factorType": "token:software:totp", "provider": "GOOGLE"},
            check=lambda a: a["status"] == "PENDING_ACTIVATION",
        )
        secret = factor["_embedded"]["activation"]["sharedSecret"]
        path = f"{base}/{factor['id']}"
        try:
            # This step, then the next: both accepted whichever step it is on arrival.
            step = server.totp_step()
            send(
                "factors",
                "POST",
                f"{path}/lifecycle/activate",
                200,
                body={"passCode": server.totp_code(secret, step)},
                check=lambda a: a["status"] == "ACTIVE",
            )
            send("factors", "GET", base, 200, check=lambda a: len(a) == 1)
            code = {"passCode": server.totp_code(secret, step + 1)}
            send(
                "factors",
                "POST",
                f"{path}/verify",
                200,
                body=code,
                check=lambda a: a["factorResult"] == "SUCCESS",
            )
            if self.chance(0.3):  # the same code again is a replay
                send("factors", "POST", f"{path}/verify", 403, body=code)
        finally:
            send("factors", "DELETE", path, 204)

    # -- the WorkOS MFA API ----------------------------------------------------------------------

    def workos(self) -> None:
        send = self.load.send
        n = next(self.counter)
        factor, _ = send(
            "workos",
            "POST",
            "/auth/factors/enroll",
            201,
            body={"type": "totp", "totp_issuer": "Soak", "totp_user": f"soak{n}@example.com"},
            auth="workos",
        )
        path = f"/auth/factors/{factor['id']}"
        secret = factor["totp"]["secret"]
        try:
            send("workos", "GET", path, 200, auth="workos")
            challenge, _ = send("workos", "POST", f"{path}/challenge", 201, body={}, auth="workos")
            verify = f"/auth/challenges/{challenge['id']}/verify"
            step = server.totp_step()
            if self.chance(0.3):
                send(
                    "workos",
                    "POST",
                    verify,
                    200,
                    body={"code": _wrong_code(secret, step)},
                    auth="workos",
                    check=lambda a: a["valid"] is False,
                )
            code = {"code": server.totp_code(secret, step)}
            send(
                "workos",
                "POST",
                verify,
                200,
                body=code,
                auth="workos",
                check=lambda a: a["valid"] is True,
            )
            if self.chance(0.3):
                send(
                    "workos",
                    "POST",
                    verify,
                    422,
                    body=code,
                    auth="workos",
                    check=lambda a: a["code"] == "authentication_challenge_previously_verified",
                )
        finally:
            send("workos", "DELETE", path, 204, auth="workos")

    # -- admin reads and writes ------------------------------------------------------------------

    def admin(self) -> None:
        user_id = self.users.admin.get()
        try:
            self._admin(user_id)
        finally:
            self.users.admin.put(user_id)

    def _admin(self, user_id: str) -> None:
        send = self.load.send
        with self.lock:
            what = self.random.choices(
                ("get", "list", "update", "groups", "user-groups", "group-cycle"),
                (30, 15, 20, 10, 10, 15),
            )[0]
        user = f"/api/v1/users/{user_id}"
        if what == "get":
            send("admin", "GET", user, 200, check=lambda a: a["id"] == user_id)
        elif what == "list":
            send("admin", "GET", "/api/v1/users?limit=50", 200, check=lambda a: len(a) == 50)
        elif what == "update":
            nick = f"n{next(self.counter)}"
            send(
                "admin",
                "POST",
                user,
                200,
                body={"profile": {"nickName": nick}},
                check=lambda a: a["profile"]["nickName"] == nick,
            )
        elif what == "groups":
            send("admin", "GET", "/api/v1/groups?limit=50", 200)
        elif what == "user-groups":
            send("admin", "GET", f"{user}/groups", 200, check=lambda a: len(a) >= 1)
        else:
            name = f"soak-{next(self.counter)}"
            group, _ = send(
                "admin", "POST", "/api/v1/groups", 200, body={"profile": {"name": name}}
            )
            path = f"/api/v1/groups/{group['id']}"
            try:
                send("admin", "PUT", f"{path}/users/{user_id}", 204)
                send(
                    "admin",
                    "GET",
                    f"{path}/users",
                    200,
                    check=lambda a: [u["id"] for u in a] == [user_id],
                )
            finally:
                send("admin", "DELETE", path, 204)


# ---- what is recorded every minute -----------------------------------------------------------


def worker_rss(master: int) -> dict[int, float]:
    """VmRSS (MiB) of each child of the gunicorn master, by pid."""
    found: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == master and "VmRSS" in fields:
            found[int(entry)] = int(fields["VmRSS"].split()[0]) / 1024
    return dict(sorted(found.items()))


def redis_figures(client: Any) -> dict[str, Any]:
    """used_memory, keys by prefix (before the first ':') and keys without an expiry by
    prefix."""
    keys = [k.decode() for k in client.scan_iter(count=1000)]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.ttl(key)
    ttls = pipe.execute()
    by_prefix: Counter[str] = Counter(k.split(":", 1)[0] for k in keys)
    no_expiry: Counter[str] = Counter(
        k.split(":", 1)[0] for k, ttl in zip(keys, ttls, strict=True) if ttl == -1
    )
    return {
        "used_memory": int(client.info("memory")["used_memory"]),
        "keys": dict(by_prefix),
        "no_expiry": dict(no_expiry),
    }


def pg_connections(conn: Any) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (DATABASE,)
    ).fetchone()
    return int(row[0])


@dataclass
class Minute:
    minute: int
    load: float
    rss: dict[int, float]
    redis: dict[str, Any]
    pg: int
    requests: int = 0
    unexpected: int = 0
    p50: float = 0.0
    p99: float = 0.0
    by_kind: dict[str, tuple[float, float, int]] = field(default_factory=dict)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)] if ordered else 0.0


def summarise(minute: Minute, samples: list[Sample]) -> None:
    """Fill in the minute's requests and latencies (by the time each was sent)."""
    mine = [s for s in samples if minute.minute - 1 <= s.at / SAMPLE_SECONDS < minute.minute]
    minute.requests = len(mine)
    minute.unexpected = sum(1 for s in mine if not s.expected)
    minute.p50 = percentile([s.ms for s in mine], 0.5)
    minute.p99 = percentile([s.ms for s in mine], 0.99)
    kinds: dict[str, list[float]] = defaultdict(list)
    for s in mine:
        kinds[s.kind].append(s.ms)
    minute.by_kind = {
        k: (percentile(v, 0.5), percentile(v, 0.99), len(v)) for k, v in kinds.items()
    }


# ---- the run ---------------------------------------------------------------------------------


def private_redis(instance: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server of the soak's own on a free port (no persistence)."""
    port = server.free_port()
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(instance),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the private redis-server did not start") from None
            time.sleep(0.1)


def soak(instance: Path, target: server.Target) -> tuple[list[Minute], Load, dict[str, str]]:
    import psycopg
    import redis

    server.prepare(instance, target)
    workos_key = server.flask(instance, target, "create-api-key", "--name", "soak").split()[-1]
    client = redis.Redis.from_url(target.redis_url)
    versions = {"redis": str(client.info("server")["redis_version"])}
    with (
        server.serve(
            instance,
            target,
            {**server.CHEAP_ARGON2, "WORKOS_CHALLENGE_RETENTION": str(CHALLENGE_RETENTION)},
            workers=WORKERS,
            threads=THREADS,
        ) as api,
        psycopg.connect(server.admin_database_url(), autocommit=True) as pg,
    ):
        versions["postgres"] = str(pg.execute("SHOW server_version").fetchone()[0]).split()[0]
        server.require_mfa(
            api,
            {
                "maxSessionIdleMinutes": SESSION_IDLE_MINUTES,
                "maxSessionLifetimeMinutes": SESSION_LIFETIME_MINUTES,
            },
        )
        server.say(f"creating {MFA_USERS + FACTOR_USERS + ADMIN_USERS} users")
        users = _users(api)
        started = time.monotonic()
        load = Load(api, workos_key, started, started + MINUTES * SAMPLE_SECONDS)
        flows = Flows(load, users, SEED)
        server.say(f"soak: {MINUTES} minute(s) at {RATE:g} requests/s")
        minutes = [
            Minute(
                0,
                os.getloadavg()[0],
                worker_rss(api.pid),
                redis_figures(client),
                pg_connections(pg),
            )
        ]

        def runner() -> None:
            while True:
                try:
                    flows.one()
                except Unexpected:
                    continue
                except Stopped:
                    return

        threads = [threading.Thread(target=runner, daemon=True) for _ in range(CLIENT_THREADS)]
        for thread in threads:
            thread.start()
        for m in range(1, MINUTES + 1):
            time.sleep(max(started + m * SAMPLE_SECONDS - time.monotonic(), 0))
            minute = Minute(
                m,
                os.getloadavg()[0],
                worker_rss(api.pid),
                redis_figures(client),
                pg_connections(pg),
            )
            minutes.append(minute)
            time.sleep(1)  # the requests of the minute still in flight
            with load.lock:
                summarise(minute, list(load.samples))
            rss = ", ".join(f"{v:.1f}" for v in minute.rss.values())
            server.say(
                f"minute {m}: {minute.requests} requests, {minute.unexpected} unexpected, "
                f"p50 {minute.p50:.1f} ms, p99 {minute.p99:.1f} ms; RSS {rss} MiB; Redis "
                f"{minute.redis['used_memory'] / 2**20:.2f} MiB, "
                f"{sum(minute.redis['keys'].values())} keys; "
                f"PG {minute.pg} connections; load {minute.load:.2f}"
            )
        for thread in threads:
            thread.join(90)
    return minutes, load, versions


def main() -> int:
    load_before = os.getloadavg()[0]
    when = datetime.now(UTC)
    instance = Path(tempfile.mkdtemp(prefix="portcullis-soak-"))
    redis_process = None
    try:
        redis_url = REDIS_URL
        if not redis_url:
            redis_process, redis_url = private_redis(instance)
        target = server.Target(DATABASE, redis_url)
        try:
            minutes, load, versions = soak(instance, target)
        finally:
            server.drop_database(target)
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(10)
        shutil.rmtree(instance, ignore_errors=True)
    load_after = os.getloadavg()[0]
    for at, what in load.unexpected[:30]:
        print(f"  unexpected at {at:.0f} s: {what}", file=sys.stderr)
    write_csv(minutes)
    plot(minutes)
    verdicts = judge(minutes)
    lines = section(minutes, load, versions, verdicts, when, load_before, load_after)
    out = report.BENCHMARKS_MD
    out.write_text(report.put_section(out.read_text(), report.SOAK_HEADING, lines))
    print("\n".join(lines))
    failed = bool(load.unexpected) or any(not ok for _, ok, _ in verdicts.values())
    return 1 if failed else 0


# ---- the results -----------------------------------------------------------------------------


def prefixes(minutes: list[Minute]) -> list[str]:
    return sorted({p for m in minutes for p in m.redis["keys"]})


def write_csv(minutes: list[Minute]) -> None:
    workers = max(len(m.rss) for m in minutes)
    names = prefixes(minutes)
    header = [
        "minute", "load1", *(f"rss_w{i + 1}_mib" for i in range(workers)),
        "redis_used_memory_bytes", "redis_keys", *(f"keys_{p}" for p in names),
        "keys_without_expiry",
        "pg_connections", "requests", "unexpected", "p50_ms", "p99_ms",
        *(f"{k}_{q}" for k in KINDS for q in ("requests", "p50_ms", "p99_ms")),
    ]  # fmt: skip
    IMG.mkdir(parents=True, exist_ok=True)
    with CSV_PATH.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for m in minutes:
            rss = [f"{v:.1f}" for v in m.rss.values()] + [""] * (workers - len(m.rss))
            kinds = []
            for k in KINDS:
                p50, p99, n = m.by_kind.get(k, (0.0, 0.0, 0))
                kinds += [n, f"{p50:.1f}", f"{p99:.1f}"]
            out.writerow(
                [
                    m.minute, f"{m.load:.2f}", *rss, m.redis["used_memory"],
                    sum(m.redis["keys"].values()), *(m.redis["keys"].get(p, 0) for p in names),
                    sum(m.redis["no_expiry"].values()),
                    m.pg, m.requests, m.unexpected, f"{m.p50:.1f}", f"{m.p99:.1f}", *kinds,
                ]
            )  # fmt: skip


def plot(minutes: list[Minute]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [m.minute for m in minutes]
    fig, axes = plt.subplots(5, 1, figsize=(9, 15), sharex=True)
    workers = max(len(m.rss) for m in minutes)
    for i in range(workers):
        axes[0].plot(
            xs,
            [list(m.rss.values())[i] if i < len(m.rss) else None for m in minutes],
            marker=".",
            label=f"worker {i + 1}",
        )
    axes[0].set_ylabel("RSS, MiB")
    axes[0].set_title("gunicorn workers' resident memory (VmRSS)")
    axes[1].plot(xs, [m.redis["used_memory"] / 2**20 for m in minutes], marker=".")
    axes[1].set_ylabel("MiB")
    axes[1].set_title("Redis used_memory")
    for p in prefixes(minutes):
        axes[2].plot(xs, [m.redis["keys"].get(p, 0) for m in minutes], marker=".", label=p)
    axes[2].set_ylabel("keys")
    axes[2].set_title("Redis keys by prefix")
    axes[3].plot(xs, [m.pg for m in minutes], marker=".")
    axes[3].set_ylabel("connections")
    axes[3].set_title("PostgreSQL connections to the soak's database")
    later = minutes[1:]
    axes[4].plot([m.minute for m in later], [m.p50 for m in later], marker=".", label="p50")
    axes[4].plot([m.minute for m in later], [m.p99 for m in later], marker=".", label="p99")
    axes[4].set_ylabel("ms")
    axes[4].set_title("latency per minute, all requests")
    axes[4].set_xlabel("minute")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left", ncol=2)
    for ax in axes:  # from zero: a flat line looks flat
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(PNG_PATH, dpi=80)
    plt.close(fig)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares growth per minute."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def series(minutes: list[Minute]) -> dict[str, tuple[list[float], float]]:
    """Each judged series, per minute (minute 0 first), with its absolute floor:
    growth under the floor over the second half counts as level whatever the share."""
    out: dict[str, tuple[list[float], float]] = {}
    workers = max(len(m.rss) for m in minutes)
    for i in range(workers):
        out[f"worker {i + 1} RSS (MiB)"] = (
            [list(m.rss.values())[i] if i < len(m.rss) else 0.0 for m in minutes],
            2.0,
        )
    out["Redis used_memory (MiB)"] = ([m.redis["used_memory"] / 2**20 for m in minutes], 0.5)
    out["Redis keys"] = ([float(sum(m.redis["keys"].values())) for m in minutes], 50)
    for p in prefixes(minutes):
        out[f"keys {p}:*"] = ([float(m.redis["keys"].get(p, 0)) for m in minutes], 20)
    out["PostgreSQL connections"] = ([float(m.pg) for m in minutes], 1)
    out["p50 ms"] = ([m.p50 for m in minutes], 2.0)
    out["p99 ms"] = ([m.p99 for m in minutes], 10.0)
    return out


def judge(minutes: list[Minute]) -> dict[str, tuple[float, bool, str]]:
    """Per series: growth per minute over the second half (least squares, for
    the table), whether it levels off, and a word on it.

    A series grows when the mean of the run's last quarter is both above the
    highest value of its first half (once warmed up: past minute 2) and above
    the mean of its second quarter by more than the largest of a small
    absolute floor, ``LEVEL_SHARE`` of its level, and twice the standard
    error of that difference (the minute-to-minute noise). A leak (keys or
    bytes that pile up with the traffic) does both; a series that swings
    around a level (keys that expire in waves, as the WorkOS challenges'
    retention makes them) may rise from one quarter to another but does not
    pass its own earlier peak. A fitted slope alone flagged noise as growth.
    Too short a run (under 10 minutes) is not judged."""
    verdicts: dict[str, tuple[float, bool, str]] = {}
    half = [m for m in minutes if m.minute > MINUTES / 2]
    second = [m for m in minutes if MINUTES / 4 < m.minute <= MINUTES / 2]
    fourth = [m for m in half if m.minute > MINUTES * 3 / 4]
    for name, (values, floor) in series(minutes).items():
        growth = slope([(float(m.minute), values[m.minute]) for m in half])
        if MINUTES < 10 or len(second) < 2 or len(fourth) < 2:
            verdicts[name] = (growth, True, "not judged (run under 10 minutes)")
            continue
        before = [values[m.minute] for m in second]
        after = [values[m.minute] for m in fourth]
        rise = statistics.fmean(after) - statistics.fmean(before)
        noise = 2 * math.sqrt(
            statistics.variance(before) / len(before) + statistics.variance(after) / len(after)
        )
        allowed = max(floor, LEVEL_SHARE * abs(statistics.fmean(after)), noise)
        peak = max(values[m.minute] for m in minutes if 2 < m.minute <= MINUTES / 2)
        if rise <= allowed or statistics.fmean(after) <= peak:
            verdicts[name] = (growth, True, "levels off")
        else:
            verdicts[name] = (
                growth,
                False,
                f"**grows** ({rise:+.1f} from the second quarter to the last, over {allowed:.1f}, "
                f"and past the first half's peak {peak:.1f})",
            )
    return verdicts


def section(
    minutes: list[Minute],
    load: Load,
    versions: dict[str, str],
    verdicts: dict[str, tuple[float, bool, str]],
    when: datetime,
    load_before: float,
    load_after: float,
) -> list[str]:
    total = sum(m.requests for m in minutes)
    shown = [m for m in minutes if m.minute in (0, 1, 5, 10, 20, 30, MINUTES)]
    names = list(series(minutes))
    lines = [
        report.SOAK_HEADING,
        "",
        f"Measured {when:%Y-%m-%d %H:%M} UTC on {report.machine()}; 1-minute load average "
        f"{load_before:.1f} as it began and {load_after:.1f} as it ended (other work on the "
        "machine, such as a test run, shows in the latencies). "
        f"{MINUTES} minutes of mixed traffic at {RATE:g} requests/s "
        f"({total} requests, {len(load.unexpected)} unexpected answers), sent evenly spaced by "
        f"{CLIENT_THREADS} client threads: sign-in with MFA (`/api/v1/authn` → MFA_REQUIRED → "
        "TOTP verify → SUCCESS; now and then a wrong code first, refused with 403, or a "
        "transaction abandoned), its `sessionToken` exchanged for a session (`POST "
        "/api/v1/sessions` or `/login/sessionCookieRedirect`) or dropped; sessions read, "
        "refreshed, ended (by id, by cookie, all of a user's; an ended one answers 404) or "
        "left to expire; the Factors API (enroll, activate, list, verify, a replayed code "
        "refused, delete a TOTP factor); the WorkOS MFA API (enroll, challenge, verify with "
        "a wrong code then the right one, a second verify refused with 422, delete); admin "
        "reads and writes (users get, list, update; groups list, create, add a member, "
        "delete). gunicorn "
        f"{WORKERS} workers x {THREADS} threads, argon2id t=1, m=8 MiB, p=1; PostgreSQL "
        f"{versions['postgres']} (a fresh database), Redis {versions['redis']} (a private "
        f"server, nothing else in it); {MFA_USERS} users signing in, the sign-on rule's "
        f"sessions idle out after {SESSION_IDLE_MINUTES} minutes and last at most "
        f"{SESSION_LIFETIME_MINUTES}, and WorkOS challenges are kept "
        f"{CHALLENGE_RETENTION} s (`WORKOS_CHALLENGE_RETENTION`; 24 h by default, when "
        "their keys grow for a day before they level off), so that expiry happens during "
        "the run. Figures are "
        "taken at the end of each minute (minute 0: before the load); latencies are those of "
        "the requests sent during the minute. Per-minute figures: "
        "[docs/img/soak.csv](img/soak.csv); `make soak` (`SOAK_MINUTES`, `SOAK_RATE`).",
        "",
        "![Soak: worker RSS, Redis memory and keys, PostgreSQL connections, latency](img/soak.png)",
        "",
        "| minute | " + " | ".join(f"{m.minute}" for m in shown) + " | growth per minute, "
        "second half | verdict |",
        "| --- | " + " | ".join("---:" for _ in shown) + " | ---: | --- |",
    ]
    table = series(minutes)
    for name in names:
        values, _ = table[name]
        growth, _, word = verdicts[name]
        cells = []
        for m in shown:
            v = values[m.minute]
            cells.append("-" if m.minute == 0 and name.startswith("p") else f"{v:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth:+.2f} | {word} |")
    lines.append(
        "| requests (unexpected) | "
        + " | ".join("-" if m.minute == 0 else f"{m.requests} ({m.unexpected})" for m in shown)
        + " | | |"
    )
    no_expiry = sorted({p for m in minutes for p in m.redis["no_expiry"]})
    grows = [n for n, (_, ok, _) in verdicts.items() if not ok]
    lines += [
        "",
        "Keys without an expiry at the end: "
        + (
            ", ".join(f"`{p}:*` {minutes[-1].redis['no_expiry'].get(p, 0)}" for p in no_expiry)
            or "none"
        )
        + ". A series grows when the mean of the run's last quarter is above the highest "
        "value of its first half (after minute 2) and above the mean of its second quarter by "
        f"more than the largest of {LEVEL_SHARE:.0%} of its level, twice the standard error of "
        "that difference (the minute-to-minute noise), and a small absolute floor (2 MiB of "
        "RSS, 0.5 MiB of Redis, 20 keys, one connection, 2 ms p50, 10 ms p99): a leak does "
        "both, a series that swings around a level does not pass its own earlier peak. "
        "`lockout:*` counters have no expiry by design (Okta's count lasts until a success or "
        "an unlock): at most one per user who failed and has not signed in since.",
        "",
        "**Verdict:** "
        + (
            "not judged: the run is under 10 minutes."
            if MINUTES < 10
            else (
                f"{len(load.unexpected)} unexpected answers; "
                + ("every series levels off." if not grows else "grows: " + ", ".join(grows) + ".")
            )
        ),
        "",
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
