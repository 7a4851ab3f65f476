"""gunicorn hooks for the HTTP benchmark (``gunicorn -c benchmarks/gunicorn_bench.py``).

Each worker counts the /api/v1/authn requests it began and its Redis round trips (every
``send_packed_command`` of redis-py: one command, or one whole pipeline, is one
round trip) into a 16-byte file ``worker-<pid>`` under ``BENCH_COUNTER_DIR``,
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
_counts = [0, 0]  # requests begun, Redis round trips
_view: list[mmap.mmap] = []


def _bump(index: int) -> None:
    with _lock:
        _counts[index] += 1
        if _view:
            struct.pack_into("<QQ", _view[0], 0, *_counts)


def post_worker_init(worker: Any) -> None:
    directory = os.environ.get("BENCH_COUNTER_DIR")
    if not directory:
        return
    path = os.path.join(directory, f"worker-{os.getpid()}")
    with open(path, "wb") as fh:
        fh.write(bytes(16))
    fd = os.open(path, os.O_RDWR)
    try:
        _view.append(mmap.mmap(fd, 16))
    finally:
        os.close(fd)

    from redis.connection import AbstractConnection

    send = AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        _bump(1)
        send(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]


def pre_request(worker: Any, req: Any) -> None:
    if _view and req.path.startswith("/api/v1/authn"):
        _bump(0)


def read_counts(directory: str) -> tuple[int, int]:
    """(requests, round trips) summed over the workers that wrote to ``directory``."""
    requests = round_trips = 0
    for name in os.listdir(directory):
        if name.startswith("worker-"):
            with open(os.path.join(directory, name), "rb") as fh:
                data = fh.read(16)
            if len(data) == 16:
                r, t = struct.unpack("<QQ", data)
                requests, round_trips = requests + r, round_trips + t
    return requests, round_trips
