"""Redis writes and factor checks that can ride inside one Lua script.

A /authn call that proves a factor must both use up the code (a TOTP step
may be accepted once; a delivered code once) and advance the transaction, and
neither may happen without the other. Both go out in the transaction's save
script: the :class:`Check` runs first, and only if it passes are the
transaction and the staged writes (:class:`Write`) written. One round trip, and
nothing half-applied.

The checks are Lua functions in :data:`LIBRARY`; the Factors and WorkOS APIs
run the same functions on their own (:data:`RUN_CHECK`), so each rule is
written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Each function answers true (passed) or false (refused) and makes its own
#: writes either way (a wrong code still counts as an attempt).
LIBRARY = """
local function newer_step(key, step, ttl)
  local last = redis.call('GET', key)
  if last and tonumber(last) >= tonumber(step) then return false end
  redis.call('SET', key, step, 'EX', ttl)
  return true
end
local function use_code(key, candidate, max_attempts, now)
  local stored = redis.call('HMGET', key, 'digest', 'attempts', 'expires')
  if not stored[1] or tonumber(now) >= tonumber(stored[3]) then return false end
  if stored[1] == candidate then
    redis.call('DEL', key)
    return true
  end
  if tonumber(stored[2]) + 1 >= tonumber(max_attempts) then redis.call('DEL', key)
  else redis.call('HINCRBY', key, 'attempts', 1) end
  return false
end
local checks = {newer_step = newer_step, use_code = use_code}
"""

#: A check on its own. KEYS: the checked key. ARGV: the function's name, its three arguments.
RUN_CHECK = LIBRARY + "return checks[ARGV[1]](KEYS[1], ARGV[2], ARGV[3], ARGV[4]) and 1 or 0"


@dataclass(frozen=True)
class Check:
    """One call of a :data:`LIBRARY` function on one key."""

    function: str
    key: str
    args: tuple[str, str, str]

    @classmethod
    def newer_step(cls, key: str, step: int, ttl_seconds: int) -> Check:
        """Pass only for a TOTP step newer than any accepted before (and remember it)."""
        return cls("newer_step", key, (str(step), str(ttl_seconds), ""))

    @classmethod
    def use_code(cls, key: str, candidate_digest: str, max_attempts: int, now: float) -> Check:
        """Pass once for the stored, unexpired code; a wrong one counts as an
        attempt, and the code is dropped after ``max_attempts`` of them."""
        return cls("use_code", key, (candidate_digest, str(max_attempts), repr(now)))


#: Lua: take one off a counter, never below zero (an attempt that turned out
#: not to be a failure gives its slot back). A counter back at zero is deleted,
#: not left at "0": the key has no expiry, and an absent counter means zero.
GIVE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 1 then redis.call('DECR', KEYS[1]) else redis.call('DEL', KEYS[1]) end
return 1
"""


@dataclass(frozen=True)
class Write:
    """``SET key value [EX ttl]``, or with no value ``DEL key``, or (``give_back``)
    one off a counter, never below zero."""

    key: str
    value: str | None = None
    ttl_seconds: int = 0
    give_back: bool = False

    @classmethod
    def delete(cls, key: str) -> Write:
        return cls(key)

    @classmethod
    def decrement(cls, key: str) -> Write:
        return cls(key, give_back=True)

    def apply(self, pipe: Any) -> None:
        """Queue this write on a pipeline (or send it on a client)."""
        if self.give_back:
            pipe.eval(GIVE_BACK, 1, self.key)
        elif self.value is None:
            pipe.delete(self.key)
        elif self.ttl_seconds:
            pipe.set(self.key, self.value, ex=self.ttl_seconds)
        else:
            pipe.set(self.key, self.value)

    def argv(self) -> list[str]:
        """Its arguments to the save script (the key travels in KEYS)."""
        if self.give_back:
            return ["DECR", "", "0"]
        if self.value is None:
            return ["DEL", "", "0"]
        return ["SET", self.value, str(self.ttl_seconds)]
