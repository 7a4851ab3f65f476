"""MFA_REQUIRED and MFA_CHALLENGE: prove a factor the user had when the
transaction began (verify), or have its code sent again."""

from __future__ import annotations

from typing import Any

from app.domain.authn import Action
from app.domain.errors import ApiError
from app.domain.factors import Factor, Verification
from app.services import factor_verification, webauthn_factors
from app.services.authn import transaction
from app.services.authn.call import Call, factor_of, find, mark_verified, prior_factors
from app.services.authn.inputs import required
from app.services.authn.lockout import check_assertion, check_factor
from app.services.authn.view import View
from app.services.context import Context


def verify_factor(
    ctx: Context, state_token: Any, factor_id: str, body: dict[str, Any], remember: bool | None
) -> View:
    """``/authn/factors/{fid}/verify``: a code or answer, or (SMS, call, e-mail) a send."""

    def act(call: Call) -> None:
        factor = find(prior_factors(call.tx, call.factors), factor_id)
        if factor is None:  # unknown, inactive, or enrolled in this very flow
            raise ApiError("E0000007", detail=f"{factor_id} (UserFactor)")
        kind = factor.kind
        if remember is not None:
            call.tx.remember_device = bool(remember)
        elif call.policy.sign_on.remember_device_by_default:
            call.tx.remember_device = True
        if kind.verification == Verification.WEBAUTHN:
            if not webauthn_factors.answered(body, webauthn_factors.ASSERTION_FIELDS):
                _challenge(ctx, call, factor)
                return
            check_assertion(ctx, call, factor, body)
        elif kind.verification == Verification.ANSWER:
            check_factor(ctx, call, factor, required(body, "answer"))
        elif kind.verification == Verification.SENT_CODE and not body.get("passCode"):
            factor_verification.send_code(ctx, factor)
            call.tx.progress.challenged_factor_id = factor.id
            return
        else:
            check_factor(ctx, call, factor, required(body, "passCode"))
        mark_verified(ctx, call, factor)

    guess = bool(body.get("passCode") or body.get("answer") or body.get("signatureData"))
    return transaction.run(ctx, state_token, Action.VERIFY_FACTOR, act, guess=guess)


def _challenge(ctx: Context, call: Call, factor: Factor) -> None:
    """MFA_CHALLENGE for a WebAuthn factor: a new challenge, bound to the transaction."""
    with ctx.stores.reading() as uow:
        options = webauthn_factors.assertion(ctx, uow, [factor])
    call.tx.progress.webauthn_challenge = options.json["challenge"]
    call.tx.progress.challenged_factor_id = factor.id


def resend_challenge(ctx: Context, state_token: Any, factor_id: str) -> View:
    def act(call: Call) -> None:
        if factor_id != call.tx.progress.challenged_factor_id:
            raise ApiError("E0000079")
        factor_verification.send_code(ctx, factor_of(call, factor_id))

    return transaction.run(ctx, state_token, Action.RESEND_CHALLENGE, act)
