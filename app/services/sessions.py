"""Sessions: created from a one-time ``sessionToken``, kept alive by use or
refresh, ended by sign-out, by an admin, or by what changes a user's
credentials (password change or reset, deactivation, suspension, factor reset).

A session expires after its idle timeout (renewed by a refresh) and never
outlives its absolute lifetime; both come from the sign-on policy in force
when the user signed in, carried in the ``sessionToken``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.clock import okta_timestamp, parse_timestamp
from app.domain.errors import ApiError, NotFound
from app.domain.users import UserStatus
from app.services.context import Context
from app.store import UnitOfWork

log = logging.getLogger("portcullis.sessions")
#: Used when a grant carries no idle timeout (the sign-on policy's default).
DEFAULT_IDLE_MINUTES = 120


@dataclass
class Session:
    """A live session as the API layer renders it."""

    record: dict[str, Any]
    expires_at: datetime
    cookie: str | None = None  # only right after creation

    @property
    def id(self) -> str:
        return str(self.record["id"])


def idp_id(ctx: Context) -> str:
    """A stable id for this server as the identity provider (``idp.id``)."""
    digest = hashlib.sha256(f"idp:{ctx.settings.secret_key}".encode()).hexdigest()
    return "00o" + digest[:17]


def _expiry(record: dict[str, Any], now: datetime) -> datetime:
    idle = now + timedelta(seconds=int(record["idle_seconds"]))
    absolute = record.get("absolute_expires_at")
    return min(idle, parse_timestamp(absolute)) if absolute else idle


def _ttl(expires_at: datetime, now: datetime) -> int:
    return max(int((expires_at - now).total_seconds()), 1)


def create(ctx: Context, session_token: Any) -> Session:
    """Redeem a ``sessionToken`` (once) for a new session."""
    if not isinstance(session_token, str) or not session_token:
        raise ApiError("E0000005")
    grant = ctx.stores.session_tokens.consume(session_token)
    if grant is None or parse_timestamp(grant["expires_at"]) <= ctx.clock():
        raise ApiError("E0000005")
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(grant["user_id"])
        if user is None or user.status not in (UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED):
            raise ApiError("E0000005")
        mfa_active = any(f.active for f in uow.factors.for_user(user.id))
    now = ctx.clock()
    idle_minutes = int(grant.get("idle_minutes") or DEFAULT_IDLE_MINUTES)
    lifetime_minutes = int(grant.get("lifetime_minutes") or 0)
    record: dict[str, Any] = {
        "user_id": user.id,
        "login": user.login,
        "name": " ".join(
            str(p) for p in (user.profile.get("firstName"), user.profile.get("lastName")) if p
        ),
        "created_at": okta_timestamp(now),
        "last_password_verification": grant.get("password_verified_at"),
        "last_factor_verification": grant.get("factor_verified_at"),
        "amr": list(grant.get("amr") or []),
        "mfa_active": mfa_active,
        "idle_seconds": idle_minutes * 60,
        "absolute_expires_at": (
            okta_timestamp(now + timedelta(minutes=lifetime_minutes)) if lifetime_minutes else None
        ),
        "persistent_cookie": bool(grant.get("persistent_cookie")),
    }
    expires_at = _expiry(record, now)
    record["expires_at"] = okta_timestamp(expires_at)
    session_id, cookie = ctx.stores.sessions.create(record, _ttl(expires_at, now))
    record = {**record, "id": session_id}
    return Session(record, expires_at, cookie)


def _live(ctx: Context, record: dict[str, Any] | None) -> Session | None:
    if record is None:
        return None
    expires_at = parse_timestamp(record["expires_at"])
    if expires_at <= ctx.clock():  # the app's clock, not only Redis's TTL
        ctx.stores.sessions.delete(record)
        return None
    return Session(record, expires_at)


def get(ctx: Context, session_id: str) -> Session:
    session = _live(ctx, ctx.stores.sessions.get(session_id))
    if session is None:
        raise NotFound(session_id, "Session")
    return session


def by_cookie(ctx: Context, cookie: str | None) -> Session | None:
    if not cookie:
        return None
    return _live(ctx, ctx.stores.sessions.by_cookie(cookie))


def me(ctx: Context, cookie: str | None) -> Session:
    """The session of the ``sid`` cookie; 404 E0000007 without one, as Okta answers."""
    session = by_cookie(ctx, cookie)
    if session is None:
        raise NotFound("me", "Session")
    return session


def refresh(ctx: Context, session: Session) -> Session:
    """Extend the idle timeout; the absolute lifetime never moves."""
    now = ctx.clock()
    expires_at = _expiry(session.record, now)
    record = {**session.record, "expires_at": okta_timestamp(expires_at)}
    ctx.stores.sessions.save(record, _ttl(expires_at, now))
    return Session(record, expires_at)


def end(ctx: Context, session: Session) -> None:
    ctx.stores.sessions.delete(session.record)


def end_all_for_user(ctx: Context, user_id: str) -> None:
    """End every session of the user (sign-out everywhere, credential changes)."""
    ctx.stores.sessions.delete_for_user(user_id)
    log.info("ended the sessions of user %s", user_id)


def end_all_before_commit(ctx: Context, uow: UnitOfWork, user_id: str) -> None:
    """End every session of the user as the last step of ``uow``, which holds
    a change that must end them (a suspension, a new password, factors reset).

    The change is written first (its row locked), then the sessions end in
    Redis, then ``uow`` commits. If Redis cannot end them, nothing commits
    (503, and a retry does it all); if the commit fails after, the sessions
    are ended and the user unchanged, which errs on the safe side. The other
    order left a user suspended, answered 503, with its sessions alive once
    Redis was back, and the retry refused as "already suspended"."""
    uow.session.flush()
    end_all_for_user(ctx, user_id)
