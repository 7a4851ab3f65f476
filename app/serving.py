"""gunicorn's gthread worker, made to share connections with its siblings.

gunicorn's workers share one listening socket, and the kernel wakes them all
when a connection arrives; whichever calls ``accept`` first takes it. Under a
burst of new connections one worker often takes them all (the one that last
went back to waiting is woken first), and a keep-alive connection stays with
the worker that accepted it for as long as it lives. A client that opens 8
connections, as a load balancer's pool or ``wrk -c8`` does, then has all its
requests served by one worker on one core while the others idle: seen in
``make bench`` as CPU per worker "103 % / 0 %", and in about one run in eight
of a bare Flask app under ``wrk -t1 -c8``, at half the requests/s.

:class:`SpreadingWorker` steps back instead: a worker that already holds as
many connections as it has threads stops listening for ``STEP_BACK`` seconds
when the next connection arrives, so that a sibling with a free thread takes
it. After a step back it accepts for as long again before it may step back
once more, so a connection waits at most ``STEP_BACK`` even when every worker
is full, and a burst into full workers is still accepted at the usual pace.
Nothing is shared between the workers: each decides from its own count. A
lone worker (``make run`` on fakeredis) never steps back.

The abuse case: a client that opens many idle connections fills every worker
past its threads and so makes each new connection wait up to ``STEP_BACK``
(5 ms), no more; gthread's keep-alive timeout closes the idle ones as before.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

#: How long a full worker leaves new connections to its siblings.
STEP_BACK = 0.005


class SpreadingWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gthread, except that a worker with no free thread lets a sibling accept."""

    def run(self) -> None:
        self._stepped_back: list[tuple[Any, socket.socket]] = []
        self._may_step_back_at = 0.0
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.poller.register(self._wake_read, selectors.EVENT_READ, self._listen_again)
        super().run()

    def accept(self, server: Any, listener: socket.socket) -> None:
        now = time.monotonic()
        full = self.nr_conns >= self.cfg.threads and self.cfg.workers > 1
        if full and now >= self._may_step_back_at:
            self._step_back(server, listener, now)
            return
        super().accept(server, listener)

    def _step_back(self, server: Any, listener: socket.socket, now: float) -> None:
        """Stop listening on ``listener`` for STEP_BACK; the connection waits
        in the kernel's queue, where a sibling that listens takes it."""
        with self._lock:
            self.poller.unregister(listener)
        self._stepped_back.append((server, listener))
        self._may_step_back_at = now + 2 * STEP_BACK
        timer = threading.Timer(STEP_BACK, self._wake)
        timer.daemon = True
        timer.start()

    def _wake(self) -> None:
        """From the timer's thread: wake the worker's loop (a byte in its pipe)."""
        # OSError: the pipe is full (the loop wakes anyway), or closed at exit.
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"\0")

    def _listen_again(self, wake_read: int) -> None:
        """In the worker's loop: drain the pipe and listen again."""
        with contextlib.suppress(BlockingIOError):
            while os.read(wake_read, 64):
                pass
        with self._lock:
            for server, listener in self._stepped_back:
                self.poller.register(listener, selectors.EVENT_READ, partial(self.accept, server))
        self._stepped_back.clear()
