"""Activation and password-recovery tokens, and the e-mails that carry them.

Tokens are one-time, stored hashed in Redis (app.store.one_time_tokens).
The URLs point at this server (``BASE_URL``): ``/welcome/{token}`` and
``/signin/reset-password/{token}``, the paths Okta's own links use, which
the sign-in page serves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.delivery import DeliveryError, Message
from app.domain.errors import ApiError, CarrierUnreachable
from app.domain.policy import PasswordSettings
from app.domain.users import User
from app.services import policies
from app.services.context import Context
from app.store import UnitOfWork

ACTIVATION = "activation"
RECOVERY = "recovery"
UNLOCK = "unlock"
log = logging.getLogger("portcullis.users")


def activation_url(ctx: Context, token: str) -> str:
    return ctx.url(f"/welcome/{token}")


def reset_password_url(ctx: Context, token: str) -> str:
    return ctx.url(f"/signin/reset-password/{token}")


class EmailNotDelivered(ApiError):
    """The relay did not take an activation or reset e-mail: 502 E0000009 when
    it answered with an error, 503 E0000010 with ``Retry-After`` when it could
    not be reached (as :class:`CarrierUnreachable`).

    Callers decide whether the e-mail was the point of the request (answer the
    error) or a courtesy (log it and carry on, as creating a user does).
    """

    def __init__(self, unreachable: bool, retry_after: int) -> None:
        if unreachable:
            carrier = CarrierUnreachable("email", retry_after)
            super().__init__(carrier.code, causes=carrier.causes, headers=carrier.headers)
        else:
            super().__init__(
                "E0000009",
                summary="The e-mail could not be delivered. Try again later.",
                status=502,
            )


def _send(ctx: Context, user: User, message: Message) -> None:
    """Hand an e-mail to the delivery; :class:`EmailNotDelivered` when the
    relay cannot take it (logged here, with the user it was for)."""
    try:
        ctx.delivery.send(message)
    except DeliveryError as exc:
        log.warning(
            "e-mail %r for user %s to %s could not be delivered: %s",
            message.subject,
            user.id,
            message.to,
            exc,
        )
        raise EmailNotDelivered(exc.unreachable, ctx.settings.outage_retry_after) from exc


def _issue(
    ctx: Context,
    user: User,
    kind: str,
    ttl: int,
    email: tuple[str, Callable[[str], str]] | None,
) -> str:
    """A new one-time token of ``kind`` for ``user``. ``email``: its subject and
    body (given the token), sent first: the token replaces the previous one
    only once the e-mail is on its way."""
    tokens = ctx.stores.one_time_tokens
    token = tokens.new_token()
    if email is not None:
        subject, body = email
        to = str(user.profile.get("email") or user.login)
        _send(ctx, user, Message("email", to, subject, body(token), valid_for=ttl))
    return tokens.issue(kind, user.id, ttl, token)


def issue_activation(ctx: Context, user: User, *, send_email: bool) -> str:
    """A new activation token, e-mailed first when asked."""
    ttl = ctx.settings.activation_token_ttl
    subject = f"Activate your {ctx.settings.org_name} account"

    def body(token: str) -> str:
        return (
            f"Hello {user.profile.get('firstName', '')},\n\n"
            f"An account was created for you ({user.login}). Activate it here:\n"
            f"{activation_url(ctx, token)}\n\n"
            f"The link works once and expires in {ttl // 3600} hours.\n"
        )

    return _issue(ctx, user, ACTIVATION, ttl, (subject, body) if send_email else None)


def recovery_ttl(ctx: Context, settings: PasswordSettings) -> int:
    """Seconds a recovery (or unlock) token lives: the password policy's
    ``recoveryToken.tokenLifetimeMinutes`` when it sets one, else RECOVERY_TOKEN_TTL."""
    minutes = settings.recovery_token_lifetime_minutes
    return minutes * 60 if minutes else ctx.settings.recovery_token_ttl


def _lifetime_text(seconds: int) -> str:
    minutes = max(seconds // 60, 1)
    if minutes % 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''}"


def issue_recovery(
    ctx: Context,
    user: User,
    *,
    send_email: bool,
    uow: UnitOfWork | None = None,
    settings: PasswordSettings | None = None,
) -> str:
    """A new recovery token, e-mailed first when asked (as :func:`issue_activation`).
    Its lifetime comes from ``settings`` (the user's password policy) when the
    caller has them, else from the policy read in ``uow`` (or a new one)."""
    if settings is None:
        if uow is None:
            with ctx.stores.unit_of_work() as own:
                settings = policies.effective_for(ctx, own, user).password
        else:
            settings = policies.effective_for(ctx, uow, user).password
    ttl = recovery_ttl(ctx, settings)
    subject = f"Reset your {ctx.settings.org_name} password"

    def body(token: str) -> str:
        return (
            f"Hello {user.profile.get('firstName', '')},\n\n"
            f"A password reset was requested for {user.login}. Reset it here:\n"
            f"{reset_password_url(ctx, token)}\n\n"
            f"The link works once and expires in {_lifetime_text(ttl)}. If you did not "
            "ask for this, ignore this message.\n"
        )

    return _issue(ctx, user, RECOVERY, ttl, (subject, body) if send_email else None)


def issue_unlock(ctx: Context, user: User, *, settings: PasswordSettings) -> str:
    """A new self-service unlock token, e-mailed first (as :func:`issue_recovery`);
    it lives as long as the policy's recovery tokens."""
    org = ctx.settings.org_name

    def body(token: str) -> str:
        return (
            f"Someone asked to unlock the {org} account {user.login}. "
            f"To unlock it, open {ctx.url(f'/signin/unlock/{token}')}\n\n"
            "If it was not you, ignore this message."
        )

    subject = f"{org}: unlock your account"
    return _issue(ctx, user, UNLOCK, recovery_ttl(ctx, settings), (subject, body))


def forget_tokens(ctx: Context, user_id: str) -> None:
    """Revoke every outstanding activation, recovery and unlock token of a user
    (a new password, or a change of status, voids every link sent before)."""
    for kind in (ACTIVATION, RECOVERY, UNLOCK):
        ctx.stores.one_time_tokens.revoke_for_user(kind, user_id)
