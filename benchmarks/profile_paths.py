"""Profiles of issue 13's hot paths: where a request's time goes (make profile).

In-process through the Flask test client on PostgreSQL + Redis (the same
databases as make bench), one thread, so that the profile shows Portcullis'
own work and not the HTTP server's (the floor of make bench measures that).
For each hot path the script sets up what its requests spend (TOTP factors
with unused steps, WorkOS challenges, /authn transactions), then runs it for
``PROFILE_SECONDS`` under py-spy (sampling this very process) and writes:

- ``docs/img/profile-<path>.svg``, py-spy's flame graph;
- the share of the samples by part of the request (:data:`PARTS`), printed
  and written to docs/benchmarks.md's "Profiles" section with the mean
  request time measured without the profiler.

Sampling, not tracing: py-spy stops the process some hundreds of times a
second and reads its stack, so the code runs at nearly its own speed.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import factors  # noqa: E402  (benchmarks/, this script's folder, is on sys.path)
import report  # noqa: E402
import server  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services import api_tokens  # noqa: E402
from app.store import migrations  # noqa: E402

PG_URL = os.environ.get("PROFILE_PG_URL", "postgresql://postgres@127.0.0.1:5432/portcullis_profile")
REDIS_URL = os.environ.get("PROFILE_REDIS_URL", "redis://127.0.0.1:6379/13")
SECONDS = float(os.environ.get("PROFILE_SECONDS", "8"))
RATE = int(os.environ.get("PROFILE_RATE", "400"))  # samples a second
#: Factors (and users) to spend codes of: two codes each per 30-s step.
FACTORS = int(os.environ.get("PROFILE_FACTORS", "1200"))
IMG = ROOT / "docs" / "img"
HEADING = report.PROFILE_HEADING

#: Operations, each with all the work beneath it: (part, function-name
#: pattern, file pattern).
OPERATIONS: list[tuple[str, str, str]] = [
    ("SSWS / WorkOS key lookup", r"authenticate", r"(^|/)app/services/(api_tokens|workos_mfa)\.py"),
    (
        "rate limiter (with the Redis round trip it rides on)",
        r".*",
        r"(^|/)app/(api/rate_limits|store/rate_limit)\.py",
    ),
]
#: Libraries, by the file a frame is in: (part, file pattern).
LIBRARIES: list[tuple[str, str]] = [
    ("argon2 hash", r"(^|/)argon2/"),
    ("Redis (redis-py)", r"(^|/)redis/"),
    ("SQL (SQLAlchemy and psycopg)", r"(^|/)(sqlalchemy|psycopg)/"),
    ("TOTP maths", r"(^|/)app/domain/factors/totp\.py|(^|/)pyotp/|(^|/)hmac\.py"),
    ("secret box (decrypt)", r"(^|/)app/domain/secret_box\.py|(^|/)cryptography/"),
    ("request parsing (webargs, marshmallow)", r"(^|/)(webargs|marshmallow)/"),
    ("JSON", r"(^|/)json/|(^|/)flask/json"),
    (
        "Flask and werkzeug (routing, request and response objects, the test client)",
        r"(^|/)(flask|werkzeug|flask_smorest)/",
    ),
    ("Portcullis' own code (API layer, services, domain, stores)", r"(^|/)app/"),
]
OTHER = "other (Python runtime)"


@dataclass
class HotPath:
    """One hot path: its name, the requests' set-up and the request itself."""

    name: str
    slug: str
    prepare: Callable[[int], list[Any]]  # n -> one argument per request
    request: Callable[[Any], None]


def _settings(tmp: str) -> Settings:
    return Settings(
        instance_path=Path(tmp),
        database_url=PG_URL,
        redis_url=REDIS_URL,
        secret_key="profile",
        encryption_key="profile",
        argon2_time_cost=1,
        argon2_memory_cost=8192,
        argon2_parallelism=1,
        rate_limit_authn="100000000 per minute",
    )


def _fresh_databases() -> None:
    import psycopg
    import redis

    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    name = PG_URL.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    redis.Redis.from_url(REDIS_URL).flushdb()


class Client:
    """The Flask test client with the admin token and the WorkOS key."""

    def __init__(self, app: Any) -> None:
        ctx = app.extensions["portcullis"]
        _, token = api_tokens.create_token(ctx, "profile")
        from app.services import workos_mfa

        _, self.key = workos_mfa.create_api_key(ctx, "profile")
        self.client = app.test_client()
        self.admin = {"Authorization": f"SSWS {token}"}
        self.bearer = {"Authorization": f"Bearer {self.key}"}

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """An admin call answered 200 (server.require_mfa's interface)."""
        r = self.client.open(path, method=method, json=body, headers=self.admin)
        if r.status_code != 200:
            raise RuntimeError(
                f"{method} {path} answered {r.status_code}: {r.get_data(as_text=True)}"
            )
        return r.get_json()

    def post(self, path: str, body: Any, headers: dict[str, str], status: int = 200) -> Any:
        r = self.client.post(path, json=body, headers=headers)
        if r.status_code != status:
            raise RuntimeError(f"POST {path} answered {r.status_code}: {r.get_data(as_text=True)}")
        return r.get_json()


def _enrol(c: Client, i: int) -> factors.Enrolled:
    login = f"profile{i}@example.com"
    body = {
        "profile": {"login": login, "email": login, "firstName": "P", "lastName": str(i)},
        "credentials": {"password": {"value": "Profile-Passw0rd"}},
    }
    user = c.post("/api/v1/users", body, c.admin)
    factor = c.post(
        f"/api/v1/users/{user['id']}/factors",
        {"factorType": "token:software:totp", "provider": "GOOGLE"},
        c.admin,
    )
    secret = factor["_embedded"]["activation"]["sharedSecret"]
    step = server.totp_step() - 1
    c.post(
        f"/api/v1/users/{user['id']}/factors/{factor['id']}/lifecycle/activate",
        {"passCode": server.totp_code(secret, step)},
        c.admin,
    )
    return factors.Enrolled(login, user["id"], factor["id"], factors.Totp(secret, step))


def _codes(pool: list[Any], n: int) -> list[tuple[Any, str]]:
    """Up to ``n`` (factor, code) pairs, each code unused for its factor."""
    return factors.fresh_codes(pool, server.totp_step(), n)


def paths(c: Client, pool: list[factors.Enrolled]) -> list[HotPath]:
    def factors_verify_prepare(n: int) -> list[Any]:
        return _codes(pool, n)

    def factors_verify(arg: tuple[factors.Enrolled, str]) -> None:
        f, code = arg
        c.post(
            f"/api/v1/users/{f.user_id}/factors/{f.factor_id}/verify", {"passCode": code}, c.admin
        )

    mfa: list[bool] = []

    def authn_prepare(n: int) -> list[Any]:
        if not mfa:  # from here on, sign-in asks for a factor
            server.require_mfa(c)  # type: ignore[arg-type]
            mfa.append(True)
        out = []
        for f, code in _codes(pool, n):
            body = c.post(
                "/api/v1/authn", {"username": f.login, "password": "Profile-Passw0rd"}, {}
            )
            out.append((body["stateToken"], f, code))
        return out

    def authn_verify(arg: tuple[str, factors.Enrolled, str]) -> None:
        state, f, code = arg
        body = c.post(
            f"/api/v1/authn/factors/{f.factor_id}/verify",
            {"stateToken": state, "passCode": code},
            {},
        )
        assert body["status"] == "SUCCESS", body

    workos: list[factors.WorkosFactor] = []

    def workos_pool(n: int) -> None:
        while len(workos) < n:
            f = c.post(
                "/auth/factors/enroll",
                {"type": "totp", "totp_issuer": "Profile", "totp_user": f"w{len(workos)}"},
                c.bearer,
                201,
            )
            step = server.totp_step() - 1
            workos.append(factors.WorkosFactor(f["id"], factors.Totp(f["totp"]["secret"], step)))

    def workos_challenge_prepare(n: int) -> list[Any]:
        workos_pool(FACTORS)
        return [workos[i % len(workos)].factor_id for i in range(n)]

    def workos_challenge(factor_id: str) -> None:
        c.post(f"/auth/factors/{factor_id}/challenge", {}, c.bearer, 201)

    def workos_verify_prepare(n: int) -> list[Any]:
        workos_pool(FACTORS)
        return [
            (c.post(f"/auth/factors/{f.factor_id}/challenge", {}, c.bearer, 201)["id"], code)
            for f, code in _codes(workos, n)
        ]

    def workos_verify(arg: tuple[str, str]) -> None:
        challenge_id, code = arg
        body = c.post(f"/auth/challenges/{challenge_id}/verify", {"code": code}, c.bearer)
        assert body["valid"] is True, body

    def primary_prepare(n: int) -> list[Any]:
        return [pool[i % len(pool)].login for i in range(n)]

    def primary(login: str) -> None:
        c.post("/api/v1/authn", {"username": login, "password": "Profile-Passw0rd"}, {})

    return [
        HotPath(
            "Factors API verify (TOTP)", "factors-verify", factors_verify_prepare, factors_verify
        ),
        HotPath(
            "/api/v1/authn primary authentication, SUCCESS (cheap hash)",
            "authn-primary",
            primary_prepare,
            primary,
        ),
        HotPath(
            "/api/v1/authn MFA verify (TOTP), in flow", "authn-verify", authn_prepare, authn_verify
        ),
        HotPath(
            "WorkOS challenge (TOTP factor)",
            "workos-challenge",
            workos_challenge_prepare,
            workos_challenge,
        ),
        HotPath("WorkOS verify (TOTP)", "workos-verify", workos_verify_prepare, workos_verify),
    ]


# ---- reading py-spy's flame graph --------------------------------------------------------

_FRAME = re.compile(
    r'<title>(?P<title>[^<]*)</title><rect [^>]*y="(?P<y>\d+)"[^>]*'
    r'fg:x="(?P<x>\d+)" fg:w="(?P<w>\d+)"'
)
_TITLE = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\) \([\d,]+ samples")


@dataclass
class Frame:
    name: str
    file: str
    depth: int
    x: int
    w: int
    part: str | None = None


def frames(svg: str) -> list[Frame]:
    """Every frame box of a py-spy (inferno) flame graph, root first."""
    out = []
    for m in _FRAME.finditer(svg):
        title = html.unescape(m["title"])
        t = _TITLE.match(title)
        name, file = (t["name"], t["file"]) if t else (title.split(" (")[0], "")
        out.append(Frame(name, file, int(m["y"]), int(m["x"]), int(m["w"])))
    out.sort(key=lambda f: (f.depth, f.x))
    return out


def _operation(f: Frame) -> str | None:
    for part, name, file in OPERATIONS:
        if re.search(file, f.file) and re.search(name, f.name):
            return part
    return None


def _library(f: Frame) -> str | None:
    for part, file in LIBRARIES:
        if re.search(file, f.file):
            return part
    return None


def shares(svg: str) -> dict[str, float]:
    """The samples' share by part. A frame's own samples (its width less its
    children's) go to the outermost operation above it (or itself), if any;
    else to its own file's library, and a frame of the standard library or the
    runtime to its caller's part (a socket read in redis-py is Redis')."""
    fs = frames(svg)
    if not fs:
        return {}
    levels: dict[int, list[Frame]] = {}
    for f in fs:
        levels.setdefault(f.depth, []).append(f)
    depths = sorted(levels)
    total = max(f.w for f in fs)
    out: dict[str, float] = {}
    for i, d in enumerate(depths):
        above = levels[depths[i - 1]] if i else []
        below = levels[depths[i + 1]] if i + 1 < len(depths) else []
        for f in levels[d]:
            parent = next((p for p in above if p.x <= f.x < p.x + p.w), None)
            inherited = parent.part if parent else None
            if parent and parent.part in {op for op, _, _ in OPERATIONS}:
                f.part = parent.part
            else:
                f.part = _operation(f) or _library(f) or inherited
            own = f.w - sum(c.w for c in below if f.x <= c.x < f.x + f.w)
            if own > 0 and f.name != "all":
                key = f.part or OTHER
                out[key] = out.get(key, 0) + own
    return {k: v / total for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


# ---- running -----------------------------------------------------------------------------


def _timed(path: HotPath, args: list[Any]) -> float:
    """Mean milliseconds per request, over ``args``."""
    started = time.perf_counter()
    for arg in args:
        path.request(arg)
    return (time.perf_counter() - started) * 1000 / len(args)


def _profiled(path: HotPath, args: list[Any], svg: Path) -> None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    proc = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(os.getpid()),
            "--rate",
            str(RATE),
            "--format",
            "flamegraph",
            "--output",
            str(svg),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # py-spy attaches
    for arg in args:
        path.request(arg)
    proc.send_signal(2)  # SIGINT: py-spy writes the graph and exits
    _, err = proc.communicate(timeout=60)
    if not svg.exists():
        raise RuntimeError(f"py-spy wrote no flame graph: {err.decode()}")


def main() -> None:
    only = set(sys.argv[1:])
    load = os.getloadavg()[0]
    _fresh_databases()
    rows: list[tuple[HotPath, float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(_settings(tmp))
        ctx = app.extensions["portcullis"]
        migrations.upgrade(ctx.stores.database)
        c = Client(app)
        server.say(f"enrolling {FACTORS} users with a TOTP factor")
        pool = [_enrol(c, i) for i in range(FACTORS)]
        for path in paths(c, pool):
            if only and path.slug not in only:
                continue
            n = max(1, FACTORS // 2)
            server.say(f"{path.name}: preparing {2 * n} requests")
            args = path.prepare(2 * n)
            mean = _timed(path, args[:n])  # unprofiled
            svg = IMG / f"profile-{path.slug}.svg"
            _profiled(path, args[n:], svg)
            found = shares(svg.read_text())
            rows.append((path, mean, found))
            server.say(
                f"{path.name}: {mean:.2f} ms a request; "
                + ", ".join(f"{k.split(' (')[0]} {v:.0%}" for k, v in list(found.items())[:6])
            )
        ctx.stores.database.dispose()
    _write(rows, load)


def _write(rows: list[tuple[HotPath, float, dict[str, float]]], load: float) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADING,
        "",
        f"Measured {when} with `make profile` (benchmarks/profile_paths.py) on "
        f"{report.machine()}; 1-minute load average {load:.1f} as it began. In-process "
        "through the Flask test client on PostgreSQL + Redis, one thread, argon2id t=1, "
        f"m=8 MiB, p=1; {FACTORS} users with a Google Authenticator factor. For each path, "
        f"{FACTORS // 2} requests timed without the profiler (the mean below), then as many "
        f"again sampled by py-spy ({RATE} a second, `--nonblocking`): the flame graph, and "
        "each part's share of the samples. A sample goes to the outermost frame that names "
        "a part (the SSWS lookup's SQL counts as the lookup's), else to what its own file is.",
        "",
    ]
    for path, mean, found in rows:
        lines += [
            f"### {path.name}: {mean:.2f} ms a request",
            "",
            f"![{path.name}](img/profile-{path.slug}.svg)",
            "",
            "| part of the request | share of the samples | ms a request |",
            "| --- | ---: | ---: |",
        ]
        lines += [f"| {k} | {v:.0%} | {v * mean:.2f} |" for k, v in found.items()]
        lines.append("")
    target = ROOT / "docs" / "benchmarks.md"
    target.write_text(report.put_section(target.read_text(), HEADING, lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
