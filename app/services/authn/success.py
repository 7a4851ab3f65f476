"""What SUCCESS does: a one-time ``sessionToken`` (and a remembered device),
the lockout count cleared, the factors enrolled in the flow made active, and
``lastLogin``. An unlock ends at SUCCESS without a session: the user signs in
afresh.

The Redis half (:func:`success`) and the database half
(:func:`record_success`) are complete or absent together: the database's is
written first and committed only after the Redis save won, and a commit
that fails then voids the session Redis holds (:func:`undo_success`)."""

from __future__ import annotations

from datetime import timedelta

from app.domain.authn import Progress, RecoveryType, Status
from app.domain.factors import FactorStatus
from app.domain.users import UserStatus
from app.services.authn.call import Call, okta_timestamp
from app.services.authn.lockout import authentication_failed
from app.services.authn.view import View
from app.services.context import Context
from app.store import UnitOfWork


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


def record_success(ctx: Context, call: Call, uow: UnitOfWork) -> None:
    """What SUCCESS changes in the database, in ``uow``, to be committed only
    once the transaction is won in Redis (:func:`transaction.settle`): the
    factors enrolled in the flow made active and ``lastLogin``; for an
    unlock, the user unlocked (its lockout count is cleared with the save)."""
    tx, user = call.tx, call.user
    if tx.progress.recovery_type is RecoveryType.UNLOCK:  # the user signs in afresh
        fresh = uow.users.get(user.id)
        if fresh is not None and fresh.status == UserStatus.LOCKED_OUT:
            fresh.set_status(UserStatus.ACTIVE, ctx.clock())
            uow.users.save(fresh)
        call.also.append(ctx.stores.failed_attempts.staged_clear(user.id))
        return
    _activate_enrollments(ctx, uow, user.id, tx.progress)
    uow.users.touch_last_login(user.id, ctx.clock())


def undo_success(ctx: Context, call: Call, view: View) -> None:
    """The transaction was won in Redis but the database could not commit:
    void what Redis holds for the session (its sessionToken, which the client
    never received, and a remembered device), so that nothing there stands
    for a sign-in the database does not record. The lockout count stays
    cleared: the user did prove every factor the policy asked for."""
    if view.session_token is not None:
        ctx.stores.session_tokens.revoke(view.session_token)
    tx = call.tx
    if tx.remember_device and tx.device_token:
        ctx.stores.devices.forget(call.user.id, tx.device_token)


def _activate_enrollments(ctx: Context, uow: UnitOfWork, user_id: str, progress: Progress) -> None:
    """At SUCCESS, the factors enrolled and proven in the transaction become
    active (unless an admin removed or replaced them meanwhile)."""
    now = ctx.clock()
    for factor_id in progress.enrolled_factor_ids:
        factor = uow.factors.get(user_id, factor_id)
        if factor is not None and factor.status is FactorStatus.PENDING_ACTIVATION:
            factor.status = FactorStatus.ACTIVE
            factor.last_updated = now
            uow.factors.save(factor)
