"""SSWS API tokens, stored only as SHA-256 hashes.

A token carries 180 bits of randomness, so a fast hash is enough: nobody can
brute-force the preimage, and the lookup stays a single indexed query.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store.models import ApiKeyRow, ApiTokenRow
from app.store.users import _aware


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    id: str
    name: str
    token_window: str  # the last characters, to recognise a token in a listing
    created: datetime
    last_used: datetime | None
    revoked: datetime | None


def _to_domain(row: ApiTokenRow | ApiKeyRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        token_window=row.token_window,
        created=_aware(row.created),  # type: ignore[arg-type]
        last_used=_aware(row.last_used),
        revoked=_aware(row.revoked),
    )


class ApiTokenRepository:
    """SSWS tokens (``api_tokens``); ``ApiKeyRepository`` keeps WorkOS-style
    ``sk_`` keys the same way in their own table."""

    row_class: Any = ApiTokenRow  # ApiTokenRow or ApiKeyRow: the same columns

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token_id: str, name: str, token: str, now: datetime) -> ApiToken:
        row = self.row_class(
            id=token_id,
            name=name,
            token_hash=token_hash(token),
            token_window=token[-4:],
            created=now,
        )
        self.session.add(row)
        self.session.flush()
        return _to_domain(row)

    def active_by_token(self, token: str) -> ApiToken | None:
        row = self.session.scalar(
            select(self.row_class).where(
                self.row_class.token_hash == token_hash(token), self.row_class.revoked.is_(None)
            )
        )
        return _to_domain(row) if row else None

    def touch(self, token_id: str, now: datetime) -> None:
        row = self.session.get(self.row_class, token_id)
        if row is not None:
            row.last_used = now

    def list(self) -> list[ApiToken]:
        rows = self.session.scalars(select(self.row_class).order_by(self.row_class.created))
        return [_to_domain(r) for r in rows]

    def revoke(self, token_id: str, now: datetime) -> bool:
        row = self.session.get(self.row_class, token_id)
        if row is None or row.revoked is not None:
            return False
        row.revoked = now
        return True

    def count(self) -> int:
        return len(self.session.scalars(select(self.row_class.id)).all())


class ApiKeyRepository(ApiTokenRepository):
    row_class = ApiKeyRow


class TokenCache:
    """Tokens this process found active, for ``seconds`` after it looked.

    Keyed by the token's hash, like the table: the cache holds no token. A
    token revoked in this process is forgotten at once (:meth:`forget`); one
    revoked by another process or instance is honoured when its entry ends,
    ``seconds`` at most (0 turns the cache off). Only tokens found active are
    kept, so a stream of made-up tokens cannot fill it, and it holds at most
    ``size`` (all forgotten when full: real deployments have a handful)."""

    def __init__(
        self, seconds: float, size: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._entries: dict[str, tuple[ApiToken, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> ApiToken | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if self.clock() >= entry[1]:
            with self._lock:
                self._entries.pop(digest, None)
            return None
        return entry[0]

    def put(self, digest: str, token: ApiToken) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[digest] = (token, self.clock() + self.seconds)

    def __len__(self) -> int:
        return len(self._entries)

    def forget(self, token_id: str) -> None:
        with self._lock:
            for digest in [d for d, (t, _) in self._entries.items() if t.id == token_id]:
                del self._entries[digest]
