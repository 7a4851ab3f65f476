"""Redis state of factor verification: delivered codes, send throttles, and
the last accepted TOTP step of each factor (replay protection).

Every check-and-change is one atomic Lua script (the code checks from
:mod:`app.store.atomic`), so two concurrent requests can never
both use one code or one TOTP step. A /authn call does not run the check
here: it takes the :class:`~app.store.atomic.Check` and runs it inside the
transaction's save.
"""

from __future__ import annotations

import redis

from app.store.atomic import RUN_CHECK, Check

# KEYS: the throttle. ARGV: now (epoch seconds), the interval. 0 (claimed) or
# the whole seconds still to wait.
_THROTTLE = """
local last = redis.call('GET', KEYS[1])
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
if last and now - tonumber(last) < interval then
  return math.max(1, math.ceil(interval - (now - tonumber(last))))
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 0
"""


class FactorCodes:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._check = client.register_script(RUN_CHECK)
        self._throttle = client.register_script(_THROTTLE)

    def run(self, check: Check) -> bool:
        """Run a check on its own (one round trip): True if it passed."""
        return bool(self._check(keys=[check.key], args=[check.function, *check.args]))

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
        wait = self._throttle(keys=[self._throttle_key(channel, destination)], args=[now, seconds])
        return int(wait) or None

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

    def code_check(
        self, factor_id: str, candidate_digest: str, max_attempts: int, now: float
    ) -> Check:
        """Passes once for the right, unexpired code; wrong tries count, and the
        code is dropped after ``max_attempts`` of them."""
        return Check.use_code(self._code_key(factor_id), candidate_digest, max_attempts, now)

    def use_code(
        self, factor_id: str, candidate_digest: str, max_attempts: int, now: float
    ) -> bool:
        """:meth:`code_check` on its own: True if the code was good."""
        return self.run(self.code_check(factor_id, candidate_digest, max_attempts, now))

    def has_code(self, factor_id: str) -> bool:
        return bool(self.redis.exists(self._code_key(factor_id)))

    # ---- TOTP replay ---------------------------------------------------------------

    @staticmethod
    def _step_key(factor_id: str) -> str:
        return f"factor:{{{factor_id}}}:totp-step"

    def step_check(self, factor_id: str, step: int, ttl_seconds: int) -> Check:
        """Accept TOTP ``step`` only if it is newer than any step accepted before."""
        return Check.newer_step(self._step_key(factor_id), step, ttl_seconds)

    def claim_step(self, factor_id: str, step: int, ttl_seconds: int) -> bool:
        """:meth:`step_check` on its own: True if the step was new."""
        return self.run(self.step_check(factor_id, step, ttl_seconds))

    # ---- WebAuthn challenges (the Factors API's; /authn keeps its own in the transaction)

    @staticmethod
    def _challenge_key(factor_id: str) -> str:
        return f"factor:{{{factor_id}}}:webauthn-challenge"

    def put_challenge(self, factor_id: str, challenge: str, ttl_seconds: int) -> None:
        """The one live challenge of the factor's ceremony: any earlier one stops working."""
        self.redis.set(self._challenge_key(factor_id), challenge, ex=ttl_seconds)

    def take_challenge(self, factor_id: str) -> str | None:
        """The live challenge, removed as it is read: each is answered once."""
        value = self.redis.getdel(self._challenge_key(factor_id))
        return value.decode() if isinstance(value, bytes) else value

    def forget(self, factor_id: str) -> None:
        self.redis.delete(
            self._code_key(factor_id), self._step_key(factor_id), self._challenge_key(factor_id)
        )
