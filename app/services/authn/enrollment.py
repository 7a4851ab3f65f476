"""MFA_ENROLL and MFA_ENROLL_ACTIVATE: enrol a factor the policy offers,
activate it with a code, have the activation code sent again.

A factor enrolled here stays PENDING_ACTIVATION in the store until the
transaction succeeds (``success``); the transaction holds it meanwhile
(``Progress.enrolled_factor_ids``), and a cancel takes it away."""

from __future__ import annotations

from typing import Any

from app.domain import authn
from app.domain.authn import Action
from app.domain.errors import ApiError, ValidationFailed
from app.domain.factors import Factor, Verification, kind_of
from app.domain.policy import Enrollment
from app.services import factor_verification, factors, webauthn_factors
from app.services.authn import transaction
from app.services.authn.call import Call, factor_of, in_flow, mark_verified, prior_factors
from app.services.authn.inputs import required
from app.services.authn.view import View
from app.services.context import Context


def enroll_factor(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    """``/authn/factors``: enrol one of the factors the MFA_ENROLL answer offered."""

    def act(call: Call) -> None:
        _no_enrolment_before_verification(ctx, call)
        factor_type = required(body, "factorType")
        provider = body.get("provider") or "OKTA"
        if call.policy.enrollment_of(factor_type, str(provider)) is Enrollment.NOT_ALLOWED:
            raise ValidationFailed(
                "factor", [f"factorType: {factor_type} is not allowed by the enrollment policy"]
            )
        kind = kind_of(factor_type, str(provider))
        if any(
            f.active and (f.factor_type, f.provider) == (factor_type, str(provider))
            for f in call.factors
        ) and (kind is None or kind.one_per_user):  # set up before, or earlier in this flow
            raise ValidationFailed("factorEnrollRequest", [factors.ALREADY_SET_UP])
        enrolled = factors.enroll(
            ctx,
            call.user.id,
            {"factorType": factor_type, "provider": provider, "profile": body.get("profile") or {}},
            activate=False,
            update_phone=bool(body.get("updatePhone")),
            token_lifetime=None,
            hold=True,  # active only once the transaction succeeds
        )
        factor = enrolled.factor
        call.factors = [f for f in call.factors if f.id != factor.id] + [factor]
        if enrolled.activation is not None:  # WebAuthn: its challenge lives here
            call.tx.progress.webauthn_challenge = enrolled.activation["challenge"]
        if factor.kind.needs_activation:
            call.tx.progress.enrolling_factor_id = factor.id
        else:  # a security question: set, and so proven, at once
            _enrolled(ctx, call, factor)

    return transaction.run(ctx, state_token, Action.ENROLL_FACTOR, act)


def activate_factor(ctx: Context, state_token: Any, factor_id: str, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        if factor_id != call.tx.progress.enrolling_factor_id:
            raise ApiError("E0000079")
        factor = factor_of(call, factor_id)
        if factor.active:
            raise ValidationFailed("factor", ["factor: The factor is already active"])
        # As the Factors API's activation: a wrong code is not a sign-in failure.
        # The code is spent, and the progress saved, only if the save's check passes.
        call.counts_failures = False
        if factor.kind.verification == Verification.WEBAUTHN:
            _register(ctx, call, factor, body)
        else:
            call.pending = factor_verification.prepare(ctx, factor, required(body, "passCode"))
        _enrolled(ctx, call, factor)

    return transaction.run(ctx, state_token, Action.ACTIVATE_FACTOR, act)


def _register(ctx: Context, call: Call, factor: Factor, body: dict[str, Any]) -> None:
    """A WebAuthn registration against the transaction's challenge: the
    credential is kept now, the factor stays PENDING_ACTIVATION until SUCCESS."""
    for name in webauthn_factors.REGISTRATION_FIELDS:
        required(body, name)
    challenge = webauthn_factors.challenge_of(call.tx.progress.webauthn_challenge)
    with ctx.stores.unit_of_work() as uow:
        webauthn_factors.register(ctx, uow, factor, challenge, body)
        uow.factors.save(factor)
    call.tx.progress.webauthn_challenge = None


def _no_enrolment_before_verification(ctx: Context, call: Call) -> None:
    """The status a transaction was stored in may be stale: a factor given to
    the user since (by an admin, or in another sign-in) must be proven before
    anything is enrolled, or a password alone could plant one."""
    if authn.verification_due(call.facts(ctx.clock()), call.tx.progress):
        raise ApiError("E0000079")


def resend_activation(ctx: Context, state_token: Any, factor_id: str) -> View:
    def act(call: Call) -> None:
        if factor_id != call.tx.progress.enrolling_factor_id:
            raise ApiError("E0000079")
        factor_verification.resend(ctx, call.user.id, factor_id)

    return transaction.run(ctx, state_token, Action.RESEND_ACTIVATION, act)


def _enrolled(ctx: Context, call: Call, factor: Factor) -> None:
    """A factor proven in the flow (a question set, a code entered). It counts
    as the MFA only as a first enrolment: for a user who had no active factor
    when the transaction began. Anyone else has proven one of theirs before
    enrolment was offered (``next_status``)."""
    progress = call.tx.progress
    progress.enrolling_factor_id = None
    if factor.id not in progress.enrolled_factor_ids:
        progress.enrolled_factor_ids.append(factor.id)
    first = not prior_factors(call.tx, call.factors)
    call.factors = in_flow(call.tx, call.factors)
    if first and not progress.mfa_verified:
        mark_verified(ctx, call, factor)
