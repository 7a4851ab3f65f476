"""Redis state of factor verification: delivered codes, send throttles, and
the last accepted TOTP step of each factor (replay protection).

Every check-and-change runs under WATCH/MULTI, so two concurrent requests
can never both use one code or one TOTP step.
"""

from __future__ import annotations

import hmac
import math

import redis
from redis.exceptions import WatchError

# KEYS[1]: the last accepted step of a factor. ARGV: the step, the TTL in seconds.
_CLAIM_STEP = """
local last = redis.call('GET', KEYS[1])
if last and tonumber(last) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


class FactorCodes:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._claim_step = client.register_script(_CLAIM_STEP)

    # ---- delivered codes ------------------------------------------------------

    @staticmethod
    def _code_key(factor_id: str) -> str:
        return f"factor:{{{factor_id}}}:code"

    @staticmethod
    def _throttle_key(channel: str, destination: str) -> str:
        return f"throttle:{channel}:{destination.lower()}"

    def throttle(self, channel: str, destination: str, seconds: int, now: float) -> int | None:
        """Claim the right to send at ``now`` (epoch seconds, the app's clock);
        None if claimed, else the seconds still to wait."""
        if seconds <= 0:  # throttling switched off
            return None
        key = self._throttle_key(channel, destination)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    last = pipe.get(key)
                    if last is not None and now - float(last) < seconds:
                        pipe.reset()
                        return max(1, math.ceil(seconds - (now - float(last))))
                    pipe.multi()
                    pipe.set(key, repr(now), ex=seconds)
                    pipe.execute()
                    return None
                except WatchError:
                    continue

    def release_throttle(self, channel: str, destination: str) -> None:
        """Undo a claim whose message could not be delivered."""
        self.redis.delete(self._throttle_key(channel, destination))

    def store_code(self, factor_id: str, digest: str, lifetime_seconds: int, now: float) -> None:
        """Keep the newest code only: any earlier one stops working. The code
        expires at ``now + lifetime`` on the app's clock; Redis drops it then too."""
        key = self._code_key(factor_id)
        pipe = self.redis.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping={"digest": digest, "attempts": 0, "expires": now + lifetime_seconds})
        pipe.expire(key, lifetime_seconds)
        pipe.execute()

    def use_code(
        self, factor_id: str, candidate_digest: str, max_attempts: int, now: float
    ) -> bool:
        """True once for the right, unexpired code; wrong tries count, and the
        code is dropped after ``max_attempts`` of them."""
        key = self._code_key(factor_id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.hgetall(key)
                    if not stored or now >= float(stored["expires"]):
                        pipe.reset()
                        return False
                    pipe.multi()
                    if hmac.compare_digest(str(stored["digest"]), candidate_digest):
                        pipe.delete(key)
                        pipe.execute()
                        return True
                    if int(stored["attempts"]) + 1 >= max_attempts:
                        pipe.delete(key)
                    else:
                        pipe.hincrby(key, "attempts", 1)
                    pipe.execute()
                    return False
                except WatchError:
                    continue

    def has_code(self, factor_id: str) -> bool:
        return bool(self.redis.exists(self._code_key(factor_id)))

    # ---- TOTP replay ---------------------------------------------------------------

    @staticmethod
    def _step_key(factor_id: str) -> str:
        return f"factor:{{{factor_id}}}:totp-step"

    def claim_step(self, factor_id: str, step: int, ttl_seconds: int) -> bool:
        """Accept TOTP ``step`` only if it is newer than any step accepted before
        (one atomic script: one round trip, no retry loop)."""
        claimed = self._claim_step(keys=[self._step_key(factor_id)], args=[step, ttl_seconds])
        return bool(claimed)

    def forget(self, factor_id: str) -> None:
        self.redis.delete(self._code_key(factor_id), self._step_key(factor_id))
