"""The production serving: connections spread across gunicorn's workers.

gunicorn.conf.py serves with app/serving.py's ``SpreadingWorker``. Whether a
connection landed on a worker with a free thread is what ``ss -tnp`` shows an
operator: the process that holds the server's end of the connection. Plain
gthread gave the second connection to the busy worker in 16 of 40 trials
(so ten trials in a row pass on it about once in 170 runs).
"""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path

import pytest

from tests.compat.conftest import bootstrap, embedded_env, free_port, gunicorn
from tests.conftest import REAL_REDIS_URL

pytestmark = pytest.mark.integration


def _tcp_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of a loopback connection (/proc/net/tcp:
    local and remote addresses as hex ``ip:port``, the inode in column 10)."""
    local, remote = f":{server_port:04X}", f":{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(local) and fields[2].endswith(remote):
            return fields[9]
    return None


def _holder(server_port: int, client_port: int) -> int | None:
    """The process holding the server's end of a connection: a worker."""
    inode = _tcp_inode(server_port, client_port)
    target = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")) if inode not in (None, "0") else ():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in fds):
                return int(pid)
        except OSError:  # gone, or not ours
            continue
    return None


def _pair(port: int) -> tuple[int | None, int | None]:
    """Open a connection, then a second while the first is held; the workers
    holding each. Both are closed, and waited for until no worker holds them."""
    first = _live(port)  # its worker's one thread now holds it
    second = _live(port)
    ends = [c.sock.getsockname()[1] for c in (first, second) if c.sock is not None]
    holders = _holder(port, ends[0]), _holder(port, ends[1])
    first.close()
    second.close()
    deadline = time.monotonic() + 10
    while any(_holder(port, end) for end in ends) and time.monotonic() < deadline:
        time.sleep(0.01)
    return holders


def _live(base_port: int) -> http.client.HTTPConnection:
    """A keep-alive connection that has had one answer from /healthz/live."""
    connection = http.client.HTTPConnection("127.0.0.1", base_port, timeout=10)
    connection.request("GET", "/healthz/live")
    response = connection.getresponse()
    response.read()
    assert response.status == 200 and response.getheader("Connection") != "close"
    return connection


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_a_worker_with_no_free_thread_leaves_the_next_connection_to_another(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = embedded_env(tmp_path / "instance", port, REDIS_URL=REAL_REDIS_URL)
    bootstrap(env)
    with gunicorn(env, tmp_path / "server.log", workers=2, threads=1):
        # /healthz answered once one worker served; wait for the second.
        deadline = time.monotonic() + 30
        while len(set(_pair(port))) < 2:
            assert time.monotonic() < deadline, "the second worker never took a connection"
        holders: set[int | None] = set()
        for _ in range(10):
            busy, other = _pair(port)
            assert busy is not None and other is not None
            assert busy != other, "the second connection went to the worker already holding one"
            holders |= {busy, other}
        assert len(holders) == 2
