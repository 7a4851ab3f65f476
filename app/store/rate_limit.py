"""The per-client rate limit's counters, carried by a request's first Redis round trip.

The API layer (app.api.rate_limits) decides which requests are limited and
what a refusal looks like; this module counts. A limited request's
:class:`Hit` waits (:func:`defer`) for the first Redis round trip the request
makes anyway, and goes out with it:

- a script that knows how (:class:`RidingScript`: the transaction's load and
  lease, the lockout slot) counts the hit first, in the same script, and does
  nothing else when the client is over its limit;
- any other command is preceded by the hit alone (the connection guard that
  :func:`guard` installs), so a refused request has still changed nothing;
- a request that makes no round trip at all is counted at its end
  (:func:`settle`).

So a refusal always comes before the request has touched anything in Redis
or judged any password or code, and a limited request costs no round trip of
its own where it rides. Each counter is a fixed window: ``INCR``, and an
expiry of one window from the first hit.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import redis

# A Lua function: count one hit on each window in turn, stop at the first
# that is over its limit. Its answer: {count, seconds left, within (1/0),
# which window (from 1)} of the window the headers report (the one refused,
# else the first). The
# expiry is set whenever a counter has none, so none is ever left without.
_HIT = """
local function rate_hit(keys, args)
  local shown
  for i = 1, #keys do
    local count = redis.call('INCR', keys[i])
    local ttl = redis.call('TTL', keys[i])
    if ttl < 0 then
      ttl = tonumber(args[2 * i])
      redis.call('EXPIRE', keys[i], ttl)
    end
    if count > tonumber(args[2 * i - 1]) then return {count, ttl, 0, i} end
    shown = shown or {count, ttl, 1, i}
  end
  return shown
end
"""
#: The hit on its own. KEYS: the counters. ARGV: limit and window (seconds) of each.
_ALONE = _HIT + "return rate_hit(KEYS, ARGV)"


def _riding(body: str) -> str:
    """``body`` (a script) run after the hit, only if the hit was within the
    limits. The hit's counters are the last KEYS, its limits and windows the
    last ARGV, then their number; they are taken off before ``body`` runs, so
    it sees its own KEYS and ARGV only. The answer: the hit's four values,
    then whatever ``body`` returned (nothing when refused)."""
    return (
        _HIT
        + """
local n = tonumber(table.remove(ARGV))
local keys, args = {}, {}
for i = n, 1, -1 do
  keys[i] = table.remove(KEYS)
  args[2 * i] = table.remove(ARGV)
  args[2 * i - 1] = table.remove(ARGV)
end
local hit = rate_hit(keys, args)
if hit[3] == 0 then return hit end
local function body()
"""
        + body
        + """
end
hit[5] = body()
return hit
"""
    )


@dataclass(frozen=True)
class Window:
    """One limit: ``limit`` hits per ``seconds``, counted under ``key``."""

    key: str
    limit: int
    seconds: int


@dataclass
class Hit:
    """One request's count on its client's windows, and what Redis answered."""

    windows: tuple[Window, ...]
    #: The window the headers report (the one refused, else the first), once counted.
    shown: Window | None = None
    count: int = 0
    #: Seconds until :attr:`shown` starts again.
    ttl: int = 0
    refused: bool = False
    counted: bool = False
    #: Whether a round trip tried to carry it (counted or not: Redis may have failed).
    tried: bool = False

    def keys(self) -> list[str]:
        return [w.key for w in self.windows]

    def args(self) -> list[int]:
        return [n for w in self.windows for n in (w.limit, w.seconds)]

    def record(self, answer: list[Any]) -> None:
        count, ttl, within, index = (int(v) for v in answer[:4])
        self.shown = self.windows[index - 1]
        self.count, self.ttl, self.refused, self.counted = count, ttl, not within, True

    @property
    def remaining(self) -> int:
        return max(0, self.shown.limit - self.count) if self.shown else 0


class RateLimited(Exception):
    """The client is over its limit; the request did nothing in Redis."""

    def __init__(self, hit: Hit) -> None:
        super().__init__("rate limited")
        self.hit = hit


_pending: ContextVar[Hit | None] = ContextVar("portcullis_rate_hit", default=None)


def defer(hit: Hit | None) -> None:
    """Let ``hit`` ride with this request's first round trip (None: drop any)."""
    _pending.set(hit)


def _claim() -> Hit | None:
    hit = _pending.get()
    if hit is not None:
        _pending.set(None)
        hit.tried = True
    return hit


def _sent(hit: Hit, answer: list[Any]) -> None:
    hit.record(answer)
    if hit.refused:
        raise RateLimited(hit)


def settle(client: redis.Redis) -> bool:
    """Count the pending hit now, on its own (a request that made no round
    trip, or one whose first step is to learn whether Redis answers).
    False: there was none."""
    hit = _claim()
    if hit is None:
        return False
    try:
        answer = client.eval(_ALONE, len(hit.windows), *hit.keys(), *hit.args())
    except BaseException:
        _pending.set(hit)  # not counted: the next round trip carries it
        raise
    _sent(hit, answer)
    return True


class RidingScript:
    """A Lua script that carries the request's pending hit, if there is one:
    the hit is counted first, and the script runs only if it is within the
    limits (else :class:`RateLimited`). With no hit pending it runs alone,
    or ``plain`` runs instead (the one command the script wraps)."""

    def __init__(
        self,
        client: redis.Redis,
        body: str,
        plain: Callable[[list[str], list[Any]], Any] | None = None,
    ) -> None:
        self._plain = plain or client.register_script(body)
        self._riding = client.register_script(_riding(body))

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        hit = _claim()
        if hit is None:
            return self._plain(keys, args)
        try:
            answer = self._riding(
                keys=[*keys, *hit.keys()], args=[*args, *hit.args(), len(hit.windows)]
            )
        except BaseException:
            _pending.set(hit)
            raise
        _sent(hit, answer)
        return answer[4] if len(answer) > 4 else None


class _Guard:
    """Mixed into a pool's connection class: a command that does not carry
    the pending hit is preceded by the hit alone, on the same connection, so
    that a refusal comes before the command has done anything."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        hit = _claim()
        if hit is not None:
            try:
                super().send_packed_command(  # type: ignore[misc]
                    self.pack_command(  # type: ignore[attr-defined]
                        "EVAL", _ALONE, len(hit.windows), *hit.keys(), *hit.args()
                    ),
                    check_health,
                )
                answer = self.read_response()  # type: ignore[attr-defined]
            except BaseException:
                _pending.set(hit)
                raise
            _sent(hit, answer)
        super().send_packed_command(command, check_health)  # type: ignore[misc]


_GUARDED: dict[type, type] = {}


def guard(client: redis.Redis) -> redis.Redis:
    """Make every connection ``client``'s pool opens from now on carry a
    pending hit ahead of the first command (:class:`_Guard`)."""
    pool = client.connection_pool
    base = pool.connection_class
    if not issubclass(base, _Guard):
        if base not in _GUARDED:
            _GUARDED[base] = type(f"Guarded{base.__name__}", (_Guard, base), {})
        pool.connection_class = _GUARDED[base]
    return client
