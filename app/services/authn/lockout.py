"""Lockout: count attempts before they are judged, lock and unlock, and prove a
factor under the lockout rules.

An attempt (a password, a code, an answer) takes a slot in the user's
failed-attempt counter before it is judged; a right one gives its slot back
or (at SUCCESS) clears the count; the one in the last slot that fails locks
the user. So no more than ``maxAttempts`` guesses are ever judged, however
many arrive at once.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, NoReturn

from app.domain.authn import Action, Status
from app.domain.errors import ApiError, InvalidToken
from app.domain.factors import Factor
from app.domain.policy import EffectivePolicy
from app.domain.users import User, UserStatus
from app.services import factor_verification, webauthn_factors
from app.services.authn.call import Call
from app.services.authn.inputs import required
from app.services.authn.view import Answered, View
from app.services.context import Context
from app.store.transactions import Busy, Conflict, Loaded

log = logging.getLogger("portcullis.authn")


def authentication_failed() -> ApiError:
    return ApiError("E0000004")


def burn_hash(ctx: Context, password: str) -> None:
    """Refuse an unknown, unusable or locked user at the cost of a known one:
    one hash (on a decoy), and one Redis round trip, where a known user's
    attempt takes its lockout slot. The round trip also keeps a Redis outage
    from being an oracle: every user's attempt answers 503 alike, not a 401
    for the unknown and a 503 for the known (app.api.outages)."""
    ctx.stores.failed_attempts.take_none()
    ctx.hasher.verify_decoy(password)


def unlock(ctx: Context, user_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is not None and user.status == UserStatus.LOCKED_OUT:
            user.set_status(UserStatus.ACTIVE, ctx.clock())
            uow.users.save(user)
    ctx.stores.failed_attempts.clear(user_id)


def take_password_slot(
    ctx: Context, user: User, policy: EffectivePolicy, password: str
) -> int | View | None:
    """Count this password attempt before it is judged; or refuse it unjudged,
    answering as for a locked user (:func:`locked_out`), when the user is
    locked or the attempt's slot is beyond ``maxAttempts``.

    The user is read again once the slot is taken, so a lock committed
    before (by the attempt in the last slot, which cleared the counter
    after locking) is seen. A refused attempt still pays for one hash: the
    time taken does not tell it apart. None: lockout is off, nothing counted."""
    maximum = policy.password.lockout.max_attempts
    if user.status == UserStatus.LOCKED_OUT:
        burn_hash(ctx, password)
        return locked_out(policy)
    if not maximum:
        return None
    slot = ctx.stores.failed_attempts.take_slot(user.id)
    if slot > maximum:
        _beyond_limit(ctx, user.id)
    elif _now_locked(ctx, user.id):
        give_back(ctx, user.id, slot)
    else:
        return slot
    burn_hash(ctx, password)
    return locked_out(policy)


def _now_locked(ctx: Context, user_id: str) -> bool:
    with ctx.stores.reading() as uow:
        return uow.users.status_of(user_id) == UserStatus.LOCKED_OUT


def _lock(ctx: Context, user_id: str) -> bool:
    """Lock the user out if it can be; True if this call did."""
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is None or user.status not in (UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED):
            return False
        user.set_status(UserStatus.LOCKED_OUT, ctx.clock())
        uow.users.save(user)
    return True


def attempt_failed(ctx: Context, user_id: str, policy: EffectivePolicy, slot: int | None) -> bool:
    """A judged attempt failed. It is counted already (its slot); the one in
    the last slot locks the user. True if the user is locked out now."""
    maximum = policy.password.lockout.max_attempts
    if not maximum or slot is None or slot < maximum:
        return False
    _lock(ctx, user_id)
    # The lock is the state now: the slots of this round are spent, and
    # whoever unlocks (admin, auto-unlock, self-service) starts from zero.
    ctx.stores.failed_attempts.clear(user_id)
    log.warning("user %s locked out after %d failed attempts", user_id, slot)
    return True


def _beyond_limit(ctx: Context, user_id: str) -> None:
    """An attempt whose slot is past ``maxAttempts``: judged nothing. The
    attempt in the last slot locks the user when it fails; if it did not
    (it passed, or its worker died), more than ``maxAttempts`` attempts came
    at once: lock now."""
    if _lock(ctx, user_id):
        ctx.stores.failed_attempts.clear(user_id)
        log.warning("user %s locked out: attempts beyond maxAttempts", user_id)


def give_back(ctx: Context, user_id: str | None, slot: int | None) -> None:
    """Undo the count of an attempt that judged nothing."""
    if user_id is not None and slot is not None:
        ctx.stores.failed_attempts.give_back(user_id)


def password_failed(ctx: Context, user: User, policy: EffectivePolicy, slot: int | None) -> View:
    locked = attempt_failed(ctx, user.id, policy, slot)
    if locked and policy.password.lockout.show_lockout_failures:
        return locked_out(policy)
    raise authentication_failed()


def locked_out(policy: EffectivePolicy) -> View:
    if not policy.password.lockout.show_lockout_failures:
        raise authentication_failed()
    return View(Status.LOCKED_OUT, policy=policy)


def _dead(policy: EffectivePolicy) -> View:
    """The answer on a sign-in transaction whose user is locked out: the
    LOCKED_OUT answer (no stateToken) when the policy shows lockouts, else the
    401 E0000011 of any ended transaction. The same whatever the call sent."""
    if not policy.password.lockout.show_lockout_failures:
        raise InvalidToken()
    return View(Status.LOCKED_OUT, policy=policy)


#: A guess refused for its slot in a recovery: the answer of the guess that
#: used up the last slot (the transaction ends either way).
_EXHAUSTED = {Action.RECOVERY_ANSWER: "E0000087"}


def admit(ctx: Context, call: Call, state_token: str, action: Action) -> Call:
    """Refuse, unjudged, a call on a sign-in transaction whose user is locked
    out (the transaction ends: a lock kills the transactions opened before
    it), and a guess whose slot is beyond ``maxAttempts``. Recovery
    transactions (unlock, forgot password) live on for a locked user until
    the new password is set; after that they are sign-ins like any other."""
    recovering = call.tx.progress.recovering
    maximum = call.policy.password.lockout.max_attempts
    if not recovering and call.user.status == UserStatus.LOCKED_OUT:
        give_back(ctx, call.user.id, call.slot)
    elif call.slot is not None and maximum and call.slot > maximum:
        _beyond_limit(ctx, call.user.id)
    else:
        return call
    _end(ctx, call.loaded, state_token)
    if recovering:
        raise ApiError(_EXHAUSTED.get(action, "E0000069"))
    raise Answered(_dead(call.policy))


def _end(ctx: Context, loaded: Loaded | None, state_token: str) -> None:
    """End the transaction, leased by this call or (a read) leased now."""
    store = ctx.stores.transactions
    with contextlib.suppress(Busy):  # the call holding it will find the lock too
        loaded = loaded or store.lease(state_token)
        if loaded is not None:
            finish_quietly(ctx, loaded)


def finish_quietly(ctx: Context, loaded: Loaded) -> None:
    with contextlib.suppress(Conflict):
        ctx.stores.transactions.finish(loaded)


# ---- proving a factor -----------------------------------------------------------------------


def check_factor(ctx: Context, call: Call, factor: Factor, value: str) -> None:
    """The factor's check as far as it goes without Redis; the rest (a TOTP
    step used once, a delivered code used once) runs inside the save. The
    attempt was counted with the lease (``call.slot``); a pass resets the
    count together with the save."""
    call.judged = True
    try:
        call.pending = factor_verification.prepare(ctx, factor, value)
    except ApiError as exc:
        factor_failed(ctx, call, exc)
    call.also.append(ctx.stores.failed_attempts.staged_clear(call.user.id))


def check_assertion(ctx: Context, call: Call, factor: Factor, body: dict[str, Any]) -> None:
    """A WebAuthn answer against the transaction's challenge, judged as a code
    is: counted with the lease, a refusal stays counted, a pass resets the
    count with the save. The signature counter moves in its own commit."""
    call.judged = True
    try:
        for name in webauthn_factors.ASSERTION_FIELDS:
            required(body, name)
        challenge = webauthn_factors.challenge_of(call.tx.progress.webauthn_challenge)
        with ctx.stores.unit_of_work() as uow:
            webauthn_factors.check_assertion(ctx, uow, factor, challenge, body)
    except ApiError as exc:
        factor_failed(ctx, call, exc)
    call.also.append(ctx.stores.failed_attempts.staged_clear(call.user.id))


def factor_failed(ctx: Context, call: Call, exc: ApiError) -> NoReturn:
    """A wrong code or answer stays counted; the one in the last slot locks
    the user and ends the transaction (403 E0000069)."""
    if exc.code in ("E0000068", "E0000082") and attempt_failed(
        ctx, call.user.id, call.policy, call.slot
    ):
        if call.loaded is not None:  # locked out: the transaction ends here
            finish_quietly(ctx, call.loaded)
        raise ApiError("E0000069") from exc
    raise exc
