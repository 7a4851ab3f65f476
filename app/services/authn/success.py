"""What SUCCESS does: a one-time ``sessionToken`` (and a remembered device),
the lockout count cleared, the factors enrolled in the flow made active, and
``lastLogin``. An unlock ends at SUCCESS without a session: the user signs in
afresh."""

from __future__ import annotations

from datetime import timedelta

from app.domain.authn import Progress, RecoveryType, Status
from app.domain.factors import FactorStatus
from app.services.authn.call import Call, okta_timestamp
from app.services.authn.lockout import authentication_failed, unlock
from app.services.authn.view import View
from app.services.context import Context


def success(ctx: Context, call: Call) -> View:
    """The SUCCESS answer; its sessionToken (and a remembered device) are
    staged in ``call.also``."""
    tx, user = call.tx, call.user
    now = ctx.clock()
    recovery = tx.progress.recovery_type
    if recovery is RecoveryType.UNLOCK:
        return View(Status.SUCCESS, user, relay_state=tx.relay_state, recovery_type=recovery.value)
    if not call.policy.sign_on.access_allowed:  # no session for a denied user, whatever path
        raise authentication_failed()
    grant = {
        "user_id": user.id,
        "amr": ["pwd", *tx.progress.amr] if tx.password_verified_at else list(tx.progress.amr),
        "password_verified_at": tx.password_verified_at,
        "factor_verified_at": tx.factor_verified_at,
        "created": okta_timestamp(now),
        "expires_at": okta_timestamp(now + timedelta(seconds=ctx.settings.session_token_ttl)),
        "idle_minutes": call.policy.sign_on.max_session_idle_minutes,
        "lifetime_minutes": call.policy.sign_on.max_session_lifetime_minutes,
        "persistent_cookie": call.policy.sign_on.use_persistent_cookie,
    }
    ttl = ctx.settings.session_token_ttl
    token, write = ctx.stores.session_tokens.staged(grant, ttl)  # Redis expires it too
    call.also.append(write)
    call.also.append(ctx.stores.failed_attempts.staged_clear(user.id))  # a full sign-in
    if tx.remember_device and tx.device_token and tx.progress.mfa_verified:
        lifetime = call.policy.sign_on.factor_lifetime_minutes * 60
        call.also.append(ctx.stores.devices.remember(user.id, tx.device_token, lifetime))
    return View(
        Status.SUCCESS,
        user,
        expires_at=now + timedelta(seconds=ttl),
        session_token=token,
        relay_state=tx.relay_state,
        recovery_type=recovery.value if recovery else None,
    )


def after_success(ctx: Context, call: Call, view: View) -> View:
    """What SUCCESS changes beyond Redis, once the transaction is won."""
    tx, user = call.tx, call.user
    if tx.progress.recovery_type is RecoveryType.UNLOCK:  # the user signs in afresh
        unlock(ctx, user.id)
        return view
    _activate_enrollments(ctx, user.id, tx.progress)
    with ctx.stores.unit_of_work() as uow:
        uow.users.touch_last_login(user.id, ctx.clock())
    return view


def _activate_enrollments(ctx: Context, user_id: str, progress: Progress) -> None:
    """At SUCCESS, the factors enrolled and proven in the transaction become
    active (unless an admin removed or replaced them meanwhile)."""
    if not progress.enrolled_factor_ids:
        return
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        for factor_id in progress.enrolled_factor_ids:
            factor = uow.factors.get(user_id, factor_id)
            if factor is not None and factor.status is FactorStatus.PENDING_ACTIVATION:
                factor.status = FactorStatus.ACTIVE
                factor.last_updated = now
                uow.factors.save(factor)
