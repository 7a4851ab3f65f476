"""SSWS API tokens: create, authenticate, list, revoke, and the first-start bootstrap."""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from app.domain import ids
from app.domain.errors import InvalidToken
from app.services.context import Context
from app.store.api_tokens import ApiToken, token_hash

ADMIN_TOKEN_FILE = "admin-token"
LAST_USED_GRANULARITY = timedelta(minutes=1)


def new_token_value() -> str:
    """42 characters like Okta's tokens: ``00`` and 240 bits of randomness."""
    return "00" + secrets.token_urlsafe(30)


def create_token(ctx: Context, name: str) -> tuple[ApiToken, str]:
    value = new_token_value()
    with ctx.stores.unit_of_work() as uow:
        token = uow.api_tokens.add(ids.new_id(ids.API_TOKEN), name, value, ctx.clock())
    return token, value


def authenticate(ctx: Context, value: str) -> ApiToken:
    """The active token ``value`` names, or 401 E0000011.

    A token this process found active within ``API_TOKEN_CACHE_SECONDS`` is
    not looked up again, unless its use is due to be recorded."""
    if not value:
        raise InvalidToken()
    now = ctx.clock()
    digest = token_hash(value)
    cache = ctx.stores.api_token_cache
    cached = cache.get(digest)
    if cached is not None and not _use_due(cached, now):
        return cached
    with ctx.stores.unit_of_work() as uow:
        token = uow.api_tokens.active_by_token(value)
        if token is None:
            raise InvalidToken()
        # Record use at minute granularity: a write on every request would
        # serialise all admin calls on the token row.
        if _use_due(token, now):
            uow.api_tokens.touch(token.id, now)
            token = replace(token, last_used=now)
    cache.put(digest, token)
    return token


def _use_due(token: ApiToken, now: datetime) -> bool:
    return token.last_used is None or now - token.last_used > LAST_USED_GRANULARITY


def list_tokens(ctx: Context) -> list[ApiToken]:
    with ctx.stores.unit_of_work() as uow:
        return uow.api_tokens.list()


def revoke_token(ctx: Context, token_id: str) -> bool:
    with ctx.stores.unit_of_work() as uow:
        revoked = uow.api_tokens.revoke(token_id, ctx.clock())
    ctx.stores.api_token_cache.forget(token_id)
    return revoked


def bootstrap_admin_token(ctx: Context) -> str | None:
    """On the first start of an empty database: create an admin token, write it
    to ``instance/admin-token`` (mode 0600) and return it; otherwise None."""
    with ctx.stores.unit_of_work() as uow:
        if uow.api_tokens.count() > 0:
            return None
        value = new_token_value()
        uow.api_tokens.add(ids.new_id(ids.API_TOKEN), "admin (first start)", value, ctx.clock())
    path: Path = ctx.settings.instance_path / ADMIN_TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)
    return value
