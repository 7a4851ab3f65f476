"""The arithmetic of ``make bench`` (benchmarks/): CPU per worker, the ratio to the
floor and the targets, the length of a run that spends its lines, the TOTP codes
that are new for their factor, and that the benchmark's gunicorn settings are
the production ones. No server runs here; speed is never asserted in tests."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import pyotp
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import factors  # noqa: E402
import load  # noqa: E402
import targets  # noqa: E402


def test_worker_cpu_is_a_share_of_one_core_busiest_first() -> None:
    ticks = load.TICKS
    before = {10: 0, 11: 5 * ticks, 12: 0}
    after = {10: 2 * ticks, 11: 9 * ticks}  # 12 ended during the run: left out
    assert load.worker_cpu(before, after, seconds=4) == [100.0, 50.0]
    assert load.cpu_shares([99.6, 50.2]) == "100 % / 50 %"
    assert load.cpu_shares([]) == "-"
    assert load.worker_cpu(before, after, seconds=0) == []


def test_ratio_and_targets() -> None:
    assert targets.ratio(2400, 8000) == pytest.approx(0.3)
    assert targets.ratio(100, 0) == 0.0
    verify = targets.TARGETS[targets.FACTORS_VERIFY]
    assert verify.met(0.30, 15.0)
    assert not verify.met(0.29, 10.0)  # too slow
    assert not verify.met(0.5, 15.1)  # its p99 too long
    assert targets.TARGETS[targets.LIVE].met(0.5, 500.0)  # no p99 target
    assert str(verify) == "≥ 0.3 x floor, p99 ≤ 15 ms"


@pytest.mark.parametrize(
    ("lines", "rate", "seconds"),
    [
        (10_000, 1000, 5),  # plenty: the whole run
        (2_500, 1000, 2),  # 2 s at 1250/s (a quarter to spare)
        (100, 1000, 1),  # never under wrk's shortest
        (100, 0, 5),  # no rate known: the whole run
    ],
)
def test_fit_seconds_leaves_a_quarter_to_spare(lines: int, rate: float, seconds: float) -> None:
    assert targets.fit_seconds(lines, rate, 5) == seconds


def _pool(n: int, last: int) -> list[factors.WorkosFactor]:
    return [
        factors.WorkosFactor(f"f{i}", factors.Totp(pyotp.random_base32(), last)) for i in range(n)
    ]


def test_codes_are_new_for_their_factor_and_accepted_now() -> None:
    now = 1000
    pool = _pool(3, now - 1)
    pairs = factors.fresh_codes(pool, now, limit=10)
    # Two passes: every factor's current step, then every factor's next one.
    assert [f.factor_id for f, _ in pairs] == ["f0", "f1", "f2", "f0", "f1", "f2"]
    for factor, code in pairs[:3]:
        assert code == pyotp.HOTP(factor.totp.secret).at(now)
    for factor, code in pairs[3:]:
        assert code == pyotp.HOTP(factor.totp.secret).at(now + 1)
    # Both accepted steps spent: nothing more until the step turns.
    assert factors.fresh_codes(pool, now, limit=10) == []
    assert len(factors.fresh_codes(pool, now + 1, limit=10)) == 3  # now + 2


def test_a_step_already_used_is_never_given_again() -> None:
    pool = _pool(2, 1000)  # both used step 1000 (an activation, a verify)
    planned = factors.plan(pool, 3)
    assert [f.factor_id for f in planned] == ["f0", "f1", "f0"]
    codes = factors.codes(planned, 1000)
    assert codes[2] is None  # f0's only step left (1001) went to its first line
    assert [f.totp.last for f in pool] == [1001, 1001]


def _conf(path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("REDIS_URL", "WORKERS", "THREADS", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(path))


@pytest.mark.parametrize("env", [{}, {"REDIS_URL": "redis://127.0.0.1:6379/14"}, {"WORKERS": "3"}])
def test_the_benchmark_serves_with_the_production_settings(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    production = _conf(BENCHMARKS.parent / "gunicorn.conf.py", monkeypatch, **env)
    bench = _conf(BENCHMARKS / "gunicorn_bench.py", monkeypatch, **env)
    for name in ("bind", "worker_class", "workers", "threads", "timeout", "graceful_timeout"):
        assert bench[name] == production[name]
    assert bench["on_starting"].__code__ == production["on_starting"].__code__
    assert bench["post_worker_init"] is not production["post_worker_init"]  # counters added


def _warm(requests: int, exhausted: int, mean_us: int, connections: int = 8) -> load.Run:
    run = load.Run("warm-up", connections, 2)
    run.figures = {
        "requests": requests,
        "duration_us": 2_000_000,
        "mean_us": mean_us,
        "exhausted": exhausted,
    }
    return run


def test_warm_rate_is_the_warm_ups_own_or_an_upper_bound() -> None:
    assert targets.warm_rate(_warm(2000, 0, 8000), ceiling=9000) == 1000  # did not run out
    # Ran out: 8 connections / 4 ms mean is 2000/s, under the ceiling.
    assert targets.warm_rate(_warm(5000, 600, 4000), ceiling=9000) == 2000
    assert targets.warm_rate(_warm(5000, 600, 400), ceiling=9000) == 9000
    assert targets.warm_rate(_warm(5000, 600, 0), ceiling=9000) == 9000


def test_usable_counts_the_codes_without_spending_them() -> None:
    pool = _pool(2, 1000)  # both used step 1000
    planned = factors.plan(pool, 4)
    assert factors.usable(planned, 1000) == 2  # step 1001 for each
    assert factors.usable(planned, 1001) == 4  # 1001 and 1002 for each
    assert [f.totp.last for f in pool] == [1000, 1000]


def _box(title: str, depth: int, x: int, w: int) -> str:
    y = 52 + 16 * depth
    return (
        f'<g><title>{title} ({w:,} samples, 1%)</title><rect x="0%" y="{y}" width="1%" '
        f'height="15" fill="rgb(1,2,3)" fg:x="{x}" fg:w="{w}"/><text x="0">t</text></g>'
    )


def test_a_profile_gives_each_sample_to_its_operation_else_its_library_else_its_caller() -> None:
    import profile_paths

    svg = "".join(
        [
            _box("all", 0, 0, 1000),
            # a webargs wrapper around the whole view: only its own samples are parsing
            _box("use_args.wrapper (webargs/core.py:1)", 1, 0, 1000),
            _box("verify (app/api/factors.py:10)", 2, 0, 900),
            # the SSWS lookup takes its SQL with it
            _box("authenticate (app/services/api_tokens.py:36)", 3, 0, 300),
            _box("Session.execute (sqlalchemy/orm/session.py:1)", 4, 0, 300),
            # SQL elsewhere is SQL; the socket read under redis-py is Redis'
            _box("Query.one (sqlalchemy/orm/query.py:1)", 3, 300, 400),
            _box("Redis.execute (redis/client.py:1)", 3, 700, 150),
            _box("socket.recv (socket.py:1)", 4, 700, 150),
        ]
    )
    assert profile_paths.shares(svg) == {
        "SQL (SQLAlchemy and psycopg)": 0.40,
        "SSWS / WorkOS key lookup": 0.30,
        "Redis (redis-py)": 0.15,
        "request parsing (webargs, marshmallow)": 0.10,
        "Portcullis' own code (API layer, services, domain, stores)": 0.05,
    }
