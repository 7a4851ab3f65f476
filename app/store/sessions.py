"""Sign-in sessions in Redis: the record, the ``sid`` cookie index, per-user sets.

A session has a public id (``102…``, what the Sessions API shows) and a
separate secret: the value of the ``sid`` cookie, stored only as its
SHA-256. Both keys expire with the session (idle timeout, capped by the
absolute lifetime); the per-user set lets "end all of a user's sessions"
find them. That set is pruned of sessions that ended by expiring whenever a
session is added to it, and expires itself no sooner than its longest-lived
session (its TTL only ever grows, atomically, so a refresh of one session
cannot shorten it below another's), so neither it nor its dead ids outlive
the sessions they point to.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import redis

from app.store.transactions import digest

SESSION_ID_PREFIX = "102"
# KEYS: the user's set. ARGV: seconds. Extend the set's TTL to ARGV[1], never shorten it
# (TTL is -1 for a set without one: a new set gets it too).
_EXTEND = """
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return 1
"""


class Sessions:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._extend = client.register_script(_EXTEND)

    @staticmethod
    def _key(session_id: str) -> str:
        return f"session:{session_id}"

    @staticmethod
    def _cookie_key(cookie_digest: str) -> str:
        return f"sid:{cookie_digest}"

    @staticmethod
    def _user_key(user_id: str) -> str:
        return f"user-sessions:{user_id}"

    def create(self, record: dict[str, Any], ttl_seconds: int) -> tuple[str, str]:
        """Store a new session; returns (its id, the ``sid`` cookie value)."""
        session_id = SESSION_ID_PREFIX + secrets.token_urlsafe(16)
        cookie = secrets.token_urlsafe(32)
        record = {**record, "id": session_id, "cookie": digest(cookie)}
        pipe = self.redis.pipeline()
        pipe.set(self._key(session_id), json.dumps(record), ex=ttl_seconds)
        pipe.set(self._cookie_key(digest(cookie)), session_id, ex=ttl_seconds)
        pipe.sadd(self._user_key(record["user_id"]), session_id)
        pipe.execute()
        self._extend(keys=[self._user_key(record["user_id"])], args=[ttl_seconds])
        self._prune(record["user_id"])
        return session_id, cookie

    def _prune(self, user_id: str) -> None:
        """Drop the ids of sessions that ended by expiring from the user's set."""
        key = self._user_key(user_id)
        members = [str(m) for m in self.redis.smembers(key)]  # type: ignore[union-attr]
        if not members:
            return
        pipe = self.redis.pipeline(transaction=False)
        for session_id in members:
            pipe.exists(self._key(session_id))
        ended = [m for m, alive in zip(members, pipe.execute(), strict=True) if not alive]
        if ended:
            self.redis.srem(key, *ended)

    def get(self, session_id: str) -> dict[str, Any] | None:
        raw = self.redis.get(self._key(session_id))
        return None if raw is None else dict(json.loads(raw))

    def by_cookie(self, cookie: str) -> dict[str, Any] | None:
        session_id = self.redis.get(self._cookie_key(digest(cookie)))
        return None if session_id is None else self.get(str(session_id))

    def save(self, record: dict[str, Any], ttl_seconds: int) -> None:
        """Write an updated record (refresh) and move both expiries."""
        pipe = self.redis.pipeline()
        pipe.set(self._key(record["id"]), json.dumps(record), ex=ttl_seconds, xx=True)
        pipe.expire(self._cookie_key(record["cookie"]), ttl_seconds)
        pipe.execute()
        self._extend(keys=[self._user_key(record["user_id"])], args=[ttl_seconds])

    def delete(self, record: dict[str, Any]) -> None:
        pipe = self.redis.pipeline()
        pipe.delete(self._key(record["id"]), self._cookie_key(record["cookie"]))
        pipe.srem(self._user_key(record["user_id"]), record["id"])
        pipe.execute()

    def delete_for_user(self, user_id: str) -> int:
        """End every session of ``user_id``; returns how many there were."""
        ended = 0
        for session_id in self.redis.smembers(self._user_key(user_id)):
            record = self.get(str(session_id))
            if record is not None:
                self.delete(record)
                ended += 1
        self.redis.delete(self._user_key(user_id))
        return ended
