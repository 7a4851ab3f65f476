"""Sign-in sessions in Redis: one key per session, and a mark per user whose
sessions were all ended.

A session has a public id (``102…``, what the Sessions API shows) and a
secret; the ``sid`` cookie is ``<id>.<secret>``, and the record keeps only a
SHA-256 of the secret (compared in constant time). The record is a compact
JSON (short names, defaults left out) after the time Redis made it (ms) and
the user's id: ``<created ms>|<user id>|<json>``. It expires with the
session (idle timeout, capped by the absolute lifetime).

"End all of a user's sessions" (sign-out everywhere, a new password, a
suspension) writes one mark, ``sessions-ended:<user>`` = Redis' time now:
a session made at or before its user's mark is ended, whoever reads it, in
the same script that reads it. The mark lives as long as the longest a
session could still live (``sessions:longest``, whose TTL only grows, to
each session's TTL), so it never outlives what it ends, and there is no
per-user index of sessions to keep, prune or grow. About 480 bytes of Redis
per live session (docs/benchmarks.md, "Scale").

Sessions from before this layout (a full JSON record, a ``sid:<sha256>`` key
for the cookie, a ``user-sessions:<user>`` set) are still read, refreshed and
ended until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

import redis

from app.store.transactions import digest

SESSION_ID_PREFIX = "102"
LONGEST = "sessions:longest"
ENDED_PREFIX = "sessions-ended:"

#: Record field -> its short name in Redis, and the value left out when it is the default.
_SHORT = {
    "user_id": "u",
    "login": "l",
    "name": "n",
    "created_at": "c",
    "last_password_verification": "p",
    "last_factor_verification": "f",
    "amr": "a",
    "mfa_active": "m",
    "idle_seconds": "i",
    "absolute_expires_at": "x",
    "persistent_cookie": "k",
    "expires_at": "e",
    "secret": "h",
}
_LONG = {short: name for name, short in _SHORT.items()}
_DEFAULTS: dict[str, Any] = {
    "name": "",
    "last_password_verification": None,
    "last_factor_verification": None,
    "amr": [],
    "mfa_active": False,
    "absolute_expires_at": None,
    "persistent_cookie": False,
}

# Every script builds the mark's key from the user in the record: one Redis
# primary, as for the transaction scripts (Cluster is not supported).
_NOW_MS = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
"""
# KEYS: the session, sessions:longest. ARGV: user id, record, TTL seconds.
_CREATE = (
    _NOW_MS
    + """
redis.call('SET', KEYS[1], now .. '|' .. ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
end
return 1
"""
)
# KEYS: the session. ARGV: the mark's prefix. The stored value, or false if
# there is none or its user's sessions were ended after it was made.
_READ = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
local made, user = string.match(value, '^(%d+)|([^|]*)|')
if not made then return value end
local ended = redis.call('GET', ARGV[1] .. user)
if ended and tonumber(made) <= tonumber(ended) then return false end
return value
"""
# KEYS: the session, sessions:longest. ARGV: the record, TTL seconds. The
# record keeps its time and user; 0 if the session is gone.
_SAVE = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local head = string.match(value, '^(%d+|[^|]*|)')
if not head then return 0 end
redis.call('SET', KEYS[1], head .. ARGV[1], 'EX', ARGV[2])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
end
return 1
"""
# KEYS: the user's mark, sessions:longest. Every session of the user made
# until now is ended; the mark lasts as long as the longest session could.
_END_ALL = (
    _NOW_MS
    + """
local ttl = redis.call('TTL', KEYS[2])
if ttl > 0 then redis.call('SET', KEYS[1], now, 'EX', ttl) end
return 1
"""
)


def _secret_digest(secret: str) -> str:
    raw = hashlib.sha256(secret.encode()).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _pack(record: dict[str, Any]) -> str:
    out = {}
    for name, value in record.items():
        short = _SHORT.get(name)
        if short is None or name == "user_id":  # the id is the key; the user leads the value
            continue
        if name in _DEFAULTS and value == _DEFAULTS[name]:
            continue
        out[short] = value
    return json.dumps(out, separators=(",", ":"))


def _unpack(session_id: str, value: str) -> dict[str, Any]:
    made, sep, rest = value.partition("|")
    if not sep or not made.isdigit():  # a record from before the compact layout
        return dict(json.loads(value))
    user_id, _, packed = rest.partition("|")
    record: dict[str, Any] = {**_DEFAULTS, "amr": []}
    record.update({_LONG[k]: v for k, v in json.loads(packed).items() if k in _LONG})
    record["id"] = session_id
    record["user_id"] = user_id
    return record


class Sessions:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._create = client.register_script(_CREATE)
        self._read = client.register_script(_READ)
        self._save = client.register_script(_SAVE)
        self._end_all = client.register_script(_END_ALL)

    @staticmethod
    def _key(session_id: str) -> str:
        return f"session:{session_id}"

    @staticmethod
    def _legacy_cookie_key(cookie_digest: str) -> str:
        return f"sid:{cookie_digest}"

    @staticmethod
    def _legacy_user_key(user_id: str) -> str:
        return f"user-sessions:{user_id}"

    def create(self, record: dict[str, Any], ttl_seconds: int) -> tuple[str, str]:
        """Store a new session (one round trip); returns (its id, the ``sid`` cookie value)."""
        session_id = SESSION_ID_PREFIX + secrets.token_urlsafe(16)
        secret = secrets.token_urlsafe(32)
        packed = _pack({**record, "secret": _secret_digest(secret)})
        self._create(
            keys=[self._key(session_id), LONGEST], args=[record["user_id"], packed, ttl_seconds]
        )
        return session_id, f"{session_id}.{secret}"

    def get(self, session_id: str) -> dict[str, Any] | None:
        """The session's record; None if it is gone or its user's sessions were ended."""
        value = self._read(keys=[self._key(session_id)], args=[ENDED_PREFIX])
        return None if value is None else _unpack(session_id, str(value))

    def by_cookie(self, cookie: str) -> dict[str, Any] | None:
        session_id, dot, secret = cookie.partition(".")
        if not dot:  # a cookie from before the compact layout
            legacy = self.redis.get(self._legacy_cookie_key(digest(cookie)))
            return None if legacy is None else self.get(str(legacy))
        record = self.get(session_id)
        if record is None or not isinstance(record.get("secret"), str):
            return None
        if not hmac.compare_digest(record["secret"], _secret_digest(secret)):
            return None
        return record

    def save(self, record: dict[str, Any], ttl_seconds: int) -> None:
        """Write an updated record (refresh) with its new expiry."""
        if "secret" not in record:  # from before the compact layout
            pipe = self.redis.pipeline()
            pipe.set(self._key(record["id"]), json.dumps(record), ex=ttl_seconds, xx=True)
            pipe.expire(self._legacy_cookie_key(record["cookie"]), ttl_seconds)
            pipe.execute()
            return
        self._save(keys=[self._key(record["id"]), LONGEST], args=[_pack(record), ttl_seconds])

    def delete(self, record: dict[str, Any]) -> None:
        keys = [self._key(record["id"])]
        if "cookie" in record:  # from before the compact layout
            keys.append(self._legacy_cookie_key(record["cookie"]))
            self.redis.srem(self._legacy_user_key(record["user_id"]), record["id"])
        self.redis.delete(*keys)

    def delete_for_user(self, user_id: str) -> None:
        """End every session of ``user_id`` made until now (one round trip, or
        two while sessions from before the compact layout may be alive)."""
        self._end_all(keys=[ENDED_PREFIX + user_id, LONGEST], args=[])
        legacy = self._legacy_user_key(user_id)
        for session_id in self.redis.smembers(legacy):  # type: ignore[union-attr]
            record = self.get(str(session_id))
            if record is not None:
                self.delete(record)
        self.redis.delete(legacy)
