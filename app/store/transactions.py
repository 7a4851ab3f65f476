"""Authentication transactions and one-time session tokens, in Redis.

A transaction is one JSON document under a hash of its ``stateToken``
(the token itself is never stored). A call that changes it makes two round
trips: one Lua script loads the document and takes a short lease on it, a
second saves the new document (or deletes it) and drops the lease. The save
can carry a factor :class:`~app.store.atomic.Check` (the code is used up
only if the transaction advances, and the transaction advances only if the
code was good) and staged writes (the
``sessionToken``, the lockout reset, a remembered device), all applied by
that one script or not at all. Two concurrent calls on one transaction
therefore cannot both advance it, and nothing is half-applied. A call that
carries a guess (a code or answer) also takes its user's failed-attempt
slot in the lease script (:class:`FailedAttempts`), before anything is
judged, at no extra round trip. The first round trip of a call (the lease,
or the load of a read) also carries the request's rate-limit count
(:mod:`app.store.rate_limit`), and does nothing else when it is refused.

The save script touches keys outside the transaction's hash tag (the
factor's, the session token's), and the lease script the user's attempt
counter, so they need one Redis primary (standalone or
under Sentinel), not a Redis Cluster.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

import redis

from app.store.atomic import GIVE_BACK, LIBRARY, Check, Write
from app.store.rate_limit import RidingScript, settle

# KEYS: the transaction, its lease. ARGV: lease nonce, lease ms, and the
# failed-attempt counter's key prefix ("" for a call that guesses nothing).
# {document[, attempt slot]}, or false (no such transaction), or 0 (someone
# holds the lease). The slot is the user's attempt counter after INCR, taken
# with the lease and before anything is read or judged; a decoy (no user)
# takes none. The counter's key is built here from the document's user, so
# it is not in KEYS: one Redis primary, as for the save script.
_LEASE = """
local doc = redis.call('GET', KEYS[1])
if not doc then return false end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if ARGV[3] == '' then return {doc} end
local user = cjson.decode(doc)['user_id']
if type(user) ~= 'string' then return {doc} end
return {doc, redis.call('INCR', ARGV[3] .. user)}
"""
# KEYS: the transaction, its lease, the checked key (if any), one key per write.
# ARGV: nonce, new document ("" ends it), TTL ms, the check's function ("" for
# none) and its three arguments, then per write: SET or DEL, value, TTL seconds.
# 1 saved; 0 the lease lapsed or the transaction ended; 2 the check refused
# (nothing written but the check's own bookkeeping, the lease still held).
_SAVE = (
    LIBRARY
    + """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return 0
end
local first = 3
if ARGV[4] ~= '' then
  if not checks[ARGV[4]](KEYS[3], ARGV[5], ARGV[6], ARGV[7]) then return 2 end
  first = 4
end
redis.call('DEL', KEYS[2])
if ARGV[2] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
for i = first, #KEYS do
  local at = 8 + (i - first) * 3
  if ARGV[at] == 'DEL' then redis.call('DEL', KEYS[i])
  elseif ARGV[at] == 'DECR' then
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 1 then redis.call('DECR', KEYS[i])
    else redis.call('DEL', KEYS[i]) end
  elseif ARGV[at + 2] == '0' then redis.call('SET', KEYS[i], ARGV[at + 1])
  else redis.call('SET', KEYS[i], ARGV[at + 1], 'EX', ARGV[at + 2]) end
end
return 1
"""
)
_LOAD = "return redis.call('GET', KEYS[1])"
_RELEASE = """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
#: A lease outlives any sane request; a crashed worker's lease lapses by itself.
LEASE_MS = 10_000

STATE_TOKEN_PREFIX = "00"
SESSION_TOKEN_PREFIX = "20111"


class Conflict(Exception):
    """The transaction ended, or the lease lapsed, between load and save."""


class Refused(Exception):
    """The save's factor check failed: nothing was saved, the lease is still held."""


class Busy(Exception):
    """Another request holds the transaction's lease."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Loaded:
    """A transaction as read, with the lease nonce that lets this call save it
    and, for a call that guesses, the failed-attempt slot it took (see
    :class:`FailedAttempts`)."""

    def __init__(
        self,
        token: str,
        keys: list[str],
        doc: dict[str, Any],
        nonce: str,
        slot: int | None = None,
    ) -> None:
        self.token = token
        self.keys = keys
        self.doc = doc
        self.nonce = nonce
        self.slot = slot


class Transactions:
    """Load → act → save, serialised per transaction by a short lease.

    Two round trips per call: one script loads the document and takes the
    lease atomically, one saves (or deletes) it and drops the lease. A
    concurrent call on the same transaction finds the lease taken and gets
    :class:`Busy` before it has done anything.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        # The first round trip of a call: it carries the rate limit's count.
        self._lease = RidingScript(client, _LEASE)
        self._load = RidingScript(client, _LOAD, lambda keys, _: client.get(keys[0]))
        self._save = client.register_script(_SAVE)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def _keys(token: str) -> list[str]:
        tag = digest(token)
        return [f"authn:{{{tag}}}", f"authn:{{{tag}}}:lease"]

    def create(self, doc: dict[str, Any], ttl_seconds: int, also: Sequence[Write] = ()) -> str:
        """Store a new transaction; returns its ``stateToken`` (240 random bits)."""
        token = STATE_TOKEN_PREFIX + secrets.token_urlsafe(30)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self._keys(token)[0], _dump(doc), ex=ttl_seconds, nx=True)
        for write in also:
            write.apply(pipe)
        pipe.execute()
        return token

    def load(self, token: str) -> Loaded | None:
        """Read without the lease (a read-only call)."""
        keys = self._keys(token)
        raw = self._load(keys=keys[:1], args=[])
        return None if raw is None else Loaded(token, keys, json.loads(raw), "")

    def lease(self, token: str, *, take_slot: bool = False) -> Loaded | None:
        """Load and take the lease; with ``take_slot``, also count an attempt
        for the transaction's user in the same script (:attr:`Loaded.slot`)."""
        keys = self._keys(token)
        nonce = secrets.token_hex(8)
        prefix = FailedAttempts.PREFIX if take_slot else ""
        raw = self._lease(keys=keys, args=[nonce, LEASE_MS, prefix])
        if raw is None or raw is False:
            return None
        if raw == 0:
            raise Busy
        slot = int(raw[1]) if len(raw) > 1 else None
        return Loaded(token, keys, json.loads(raw[0]), nonce, slot)

    def save(
        self,
        loaded: Loaded,
        doc: dict[str, Any],
        ttl_seconds: int,
        also: Sequence[Write] = (),
        check: Check | None = None,
    ) -> None:
        """Write the new document and ``also``, and drop the lease, in one script.

        :class:`Conflict` if the lease lapsed; :class:`Refused` if ``check``
        failed (then nothing is written and the lease is still held).
        """
        self._commit(loaded, _dump(doc), ttl_seconds * 1000, also, check)
        loaded.doc = doc

    def finish(
        self, loaded: Loaded, also: Sequence[Write] = (), check: Check | None = None
    ) -> None:
        """End the transaction (SUCCESS, cancel, lockout) under this call's lease."""
        self._commit(loaded, "", 0, also, check)

    def _commit(
        self,
        loaded: Loaded,
        doc: str,
        ttl_ms: int,
        also: Sequence[Write],
        check: Check | None,
    ) -> None:
        keys = [*loaded.keys]
        args: list[str | int] = [loaded.nonce, doc, ttl_ms]
        if check is None:
            args += ["", "", "", ""]
        else:
            keys.append(check.key)
            args += [check.function, *check.args]
        for write in also:
            keys.append(write.key)
            args += write.argv()
        result = self._save(keys=keys, args=args)
        if result == 2:
            raise Refused
        if not result:
            raise Conflict

    def flush(self, also: Sequence[Write]) -> None:
        """Send staged writes in one round trip, with no transaction to save
        them with (a transaction that ends at the call that began it)."""
        if also:
            pipe = self.redis.pipeline(transaction=False)
            for write in also:
                write.apply(pipe)
            pipe.execute()

    def release(self, loaded: Loaded) -> None:
        """Drop the lease without saving (the action failed: nothing changes)."""
        if loaded.nonce:
            self._release(keys=loaded.keys, args=[loaded.nonce])


class SessionTokens:
    """One-time ``sessionToken``s minted on SUCCESS, consumed by the sessions API."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def _key(token_digest: str) -> str:
        return f"sessiontoken:{token_digest}"

    def mint(self, grant: dict[str, Any], ttl_seconds: int) -> str:
        token, write = self.staged(grant, ttl_seconds)
        write.apply(self.redis)
        return token

    def staged(self, grant: dict[str, Any], ttl_seconds: int) -> tuple[str, Write]:
        """A new token, and the write that stores it (to go out with a save)."""
        token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
        return token, Write(self._key(digest(token)), _dump(grant), ttl_seconds)

    def consume(self, token: str) -> dict[str, Any] | None:
        """The grant behind ``token``, once (GETDEL); None if unknown, used or expired."""
        raw = self.redis.getdel(self._key(digest(token)))
        if raw is None:
            return None
        result: dict[str, Any] = json.loads(raw)
        return result

    def revoke(self, token: str) -> None:
        """Void ``token`` unused (a SUCCESS whose database half failed)."""
        self.redis.delete(self._key(digest(token)))


class RememberedDevices:
    """Devices on which a user chose "do not challenge me again" (``rememberDevice``)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def _key(user_id: str, device_token: str) -> str:
        return f"device:{user_id}:{digest(device_token)}"

    def remember(self, user_id: str, device_token: str, ttl_seconds: int) -> Write:
        """The write that remembers the device (to go out with a save)."""
        return Write(self._key(user_id, device_token), "1", max(ttl_seconds, 1))

    def is_remembered(self, user_id: str, device_token: str) -> bool:
        return bool(self.redis.exists(self._key(user_id, device_token)))

    def forget(self, user_id: str, device_token: str) -> None:
        self.redis.delete(self._key(user_id, device_token))

    def forget_user(self, user_id: str) -> None:
        for key in self.redis.scan_iter(match=f"device:{user_id}:*", count=500):
            self.redis.delete(key)


# KEYS: the counter. Undo one INCR, never below zero (a lock or a success
# may have reset the counter since).


class FailedAttempts:
    """Sign-in attempts (password, factor, recovery answer) per user since the
    last success or lock, counted BEFORE each is judged.

    An attempt first takes a slot (``INCR``: the count including itself); a
    slot beyond the policy's ``maxAttempts`` is refused unjudged, so however
    many attempts arrive at once, on however many hosts, at most
    ``maxAttempts`` are judged before the user is locked. A proven factor or
    answer, or a sign-in that reaches SUCCESS, deletes the counter; a right
    password only gives its own slot back (else a password holder could reset
    the count between factor guesses); an attempt that ended up judging
    nothing gives its slot back too.
    """

    PREFIX = "lockout:"

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._give_back = client.register_script(GIVE_BACK)
        # The first round trip of a sign-in: it carries the rate limit's count.
        self._take = RidingScript(
            client, "return redis.call('INCR', KEYS[1])", lambda keys, _: client.incr(keys[0])
        )

    @classmethod
    def _key(cls, user_id: str) -> str:
        return cls.PREFIX + user_id

    def take_slot(self, user_id: str) -> int:
        """Count one attempt before it is judged; its slot (1 for the first)."""
        return int(self._take(keys=[self._key(user_id)], args=[]))

    def take_none(self) -> None:
        """The one round trip :meth:`take_slot` makes, for an attempt that has
        no user to count against (an unknown user, a decoy): it carries the
        rate limit's count, or is a ``PING``."""
        if not settle(self.redis):
            self.redis.ping()

    def give_back(self, user_id: str) -> None:
        """Undo :meth:`take_slot` for an attempt that judged nothing."""
        self._give_back(keys=[self._key(user_id)])

    def count(self, user_id: str) -> int:
        return int(self.redis.get(self._key(user_id)) or 0)

    def clear(self, user_id: str) -> None:
        self.redis.delete(self._key(user_id))

    def staged_clear(self, user_id: str) -> Write:
        return Write.delete(self._key(user_id))

    def staged_give_back(self, user_id: str) -> Write:
        """:meth:`give_back`, to ride with another write."""
        return Write.decrement(self._key(user_id))


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)
