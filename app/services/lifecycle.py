"""User lifecycle and credentials operations (Okta's User Lifecycle and
User Credentials references).

Each operation first checks ``LIFECYCLE`` in app.domain.users, so the
statuses an operation accepts, the error it gives otherwise and the
``_links`` a user shows all come from one table.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from app.domain.errors import ApiError
from app.domain.passwords import PasswordPolicy
from app.domain.users import LIFECYCLE, User, UserStatus
from app.services import activation, credentials, factors, policies, sessions
from app.services.context import Context
from app.services.users import find_user
from app.store import UnitOfWork

S = UserStatus


def _check(user: User, operation: str) -> None:
    op = LIFECYCLE[operation]
    if user.status not in op.allowed_from or (op.needs_password and not user.has_password):
        if operation == "activate" and user.status != S.DEPROVISIONED:
            raise ApiError("E0000016")
        causes = [op.error_cause] if op.error_cause else []
        raise ApiError(op.error_code, detail=op.error_detail, causes=causes)


def activate(ctx: Context, id_or_login: str, *, send_email: bool) -> dict[str, Any]:
    """STAGED or DEPROVISIONED → ACTIVE (with a password) or PROVISIONED."""
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "activate")
        if user.has_password:
            user.set_status(S.ACTIVE, now)
            user.activated = now
        else:
            user.set_status(S.PROVISIONED, now)
        token = None
        if not (user.status == S.ACTIVE and send_email):
            # Before the save: an e-mail the relay refuses leaves the user as it was.
            token = activation.issue_activation(ctx, user, send_email=send_email)
        uow.users.save(user)
    return {} if send_email or token is None else _activation_body(ctx, token)


def reactivate(ctx: Context, id_or_login: str, *, send_email: bool) -> dict[str, Any]:
    """PROVISIONED only: a fresh activation token (the old one stops working)."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "reactivate")
    token = activation.issue_activation(ctx, user, send_email=send_email)
    return {} if send_email else _activation_body(ctx, token)


def _activation_body(ctx: Context, token: str) -> dict[str, Any]:
    return {"activationUrl": activation.activation_url(ctx, token), "activationToken": token}


def deactivate_in(ctx: Context, uow: UnitOfWork, user: User) -> None:
    _check(user, "deactivate")
    user.set_status(S.DEPROVISIONED, ctx.clock())
    user.activated = None
    uow.users.save(user)


def end_access(ctx: Context, uow: UnitOfWork, user_id: str, *, links: bool = True) -> None:
    """End the user's sessions (and, with ``links``, its activation and
    recovery links) before ``uow`` commits: :func:`sessions.end_all_before_commit`."""
    if links:
        activation.forget_tokens(ctx, user_id)
    sessions.end_all_before_commit(ctx, uow, user_id)


def deactivate(ctx: Context, id_or_login: str) -> dict[str, Any]:
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        deactivate_in(ctx, uow, user)
        end_access(ctx, uow, user.id)
    return {}


def delete(ctx: Context, id_or_login: str) -> None:
    """A first delete deactivates; deleting a DEPROVISIONED user removes it."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        if user.status != S.DEPROVISIONED:
            deactivate_in(ctx, uow, user)
        else:
            uow.groups.remove_user_everywhere(user.id, ctx.clock())
            uow.users.delete(user.id)
        end_access(ctx, uow, user.id)


def _transition(
    ctx: Context, id_or_login: str, operation: str, to: UserStatus, *, end_sessions: bool = False
) -> User:
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, operation)
        user.set_status(to, ctx.clock())
        uow.users.save(user)
        if end_sessions:
            end_access(ctx, uow, user.id, links=False)
        return user


def suspend(ctx: Context, id_or_login: str) -> dict[str, Any]:
    _transition(ctx, id_or_login, "suspend", S.SUSPENDED, end_sessions=True)
    return {}


def unsuspend(ctx: Context, id_or_login: str) -> dict[str, Any]:
    _transition(ctx, id_or_login, "unsuspend", S.ACTIVE)
    return {}


def unlock(ctx: Context, id_or_login: str) -> dict[str, Any]:
    _transition(ctx, id_or_login, "unlock", S.ACTIVE)
    return {}


def expire_password(ctx: Context, id_or_login: str, *, temp_password: bool) -> User | str:
    """→ PASSWORD_EXPIRED. With ``tempPassword`` the password is replaced by a
    random one, returned once; otherwise the updated user is returned."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "expire_password")
        temp = None
        if temp_password:
            temp = _temporary_password(policies.password_complexity(ctx, uow, user), user)
            credentials.set_password(ctx, uow, user, temp, check_history=False)
        user.set_status(S.PASSWORD_EXPIRED, ctx.clock())
        uow.users.save(user)
    return temp if temp is not None else user


def _temporary_password(policy: PasswordPolicy, user: User) -> str:
    """A random password that meets the whole policy for this user (character
    classes, and no part of the login), drawn again until it does."""
    pools = [string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#$%&*+-=?@^_"]
    alphabet = "".join(pools)
    length = max(policy.min_length, 12)
    while True:
        chars = [secrets.choice(pool) for pool in pools]
        chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        candidate = "".join(chars)
        if not policy.unmet(candidate, user.profile):
            return candidate


def reset_password(ctx: Context, id_or_login: str, *, send_email: bool) -> dict[str, Any]:
    """→ RECOVERY with a one-time recovery token; the old password stops working."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "reset_password")
        user.set_status(S.RECOVERY, ctx.clock())
        # Before the save: an e-mail the relay refuses leaves the user as it was.
        token = activation.issue_recovery(ctx, user, send_email=send_email, uow=uow)
        uow.users.save(user)
        ctx.stores.one_time_tokens.revoke_for_user(activation.ACTIVATION, user.id)
        end_access(ctx, uow, user.id, links=False)  # the recovery link just sent stays
    return {} if send_email else {"resetPasswordUrl": activation.reset_password_url(ctx, token)}


def reset_factors(ctx: Context, id_or_login: str) -> dict[str, Any]:
    """Remove every enrolled factor; the user enrolls again at next sign-in."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "reset_factors")
        factors.reset_all(ctx, uow, user)
        end_access(ctx, uow, user.id, links=False)
    return {}


def change_password(
    ctx: Context, id_or_login: str, old_password: str, new_password: str
) -> dict[str, Any]:
    """Old and new password; PASSWORD_EXPIRED users become ACTIVE."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "change_password")
        credentials.require_old_password(ctx, user, old_password, "oldPassword")
        # An expired password must change now, whatever its age.
        expired = user.status == S.PASSWORD_EXPIRED
        credentials.set_password(ctx, uow, user, new_password, min_age=not expired)
        if user.status == S.PASSWORD_EXPIRED:
            user.set_status(S.ACTIVE, ctx.clock())
        uow.users.save(user)
        end_access(ctx, uow, user.id)
    return credentials.credentials_view(user)


def change_recovery_question(
    ctx: Context, id_or_login: str, password: str, question: str, answer: str
) -> dict[str, Any]:
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "change_recovery_question")
        credentials.require_old_password(ctx, user, password, "password")
        credentials.set_recovery_question(user, question, answer, ctx.hasher)
        user.last_updated = ctx.clock()
        uow.users.save(user)
    return credentials.credentials_view(user)


def forgot_password(ctx: Context, id_or_login: str, *, send_email: bool) -> dict[str, Any]:
    """Issue a recovery token without changing the user's status."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "forgot_password")
    token = activation.issue_recovery(ctx, user, send_email=send_email)
    return {} if send_email else {"resetPasswordUrl": activation.reset_password_url(ctx, token)}


def forgot_password_with_answer(
    ctx: Context, id_or_login: str, answer: str, new_password: str
) -> dict[str, Any]:
    """Set a new password by answering the recovery question."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        _check(user, "forgot_password")
        if not credentials.verify_recovery_answer(ctx, user, answer):
            raise ApiError(
                "E0000014",
                causes=["recovery_question.answer: The recovery question answer did not match"],
            )
        credentials.set_password(ctx, uow, user, new_password)
        user.set_status(S.ACTIVE, ctx.clock())
        uow.users.save(user)
        end_access(ctx, uow, user.id)
    return credentials.credentials_view(user)


def reset_demo_user(ctx: Context, user_id: str, password: str) -> User:
    """``seed-demo`` on an existing user: set the known password, make it ACTIVE."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, user_id)
        credentials.set_password(ctx, uow, user, password, check_history=False)
        if user.status != S.ACTIVE:
            user.set_status(S.ACTIVE, ctx.clock())
            user.activated = user.activated or ctx.clock()
        uow.users.save(user)
    return user
