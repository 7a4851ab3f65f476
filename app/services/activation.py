"""Activation and password-recovery tokens, and the e-mails that carry them.

Tokens are one-time, stored hashed in Redis (app.store.one_time_tokens).
The URLs point at this server (``BASE_URL``): ``/welcome/{token}`` and
``/signin/reset-password/{token}``, the paths Okta's own links use, which
the sign-in page serves.
"""

from __future__ import annotations

from app.delivery import Message
from app.domain.users import User
from app.services.context import Context

ACTIVATION = "activation"
RECOVERY = "recovery"


def activation_url(ctx: Context, token: str) -> str:
    return ctx.url(f"/welcome/{token}")


def reset_password_url(ctx: Context, token: str) -> str:
    return ctx.url(f"/signin/reset-password/{token}")


def issue_activation(ctx: Context, user: User, *, send_email: bool) -> str:
    token = ctx.stores.one_time_tokens.issue(ACTIVATION, user.id, ctx.settings.activation_token_ttl)
    if send_email:
        ctx.delivery.send(
            Message(
                channel="email",
                to=str(user.profile.get("email") or user.login),
                subject=f"Activate your {ctx.settings.org_name} account",
                body=(
                    f"Hello {user.profile.get('firstName', '')},\n\n"
                    f"An account was created for you ({user.login}). Activate it here:\n"
                    f"{activation_url(ctx, token)}\n\n"
                    f"The link works once and expires in "
                    f"{ctx.settings.activation_token_ttl // 3600} hours.\n"
                ),
            )
        )
    return token


def issue_recovery(ctx: Context, user: User, *, send_email: bool) -> str:
    token = ctx.stores.one_time_tokens.issue(RECOVERY, user.id, ctx.settings.recovery_token_ttl)
    if send_email:
        ctx.delivery.send(
            Message(
                channel="email",
                to=str(user.profile.get("email") or user.login),
                subject=f"Reset your {ctx.settings.org_name} password",
                body=(
                    f"Hello {user.profile.get('firstName', '')},\n\n"
                    f"A password reset was requested for {user.login}. Reset it here:\n"
                    f"{reset_password_url(ctx, token)}\n\n"
                    f"The link works once and expires in "
                    f"{ctx.settings.recovery_token_ttl // 60} minutes. If you did not ask "
                    "for this, ignore this message.\n"
                ),
            )
        )
    return token


def forget_tokens(ctx: Context, user_id: str) -> None:
    """Revoke every outstanding activation and recovery token of a user."""
    for kind in (ACTIVATION, RECOVERY):
        ctx.stores.one_time_tokens.revoke_for_user(kind, user_id)
