"""Self-service recovery: forgot password and unlock, by an SMS or voice code
(a transaction in RECOVERY_CHALLENGE) or an e-mailed link (``recovery_token``),
then the recovery question (RECOVERY) where the policy asks for it.

Unknown users, and users the policy does not let recover this way, get the
same answers as everyone else: a decoy transaction no code will satisfy
(``transaction._decoy``), the same throttles, the same e-mail silence.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from app.domain.authn import (
    CANNOT_SIGN_IN,
    RECOVERY_CHANNELS,
    Action,
    Progress,
    RecoveryType,
    Status,
    may_recover,
)
from app.domain.errors import ApiError, InvalidToken, ValidationFailed
from app.domain.policy import EffectivePolicy
from app.domain.users import User
from app.services import activation, credentials, factor_verification
from app.services.authn import transaction
from app.services.authn.call import (
    Call,
    Tx,
    factor_of,
    mark_verified,
    okta_timestamp,
    prior_factors,
)
from app.services.authn.inputs import required, string
from app.services.authn.lockout import attempt_failed, check_factor, finish_quietly
from app.services.authn.view import View
from app.services.context import Context

log = logging.getLogger("portcullis.authn")


def start_recovery(ctx: Context, body: dict[str, Any], recovery_type: RecoveryType) -> View:
    """``/authn/recovery/password`` and ``/authn/recovery/unlock``.

    Unknown users, and users the policy does not let recover this way, get the
    same answer as everyone else: a challenge that no code will ever satisfy.
    """
    username = string(body, "username")
    factor_type = str(string(body, "factorType") or "").upper()
    if factor_type not in RECOVERY_CHANNELS:
        raise ValidationFailed("recoveryRequest", ["factorType: must be one of SMS, CALL or EMAIL"])
    relay_state = string(body, "relayState", required=False)
    assert username is not None
    channel = RECOVERY_CHANNELS[factor_type].channel
    # Before anybody is looked up, so every username string gets the same 429.
    # (Aliases of one user, login and short name, are two strings: the send
    # throttle of the factor behind them is then hit, and not shown.)
    factor_verification.claim_recovery_send(ctx, channel, "username:" + username.strip().lower())
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.by_login(username) or uow.users.by_shortname(username)
        policy = transaction.effective_for(ctx, uow, user) if user is not None else None
        user_factors = uow.factors.for_user(user.id) if user is not None else []
    eligible = (
        user is not None
        and policy is not None
        and may_recover(user, policy.password, factor_type, recovery_type)
    )
    factor = None
    if eligible and channel != "email":
        factor = next((f for f in user_factors if f.active and f.kind.channel == channel), None)
    if factor_type == "EMAIL":
        if eligible and user is not None and policy is not None:
            _send_recovery_email(ctx, user, policy, recovery_type)
        return View(
            Status.RECOVERY_CHALLENGE,
            relay_state=relay_state,
            factor_result="WAITING",
            recovery_type=recovery_type.value,
            recovery_factor_type=factor_type,
        )
    if factor is not None:
        factor_verification.send_recovery_code(ctx, factor)
    ttl = ctx.settings.state_token_ttl
    expires = ctx.clock() + timedelta(seconds=ttl)
    tx = Tx(
        user_id=user.id if factor is not None and user is not None else None,
        status=Status.RECOVERY_CHALLENGE,
        progress=Progress(recovery_type=recovery_type),
        expires_at=okta_timestamp(expires),
        relay_state=relay_state,
        recovery_factor_id=factor.id if factor is not None else None,
        recovery_factor_type=factor_type,
    )
    token = ctx.stores.transactions.create(tx.to_doc(), ttl)
    # A resend right away waits as a second send would, for a decoy too.
    factor_verification.claim_recovery_send(ctx, channel, _resend_subject(token))
    return View(
        Status.RECOVERY_CHALLENGE,
        state_token=token,
        expires_at=expires,
        relay_state=relay_state,
        recovery_type=recovery_type.value,
        recovery_factor_type=factor_type,
    )


def _send_recovery_email(
    ctx: Context, user: User, policy: EffectivePolicy, recovery_type: RecoveryType
) -> None:
    try:
        if recovery_type is RecoveryType.PASSWORD:
            activation.issue_recovery(ctx, user, send_email=True, settings=policy.password)
        else:
            activation.issue_unlock(ctx, user, settings=policy.password)
    except Exception:  # the answer must not reveal whether the e-mail went out
        log.exception("recovery e-mail to user %s could not be sent", user.id)


def _resend_subject(state_token: str) -> str:
    return "transaction:" + state_token


def _recovery_factor_id(tx: Tx, factor_type: str) -> str:
    """The recovery factor of a real transaction, for the type in the path."""
    if factor_type.upper() != tx.recovery_factor_type or tx.recovery_factor_id is None:
        raise ApiError("E0000079")
    return tx.recovery_factor_id


def recovery_verify(ctx: Context, state_token: Any, factor_type: str, body: dict[str, Any]) -> View:
    def precheck(tx: Tx) -> None:
        if factor_type.upper() != tx.recovery_factor_type:
            raise ApiError("E0000079")
        required(body, "passCode")

    def act(call: Call) -> None:
        tx = call.tx
        factor = factor_of(call, _recovery_factor_id(tx, factor_type))
        # A wrong code does not count towards lockout here: a decoy cannot count
        # it, and locking (E0000069) would tell who is real. The code itself
        # dies after OTP_MAX_ATTEMPTS tries, and sends are throttled.
        call.counts_failures = False
        check_factor(ctx, call, factor, required(body, "passCode"))
        tx.progress.recovery_verified = True
        # The code went to an active phone factor the user had: it proves that
        # factor, as a verify in MFA_CHALLENGE would (docs/security.md).
        if factor in prior_factors(tx, call.factors):
            mark_verified(ctx, call, factor)

    return transaction.run(ctx, state_token, Action.RECOVERY_VERIFY, act, precheck)


def recovery_resend(ctx: Context, state_token: Any, factor_type: str) -> View:
    def precheck(tx: Tx) -> None:
        if factor_type.upper() != tx.recovery_factor_type:
            raise ApiError("E0000079")
        channel = RECOVERY_CHANNELS[str(tx.recovery_factor_type)].channel
        factor_verification.claim_recovery_send(ctx, channel, _resend_subject(str(state_token)))

    def act(call: Call) -> None:
        factor_id = _recovery_factor_id(call.tx, factor_type)
        factor_verification.send_recovery_code(ctx, factor_of(call, factor_id))

    return transaction.run(ctx, state_token, Action.RECOVERY_RESEND, act, precheck)


def recovery_token(ctx: Context, body: dict[str, Any]) -> View:
    """``/authn/recovery/token``: the token from reset_password or the e-mail link."""
    token = required(body, "recoveryToken")
    tokens = ctx.stores.one_time_tokens
    recovery_type = RecoveryType.PASSWORD
    user_id = tokens.consume(activation.RECOVERY, token)
    if user_id is None:
        user_id = tokens.consume(activation.UNLOCK, token)
        recovery_type = RecoveryType.UNLOCK
    if user_id is None:
        raise InvalidToken()
    tx = Tx(
        user_id=user_id,
        status=Status.UNAUTHENTICATED,
        progress=Progress(recovery_type=recovery_type, recovery_verified=True),
        expires_at="",
        relay_state=string(body, "relayState", required=False),
    )
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is None or user.status in CANNOT_SIGN_IN:
            raise InvalidToken()
    return transaction.begin(ctx, tx)


def recovery_answer(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        answer = required(body, "answer")
        call.judged = True
        if not credentials.verify_recovery_answer(ctx, call.user, answer):
            locked = attempt_failed(ctx, call.user.id, call.policy, call.slot)
            if locked and call.loaded is not None:
                finish_quietly(ctx, call.loaded)
            raise ApiError("E0000087")
        call.tx.progress.recovery_answered = True
        call.also.append(ctx.stores.failed_attempts.staged_clear(call.user.id))

    return transaction.run(ctx, state_token, Action.RECOVERY_ANSWER, act, guess=True)
