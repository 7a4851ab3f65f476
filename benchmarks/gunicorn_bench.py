"""gunicorn hooks for the HTTP benchmark (``gunicorn -c benchmarks/gunicorn_bench.py``).

Each worker counts the /api/v1/authn requests it began and its Redis round trips (every
``send_packed_command`` of redis-py: one command, or one whole pipeline, is one
round trip), those of the rate limiter (keys under ``LIMITS:``) apart, into a
24-byte file ``worker-<pid>`` under ``BENCH_COUNTER_DIR``,
mapped into memory so that the benchmark reads the counts while the server
runs. Without ``BENCH_COUNTER_DIR`` nothing is counted.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from typing import Any

_lock = threading.Lock()
_counts = [0, 0, 0]  # requests begun, Redis round trips: Portcullis', the rate limiter's
SIZE = 24
_view: list[mmap.mmap] = []


def _bump(index: int) -> None:
    with _lock:
        _counts[index] += 1
        if _view:
            struct.pack_into("<QQQ", _view[0], 0, *_counts)


def post_worker_init(worker: Any) -> None:
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
        _bump(2 if b"LIMITS:" in packed else 1)
        send(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]


def pre_request(worker: Any, req: Any) -> None:
    if _view and req.path.startswith("/api/v1/authn"):
        _bump(0)


def read_counts(directory: str) -> tuple[int, int, int]:
    """(requests, round trips, rate-limiter round trips) summed over the workers
    that wrote to ``directory``."""
    totals = [0, 0, 0]
    for name in os.listdir(directory):
        if name.startswith("worker-"):
            with open(os.path.join(directory, name), "rb") as fh:
                data = fh.read(SIZE)
            if len(data) == SIZE:
                for i, value in enumerate(struct.unpack("<QQQ", data)):
                    totals[i] += value
    return totals[0], totals[1], totals[2]
