"""Sign-in sessions in Redis: one key per session, and a mark per user whose
sessions were all ended.

A session has a public id (``102…``, what the Sessions API shows) and a
secret; the ``sid`` cookie is ``<id>.<secret>``, and the record keeps only a
SHA-256 of the secret (compared in constant time). The record is a compact
JSON (short names, defaults left out) after the user's mark when it was
made (below) and the user's id: ``<mark>|<user id>|<json>``. It expires with the session
(idle timeout, capped by the absolute lifetime).

"End all of a user's sessions" (sign-out everywhere, a new password, a
suspension) raises one counter, ``sessions-ended:<user>`` (the mark). A
session keeps the mark's value when it is made and is live only while the
mark still has that value: the read script checks, so every session of the
user made before is ended for every reader at once, and none made after.
No clock is involved. The mark lives as long as the longest a session could
still live (``sessions:longest``, whose TTL only grows to each session's
TTL), and each session made or refreshed later keeps it at least as long as
itself. So it never outlives what depends on it, and there is no per-user
index of sessions to keep, prune or grow. About 480 bytes of Redis
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
    "secret_hash": "h",
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
# primary, as for the transaction scripts (Cluster is not supported). The mark
# is a counter: a session keeps the value it had when the session was made and
# is live only while the value is the same, so no clock is involved.
_LIVE_AS_LONG_AS = """
local function outlive(key, ttl)
  if redis.call('EXISTS', key) == 1 and redis.call('TTL', key) < ttl then
    redis.call('EXPIRE', key, ttl)
  end
end
"""
# KEYS: the session, sessions:longest, the user's mark. ARGV: user id, record, TTL.
_CREATE = (
    _LIVE_AS_LONG_AS
    + """
local ttl = tonumber(ARGV[3])
local mark = redis.call('GET', KEYS[3]) or '0'
redis.call('SET', KEYS[1], mark .. '|' .. ARGV[1] .. '|' .. ARGV[2], 'EX', ttl)
if redis.call('TTL', KEYS[2]) < ttl then redis.call('SET', KEYS[2], '1', 'EX', ttl) end
outlive(KEYS[3], ttl)
return 1
"""
)
# KEYS: the session. ARGV: the mark's prefix. The stored value, or false if
# there is none or its user's sessions were ended since it was made.
_READ = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
local mark, user = string.match(value, '^(%d+)|([^|]*)|')
if not mark then return value end
local now = redis.call('GET', ARGV[1] .. user) or '0'
if now ~= mark then return false end
return value
"""
# KEYS: the session, sessions:longest. ARGV: the record, TTL, the mark's prefix.
# The record keeps its mark and user; 0 if the session is gone.
_SAVE = (
    _LIVE_AS_LONG_AS
    + """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local head, user = string.match(value, '^(%d+|([^|]*)|)')
if not head then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], head .. ARGV[1], 'EX', ttl)
if redis.call('TTL', KEYS[2]) < ttl then redis.call('SET', KEYS[2], '1', 'EX', ttl) end
outlive(ARGV[3] .. user, ttl)
return 1
"""
)
# KEYS: the user's mark, sessions:longest. Every session of the user made
# until now is ended; the mark lasts as long as the longest session could
# (and each session made or refreshed later keeps it at least that long).
_END_ALL = """
local ttl = redis.call('TTL', KEYS[2])
if ttl <= 0 then return 0 end
redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
"""


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
        packed = _pack({**record, "secret_hash": _secret_digest(secret)})
        user_id = record["user_id"]
        self._create(
            keys=[self._key(session_id), LONGEST, ENDED_PREFIX + user_id],
            args=[user_id, packed, ttl_seconds],
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
        if record is None or not isinstance(record.get("secret_hash"), str):
            return None
        if not hmac.compare_digest(record["secret_hash"], _secret_digest(secret)):
            return None
        return record

    def save(self, record: dict[str, Any], ttl_seconds: int) -> None:
        """Write an updated record (refresh) with its new expiry."""
        if "secret_hash" not in record:  # from before the compact layout
            pipe = self.redis.pipeline()
            pipe.set(self._key(record["id"]), json.dumps(record), ex=ttl_seconds, xx=True)
            pipe.expire(self._legacy_cookie_key(record["cookie"]), ttl_seconds)
            pipe.execute()
            return
        self._save(
            keys=[self._key(record["id"]), LONGEST],
            args=[_pack(record), ttl_seconds, ENDED_PREFIX],
        )

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
        members = self.redis.smembers(legacy)  # empty once the old sessions are gone
        for session_id in members:  # type: ignore[union-attr]
            record = self.get(str(session_id))
            if record is not None:
                self.delete(record)
        if members:
            self.redis.delete(legacy)
