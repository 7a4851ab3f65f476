"""One-time tokens (activation, password recovery) in Redis, stored hashed.

Only the newest token of a kind is valid for a user: issuing one revokes the
one before, and consuming one deletes it atomically (GETDEL), so a token is
used at most once even when two requests race.
"""

from __future__ import annotations

import hashlib
import secrets

import redis


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class OneTimeTokens:
    def __init__(self, client: redis.Redis, namespace: str = "ott") -> None:
        self.redis = client
        self.namespace = namespace

    def _key(self, kind: str, digest: str) -> str:
        return f"{self.namespace}:{kind}:{digest}"

    def _user_key(self, kind: str, user_id: str) -> str:
        return f"{self.namespace}:{kind}:user:{user_id}"

    @staticmethod
    def new_token() -> str:
        """A fresh token (192 random bits), not yet valid: :meth:`issue` it."""
        return secrets.token_urlsafe(24)

    def issue(self, kind: str, user_id: str, ttl_seconds: int, token: str | None = None) -> str:
        """Make ``token`` (or a new one) the user's only valid token of ``kind``.

        To send a token by e-mail, make it with :meth:`new_token`, send it,
        and issue it only then: an e-mail that cannot be sent leaves the
        previous token working."""
        token = token or self.new_token()
        digest = _digest(token)
        previous = self.redis.get(self._user_key(kind, user_id))
        pipe = self.redis.pipeline()
        if previous:
            pipe.delete(self._key(kind, str(previous)))
        pipe.set(self._key(kind, digest), user_id, ex=ttl_seconds)
        pipe.set(self._user_key(kind, user_id), digest, ex=ttl_seconds)
        pipe.execute()
        return token

    def peek(self, kind: str, token: str) -> str | None:
        value = self.redis.get(self._key(kind, _digest(token)))
        return str(value) if value is not None else None

    def consume(self, kind: str, token: str) -> str | None:
        """The user id the token was issued for, once; None if unknown or used."""
        value = self.redis.getdel(self._key(kind, _digest(token)))
        if value is None:
            return None
        self.redis.delete(self._user_key(kind, str(value)))
        return str(value)

    def revoke_for_user(self, kind: str, user_id: str) -> None:
        digest = self.redis.getdel(self._user_key(kind, user_id))
        if digest:
            self.redis.delete(self._key(kind, str(digest)))
