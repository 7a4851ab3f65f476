"""``gunicorn.conf.py``: every core with a real Redis, one process with
fakeredis, and no way to start several workers on fakeredis (each would be its
own Redis, so a TOTP code could be accepted once per worker)."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def _conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("REDIS_URL", "WORKERS", "THREADS", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def _start(conf: dict[str, Any], workers: int) -> list[str]:
    said: list[str] = []
    log = SimpleNamespace(info=lambda message, *args: said.append(message % args))
    cfg = SimpleNamespace(workers=workers, threads=conf["threads"], bind=[conf["bind"]])
    conf["on_starting"](SimpleNamespace(cfg=cfg, log=log))
    return said


@pytest.mark.parametrize("redis_url", [None, "", "fakeredis://", "fakeredis://tests"])
def test_fakeredis_is_one_process(monkeypatch: pytest.MonkeyPatch, redis_url: str | None) -> None:
    conf = _conf(monkeypatch, **({} if redis_url is None else {"REDIS_URL": redis_url}))
    assert (conf["workers"], conf["threads"]) == (1, 8)
    assert conf["bind"] == "127.0.0.1:8080"  # not gunicorn's 0.0.0.0 when PORT is set
    assert _start(conf, 1) == [
        "Portcullis: workers=1 threads=8 on 127.0.0.1:8080 (fakeredis: one process)"
    ]


@pytest.mark.parametrize("env", [{"WORKERS": "2"}, {}])
def test_several_workers_on_fakeredis_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    """Whether WORKERS asked, or ``--workers 3`` on the command line (which
    gunicorn applies over the file, so the hook sees the final count)."""
    conf = _conf(monkeypatch, **env)
    with pytest.raises(RuntimeError, match="separate Redis stores"):
        _start(conf, int(env.get("WORKERS", "3")))


def test_a_real_redis_uses_every_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = _conf(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0", HOST="10.0.0.5", PORT="9000")
    cores = len(os.sched_getaffinity(0))
    assert (conf["workers"], conf["threads"]) == (cores, 4)
    assert conf["worker_class"] == "app.serving.SpreadingWorker" and conf["bind"] == "10.0.0.5:9000"
    assert _start(conf, cores) == [
        f"Portcullis: workers={cores} threads=4 on 10.0.0.5:9000 (a real Redis)"
    ]


def test_workers_and_threads_override(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _conf(monkeypatch, REDIS_URL="redis+sentinel://s1/mymaster", WORKERS="5", THREADS="2")
    assert (conf["workers"], conf["threads"]) == (5, 2)


def test_the_worker_timeout_is_above_every_store_timeout() -> None:
    from app.config import Settings

    settings = Settings()
    longest_wait = max(
        2 * settings.redis_timeout,  # one retry
        settings.database_connect_timeout + settings.database_statement_timeout,
        settings.delivery_timeout,
    )
    assert runpy.run_path(str(CONF))["timeout"] >= 2 * longest_wait
