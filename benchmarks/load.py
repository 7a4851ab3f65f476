"""One wrk run against a server of the HTTP benchmark, and what it cost.

:func:`wrk` sends the requests of a file (benchmarks/load.lua) and returns a
:class:`Run`: wrk's figures, the answers as expected or not, the CPU each
gunicorn worker used (as a share of one core: the connections are spread
over the workers, or not), the share of the machine that other processes
used, and for /api/v1/authn runs the Redis round trips counted in the workers
(benchmarks/gunicorn_bench.py) and the commands Redis ran (``MONITOR``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import server  # benchmarks/, this script's folder, is on sys.path

LUA = Path(__file__).resolve().parent / "load.lua"
#: Processes that are part of the measurement: the server, the load
#: generator, the services it uses, and this benchmark.
OURS = ("gunicorn", "wrk", "redis-server", "postgres")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Expect:
    """The answer a row counts as right: ``status`` and a Lua pattern its body matches."""

    status: int = 200
    pattern: str = '"status":%s*"SUCCESS"'


@dataclass
class Run:
    label: str
    connections: int
    threads: int
    expect: Expect = field(default_factory=Expect)
    figures: dict[str, int] = field(default_factory=dict)
    served: int = 0  # /api/v1/authn requests the server began during the run
    round_trips: int = 0
    limiter_round_trips: int = 0  # round trips that carried the rate limiter's hit
    commands: dict[str, int] = field(default_factory=dict)  # this database (MONITOR)
    all_commands: int = 0  # the whole server, every client (INFO commandstats)
    other: float = 0.0  # % of the machine used by other processes during the run
    worker_cpu: list[float] = field(default_factory=list)  # % of one core, per worker
    worker_rss: list[float] = field(default_factory=list)  # MiB resident, per worker, at the end

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


class Monitor:
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

    def __enter__(self) -> Monitor:
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


def commandstats(client: Any) -> dict[str, int]:
    stats = client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        if name not in ("cmdstat_info", "cmdstat_monitor")  # the benchmark's own
    }


def wrk(
    api: server.Api,
    client: Any,
    run: Run,
    lines: Path,
    seconds: float,
    mode: str,
    *,
    authorization: str = "",
    redis_url: str | None = None,
) -> Run:
    """One wrk run of the requests in ``lines`` (see load.lua for ``mode``);
    with ``redis_url``, also the commands Redis ran in that database."""
    served_before, trips_before, limiter_before = api.counts()
    stats_before = commandstats(client)
    cpu_before = cpu_snapshot()
    workers_before = worker_ticks(api.worker_pids())
    command = [
        str(shutil.which("wrk")),
        f"-t{run.threads}",
        f"-c{run.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        api.base_url,
        "--",
        str(lines),
        str(run.threads),
        mode,
        str(run.expect.status),
        run.expect.pattern,
        authorization,
    ]
    with Monitor(redis_url) if redis_url else contextlib.nullcontext() as monitor:
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
        elapsed = time.monotonic() - started
        workers_after = worker_ticks(api.worker_pids())
        rss = worker_rss(api.worker_pids())
        cpu_after = cpu_snapshot()
        served_after, trips_after, limiter_after = api.counts()
    result = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH-RESULT ")), None)
    if done.returncode != 0 or result is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    run.figures = json.loads(result.removeprefix("BENCH-RESULT "))
    run.served = served_after - served_before
    run.round_trips = trips_after - trips_before
    run.limiter_round_trips = limiter_after - limiter_before
    run.other = other_work(cpu_before, cpu_after)
    run.worker_cpu = worker_cpu(workers_before, workers_after, elapsed)
    run.worker_rss = rss
    run.commands = dict(monitor.counts) if monitor else {}
    run.all_commands = sum(commandstats(client).values()) - sum(stats_before.values())
    f = run.figures
    server.say(
        f"{run.label}, {run.connections} connection(s): {f['requests']} requests, "
        f"{run.per_s:.1f}/s, p50 {f['p50_us'] / 1000:.1f} ms, p99 {f['p99_us'] / 1000:.1f} ms, "
        f"as expected {f['success']}, other {f['other']}, exhausted {f['exhausted']}, "
        f"CPU per worker {cpu_shares(run.worker_cpu)}, RSS {rss_shares(run.worker_rss)}"
    )
    return run


# ---- CPU -------------------------------------------------------------------------------------


def cpus() -> int:
    return os.cpu_count() or 1


def _stat(pid: int | str) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) of /proc/<pid>/stat; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            raw = fh.read()
    except OSError:
        return None
    # The name may hold spaces and parentheses: it ends at the last ")".
    return raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()


def children(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (a gunicorn master's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(entry)
            if stat is not None and int(stat[1][1]) == parent:  # field 4, ppid
                found.append(int(entry))
    return sorted(found)


def worker_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime (clock ticks) of each process still there."""
    ticks = {}
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            ticks[pid] = int(stat[1][11]) + int(stat[1][12])  # fields 14 and 15
    return ticks


def worker_cpu(before: dict[int, int], after: dict[int, int], seconds: float) -> list[float]:
    """The CPU each process used between two :func:`worker_ticks`, as % of one
    core, busiest first; processes not in both are left out."""
    if seconds <= 0:
        return []
    shares = [(after[pid] - before[pid]) / TICKS / seconds * 100 for pid in before if pid in after]
    return sorted(shares, reverse=True)


def worker_rss(pids: list[int]) -> list[float]:
    """Each process' resident memory now (VmRSS, MiB), largest first."""
    sizes = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                line = next(ln for ln in fh if ln.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
        sizes.append(int(line.split()[1]) / 1024)
    return sorted(sizes, reverse=True)


def rss_shares(sizes: list[float]) -> str:
    """``112 / 108``: the per-worker RSS (MiB) as the tables show it."""
    return " / ".join(f"{s:.0f}" for s in sizes) if sizes else "-"


def cpu_shares(shares: list[float]) -> str:
    """``93 % / 88 %``: the per-worker CPU as the tables show it."""
    return " / ".join(f"{s:.0f} %" for s in shares) if shares else "-"


def cpu_snapshot() -> tuple[int, int, int]:
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
        stat = _stat(entry)
        if stat is None:  # gone meanwhile
            continue
        comm, rest = stat
        if int(entry) == me or comm.startswith(OURS):
            ours += int(rest[11]) + int(rest[12])  # utime + stime
    return busy, ours, sum(fields)


def other_work(before: tuple[int, int, int], after: tuple[int, int, int]) -> float:
    """The share of the machine (all cores, %) that other processes used between
    two snapshots: busy time not spent by the server, wrk, Redis, PostgreSQL or
    this benchmark."""
    total = max(after[2] - before[2], 1)
    other = (after[0] - before[0]) - (after[1] - before[1])
    return max(other, 0) / total * 100
