"""gunicorn settings of the HTTP benchmark: the production ones, plus counters.

Every setting of gunicorn.conf.py (workers from the cores with a real Redis,
4 gthread threads each, its hooks) is taken as it is, so that ``make bench``
measures Portcullis as the production command serves it; the framework floor
(benchmarks/floor_app.py) runs on the same settings. To them this file adds:

Each worker counts the /api/v1/authn requests it began and its Redis round
trips (every ``send_packed_command`` of redis-py: one command, or one whole
pipeline, is one round trip), and apart the round trips that carry the rate
limiter's counter (keys under ``ratelimit:``, app/store/rate_limit.py; the
hit rides on the request's first round trip, or goes alone when nothing
carries it), into a 24-byte file ``worker-<pid>`` under ``BENCH_COUNTER_DIR``,
mapped into memory so that the benchmark reads the counts while the server
runs. Without ``BENCH_COUNTER_DIR`` nothing is counted.
"""

from __future__ import annotations

import mmap
import os
import runpy
import struct
import threading
from pathlib import Path
from typing import Any

from gunicorn.config import KNOWN_SETTINGS

PRODUCTION = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
_production = runpy.run_path(str(PRODUCTION))
# gunicorn reads only the names of its settings from a config file.
globals().update({s.name: _production[s.name] for s in KNOWN_SETTINGS if s.name in _production})

_lock = threading.Lock()
_counts = [0, 0, 0]  # requests begun, Redis round trips, of which carry the rate limiter's hit
SIZE = 24
_view: list[mmap.mmap] = []
#: The rate limiter's counters (app/store/rate_limit.py, app/api/rate_limits.py).
LIMITER_KEY = b"ratelimit:"


def _bump(*indexes: int) -> None:
    with _lock:
        for index in indexes:
            _counts[index] += 1
        if _view:
            struct.pack_into("<QQQ", _view[0], 0, *_counts)


def post_worker_init(worker: Any) -> None:
    """The production hook (Portcullis only: the floor has no schema), then the counters."""
    floor = getattr(worker.wsgi, "import_name", "").rpartition(".")[2] == "floor_app"
    if "post_worker_init" in _production and not floor:
        _production["post_worker_init"](worker)
    directory = os.environ.get("BENCH_COUNTER_DIR")
    if not directory:
        return
    path = os.path.join(directory, f"worker-{os.getpid()}")
    with open(path, "wb") as fh:
        fh.write(bytes(SIZE))
    fd = os.open(path, os.O_RDWR)
    try:
        _view.append(mmap.mmap(fd, SIZE))
    finally:
        os.close(fd)

    from redis.connection import AbstractConnection

    send = AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        packed = b"".join(command) if isinstance(command, list | tuple) else bytes(command)
        if LIMITER_KEY in packed:
            _bump(1, 2)
        else:
            _bump(1)
        send(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]


def pre_request(worker: Any, req: Any) -> None:
    if _view and req.path.startswith("/api/v1/authn"):
        _bump(0)


def read_counts(directory: str) -> tuple[int, int, int]:
    """(requests, round trips, of which carry the rate limiter's hit) summed over
    the workers that wrote to ``directory``."""
    totals = [0, 0, 0]
    for name in os.listdir(directory):
        if name.startswith("worker-"):
            with open(os.path.join(directory, name), "rb") as fh:
                data = fh.read(SIZE)
            if len(data) == SIZE:
                for i, value in enumerate(struct.unpack("<QQQ", data)):
                    totals[i] += value
    return totals[0], totals[1], totals[2]
