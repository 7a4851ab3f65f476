"""Authentication transactions and one-time session tokens, in Redis.

A transaction is one JSON document under a hash of its ``stateToken``
(the token itself is never stored). Every /authn call is one ``GET`` to load
it and one compare-and-set to save it: a Lua script that writes the new
document only if the stored one is still byte-for-byte the one that was
loaded. Two concurrent calls on one transaction therefore cannot both
advance it; the loser sees :class:`Conflict` and nothing of its change lands.

Keys of one transaction carry its digest as a hash tag, so they stay on one
Redis Cluster slot.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import redis

#: Extra writes that ride in the same round trip as a save (``pipe`` → None).
Staged = Callable[[Any], None]

# KEYS: the transaction, its lease. ARGV: lease nonce, lease ms.
# The document, or false (no such transaction), or 0 (someone holds the lease).
_LEASE = """
local doc = redis.call('GET', KEYS[1])
if not doc then return false end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
return doc
"""
# KEYS: the transaction, its lease. ARGV: nonce, new document ("" ends it), TTL ms.
_SAVE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""
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


class Busy(Exception):
    """Another request holds the transaction's lease."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Loaded:
    """A transaction as read, with the lease nonce that lets this call save it."""

    def __init__(self, token: str, keys: list[str], doc: dict[str, Any], nonce: str) -> None:
        self.token = token
        self.keys = keys
        self.doc = doc
        self.nonce = nonce


class Transactions:
    """Load → act → save, serialised per transaction by a short lease.

    Two round trips per call: one script loads the document and takes the
    lease atomically, one saves (or deletes) it and drops the lease. A
    concurrent call on the same transaction finds the lease taken and gets
    :class:`Busy` before it has done anything.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._lease = client.register_script(_LEASE)
        self._save = client.register_script(_SAVE)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def _keys(token: str) -> list[str]:
        tag = digest(token)
        return [f"authn:{{{tag}}}", f"authn:{{{tag}}}:lease"]

    def create(self, doc: dict[str, Any], ttl_seconds: int, also: Sequence[Staged] = ()) -> str:
        """Store a new transaction; returns its ``stateToken`` (240 random bits)."""
        token = STATE_TOKEN_PREFIX + secrets.token_urlsafe(30)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self._keys(token)[0], _dump(doc), ex=ttl_seconds, nx=True)
        for stage in also:
            stage(pipe)
        pipe.execute()
        return token

    def load(self, token: str) -> Loaded | None:
        """Read without the lease (a read-only call)."""
        keys = self._keys(token)
        raw = self.redis.get(keys[0])
        return None if raw is None else Loaded(token, keys, json.loads(raw), "")

    def lease(self, token: str) -> Loaded | None:
        keys = self._keys(token)
        nonce = secrets.token_hex(8)
        raw = self._lease(keys=keys, args=[nonce, LEASE_MS])
        if raw is None or raw is False:
            return None
        if raw == 0:
            raise Busy
        return Loaded(token, keys, json.loads(raw), nonce)

    def save(
        self, loaded: Loaded, doc: dict[str, Any], ttl_seconds: int, also: Sequence[Staged] = ()
    ) -> None:
        """Write the new document and drop the lease; :class:`Conflict` if it lapsed.

        ``also``: writes that go out in the same round trip (a pipeline; the
        script is sent as EVAL so the pipeline needs no SCRIPT EXISTS first).
        """
        self._commit(loaded, [loaded.nonce, _dump(doc), ttl_seconds * 1000], also)
        loaded.doc = doc

    def finish(self, loaded: Loaded, also: Sequence[Staged] = ()) -> None:
        """End the transaction (SUCCESS, cancel, lockout) under this call's lease."""
        self._commit(loaded, [loaded.nonce, "", 0], also)

    def _commit(self, loaded: Loaded, args: list[Any], also: Sequence[Staged]) -> None:
        if not also:
            if not self._save(keys=loaded.keys, args=args):
                raise Conflict
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.eval(_SAVE, len(loaded.keys), *loaded.keys, *args)
        for stage in also:
            stage(pipe)
        if not pipe.execute()[0]:
            raise Conflict

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
        token, stage = self.staged(grant, ttl_seconds)
        stage(self.redis)
        return token

    def staged(self, grant: dict[str, Any], ttl_seconds: int) -> tuple[str, Staged]:
        """A new token, and the write that stores it (for a pipeline)."""
        token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = self._key(digest(token))
        return token, lambda pipe: pipe.set(key, _dump(grant), ex=ttl_seconds)

    def consume(self, token: str) -> dict[str, Any] | None:
        """The grant behind ``token``, once (GETDEL); None if unknown, used or expired."""
        raw = self.redis.getdel(self._key(digest(token)))
        if raw is None:
            return None
        result: dict[str, Any] = json.loads(raw)
        return result


class RememberedDevices:
    """Devices on which a user chose "do not challenge me again" (``rememberDevice``)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def _key(user_id: str, device_token: str) -> str:
        return f"device:{user_id}:{digest(device_token)}"

    def remember(self, user_id: str, device_token: str, ttl_seconds: int) -> None:
        self.redis.set(self._key(user_id, device_token), "1", ex=max(ttl_seconds, 1))

    def is_remembered(self, user_id: str, device_token: str) -> bool:
        return bool(self.redis.exists(self._key(user_id, device_token)))

    def forget_user(self, user_id: str) -> None:
        for key in self.redis.scan_iter(match=f"device:{user_id}:*", count=500):
            self.redis.delete(key)


class FailedAttempts:
    """Consecutive failed sign-in (password or factor) attempts, per user."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def _key(user_id: str) -> str:
        return f"lockout:{user_id}"

    def record_failure(self, user_id: str) -> int:
        return int(self.redis.incr(self._key(user_id)))

    def clear(self, user_id: str) -> None:
        self.redis.delete(self._key(user_id))

    def staged_clear(self, user_id: str) -> Staged:
        key = self._key(user_id)
        return lambda pipe: pipe.delete(key)


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)
