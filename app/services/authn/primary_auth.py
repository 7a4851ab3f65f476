"""Primary authentication: ``POST /api/v1/authn`` with a username and password,
or with an e-mailed activation token. Either begins a transaction."""

from __future__ import annotations

from typing import Any

from app.domain.authn import CANNOT_SIGN_IN, Progress, RecoveryType, Status, auto_unlock_due
from app.domain.errors import ValidationFailed
from app.domain.policy import EffectivePolicy, FactorPromptMode
from app.domain.users import User, UserStatus
from app.services import activation, credentials, sessions
from app.services.authn import transaction
from app.services.authn.call import Tx, okta_timestamp
from app.services.authn.inputs import string
from app.services.authn.lockout import (
    authentication_failed,
    burn_hash,
    password_failed,
    take_password_slot,
    unlock,
)
from app.services.authn.view import View
from app.services.context import Context


def _mfa_waived(
    ctx: Context, user: User, policy: EffectivePolicy, device: str | None, sid: str | None
) -> bool:
    """Whether the sign-on rule's prompt mode lets this sign-in skip MFA."""
    sign_on = policy.sign_on
    if not sign_on.require_factor:
        return False
    if sign_on.factor_prompt_mode is FactorPromptMode.DEVICE:
        return bool(device) and ctx.stores.devices.is_remembered(user.id, str(device))
    if sign_on.factor_prompt_mode is FactorPromptMode.SESSION:
        session = sessions.by_cookie(ctx, sid)
        return (
            session is not None
            and session.record["user_id"] == user.id
            and "mfa" in session.record.get("amr", [])
        )
    return False


def primary(ctx: Context, body: dict[str, Any], sid: str | None = None) -> View:
    """``POST /api/v1/authn`` with a username and password.
    ``sid``: the client's session cookie, if it sent one (factorPromptMode SESSION)."""
    username = string(body, "username")
    password = string(body, "password")
    assert username is not None and password is not None
    options = body.get("options") or {}
    context = body.get("context") or {}
    if not isinstance(options, dict) or not isinstance(context, dict):
        raise ValidationFailed("authRequest", ["options: must be an object"])
    relay_state = string(body, "relayState", required=False)
    now = ctx.clock()
    with ctx.stores.reading() as uow:
        user = uow.users.by_login(username) or (
            # A short name has no "@" (a login has exactly one): no search otherwise.
            uow.users.by_shortname(username) if "@" not in username else None
        )
        policy = transaction.effective_for(ctx, uow, user) if user is not None else None
    if user is None or policy is None or not user.has_password or user.status in CANNOT_SIGN_IN:
        burn_hash(ctx, password)
        raise authentication_failed()
    if user.status == UserStatus.RECOVERY:  # an admin reset: the old password is void
        burn_hash(ctx, password)
        raise authentication_failed()
    lockout = policy.password.lockout
    if user.status == UserStatus.LOCKED_OUT and auto_unlock_due(user, lockout, now):
        unlock(ctx, user.id)
        user.status = UserStatus.ACTIVE
    slot = take_password_slot(ctx, user, policy, password)
    if isinstance(slot, View):  # refused before the password was judged
        return slot
    hash_before = user.password_hash
    if not credentials.verify_password(ctx, user, password):
        return password_failed(ctx, user, policy, slot)
    if not policy.sign_on.access_allowed:  # a sign-on rule denies this user: as a wrong
        return password_failed(ctx, user, policy, slot)  # password, to the lockout too
    if user.password_hash != hash_before:  # an imported or weaker hash, upgraded
        with ctx.stores.unit_of_work() as uow:
            fresh = uow.users.get(user.id)
            if fresh is not None:
                fresh.password_hash = user.password_hash
                uow.users.save(fresh)
    device = context.get("deviceToken")
    tx = Tx(
        user_id=user.id,
        status=Status.UNAUTHENTICATED,
        progress=Progress(
            warn_requested=bool(options.get("warnBeforePasswordExpired")),
            multi_optional_enroll=bool(options.get("multiOptionalFactorEnroll")),
        ),
        expires_at="",
        relay_state=relay_state,
        device_token=str(device) if device else None,
        password_verified_at=okta_timestamp(now),
        mfa_waived=_mfa_waived(ctx, user, policy, device, sid),
    )
    # A right password gives back its own slot; it does not reset the count:
    # whoever knows the password could otherwise sign in again between factor
    # guesses and guess codes for ever. SUCCESS resets it (success.success).
    also = [ctx.stores.failed_attempts.staged_give_back(user.id)] if slot is not None else []
    return transaction.begin(ctx, tx, also, policy)


def activate(ctx: Context, body: dict[str, Any]) -> View:
    """``POST /api/v1/authn {"token": activationToken}``: the e-mailed activation
    link. A user without a password chooses one (PASSWORD_RESET), then signs in."""
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise ValidationFailed("authRequest", ["token: The field cannot be left blank"])
    user_id = ctx.stores.one_time_tokens.consume(activation.ACTIVATION, token)
    if user_id is None:
        raise authentication_failed()
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is None or user.status not in (UserStatus.PROVISIONED, UserStatus.STAGED):
            raise authentication_failed()
        if user.has_password:  # activated with the password it was created with
            user.activated = ctx.clock()
            user.set_status(UserStatus.ACTIVE, ctx.clock())
            uow.users.save(user)
        elif user.status == UserStatus.STAGED:
            user.set_status(UserStatus.PROVISIONED, ctx.clock())
            uow.users.save(user)
    relay_state = string(body, "relayState", required=False)
    if user.has_password:
        tx = Tx(user_id, Status.UNAUTHENTICATED, Progress(), "", relay_state=relay_state)
        return transaction.begin(ctx, tx)
    progress = Progress(
        recovery_type=RecoveryType.PASSWORD, recovery_verified=True, activating=True
    )
    tx = Tx(user_id, Status.UNAUTHENTICATED, progress, "", relay_state=relay_state)
    return transaction.begin(ctx, tx)
