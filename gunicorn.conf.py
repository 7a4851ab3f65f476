"""gunicorn's settings for Portcullis, read by ``make run`` and by the
production command (docs/deployment.md#production-serving); gunicorn also
reads this file by itself when started in this directory without ``--config``.

Workers, from the environment's ``WORKERS`` when set, else:

- with a real Redis, one per core: the server is CPU-bound (argon2id and
  Python), and one Python process runs Python on one core at a time (the
  GIL). Threads cover the waits on Redis and PostgreSQL, and argon2-cffi
  hashes with the GIL released. gunicorn's (2 x cores) + 1 is for sync
  workers, which block while they wait; here more processes than cores would
  add memory, connection pools and context switches, not CPU.
- with fakeredis (``REDIS_URL`` unset or ``fakeredis://``), one: fakeredis is
  the memory of one process, so a second worker would be a second Redis, and
  a TOTP code could be accepted once per worker. More is refused at start.

Threads (``THREADS``): 4 per worker with a real Redis, so that two cores hold
the eight requests in flight that one process of 8 threads held before
(each may be an argon2id hash of 64 MiB); 8 with fakeredis, as before.

The workers share one listening socket and the kernel hands each new
connection to one of them; a keep-alive connection stays with its worker.
Left alone, one worker often takes a whole burst of new connections (gthread
under ``wrk -t1 -c8``: 4 runs in 24 had one worker serve everything, at half
the requests/s). The worker class, app/serving.py's ``SpreadingWorker``, is
gthread with one change: a worker with no free thread lets a sibling take the
next connection (it stops listening for 5 ms). ``reuse_port`` (a socket per
worker in gunicorn 24) is left off: the kernel hashes each connection to a
socket, which splits 8 connections no more evenly, and it lets a second
server of the same user share the port silently. ``--worker-class gthread``
on the command line restores plain gthread.
"""

from __future__ import annotations

import os
from typing import Any


def _cores() -> int:
    """The cores this process may run on (a CPU affinity or ``taskset`` counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# The same default as app.config.Settings.redis_url: an empty value is unset.
EMBEDDED_REDIS = (os.environ.get("REDIS_URL") or "fakeredis://").startswith("fakeredis")

bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8080'}"
worker_class = "app.serving.SpreadingWorker"
workers = int(os.environ.get("WORKERS") or (1 if EMBEDDED_REDIS else _cores()))
threads = int(os.environ.get("THREADS") or (8 if EMBEDDED_REDIS else 4))
# A worker silent this long is killed: well above the longest a request may
# wait on a store (REDIS_TIMEOUT 2 s, twice; DATABASE_STATEMENT_TIMEOUT 10 s;
# DELIVERY_TIMEOUT 10 s), so those answer 503 before gunicorn kills anything.
timeout = 30
graceful_timeout = 30


def on_starting(server: Any) -> None:
    """Refuse several workers on fakeredis, whether ``WORKERS`` or
    ``--workers`` asked for them."""
    if EMBEDDED_REDIS and server.cfg.workers > 1:
        raise RuntimeError(
            f"{server.cfg.workers} workers on fakeredis would be {server.cfg.workers} "
            "separate Redis stores (a code accepted once per worker): set REDIS_URL "
            "to a real Redis, or run one worker"
        )
    server.log.info(
        "Portcullis: workers=%d threads=%d on %s (%s)",
        server.cfg.workers,
        server.cfg.threads,
        ", ".join(server.cfg.bind),
        "fakeredis: one process" if EMBEDDED_REDIS else "a real Redis",
    )


def post_worker_init(worker: Any) -> None:
    """Read the schema version as each worker starts: a database not at head is
    logged now, and /healthz answers 503 until someone migrates."""
    from app.api.health import check_schema

    check_schema(worker.wsgi)
