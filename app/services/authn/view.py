"""What one /authn call answers, before the API layer renders it in Okta's JSON
shape: a :class:`View`, built from the call for the status it ended in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain import authn
from app.domain.authn import Status
from app.domain.clock import parse_timestamp
from app.domain.factors import Factor, Verification
from app.domain.policy import EffectivePolicy
from app.domain.users import User
from app.services import factors, webauthn_factors
from app.services.authn.call import Call, Tx, find, prior_factors
from app.services.context import Context


@dataclass
class View:
    """One /authn answer, before rendering in Okta's JSON shape."""

    status: Status
    user: User | None = None
    state_token: str | None = None
    expires_at: datetime | None = None
    session_token: str | None = None
    relay_state: str | None = None
    factor_result: str | None = None
    recovery_type: str | None = None
    recovery_factor_type: str | None = None
    factors: list[Factor] = field(default_factory=list)  # MFA_REQUIRED
    enrollable: list[authn.Enrollable] = field(default_factory=list)  # MFA_ENROLL
    factor: Factor | None = None  # MFA_ENROLL_ACTIVATE, MFA_CHALLENGE
    qr_token: str | None = None
    #: WebAuthn: the creation options (MFA_ENROLL_ACTIVATE), or the challenge
    #: to sign (MFA_CHALLENGE).
    activation: dict[str, Any] | None = None
    webauthn_challenge: str | None = None
    policy: EffectivePolicy | None = None
    can_skip: bool = False
    password_expire_days: int | None = None


class Answered(Exception):
    """The call was answered before its action ran: a decoy transaction (no
    user behind it), or a transaction its user's lock has ended."""

    def __init__(self, view: View) -> None:
        self.view = view


def build_view(ctx: Context, call: Call, state_token: str | None) -> View:
    tx, user, policy = call.tx, call.user, call.policy
    view = View(
        tx.status,
        user,
        state_token=state_token,
        expires_at=parse_timestamp(tx.expires_at),
        relay_state=tx.relay_state,
        policy=policy,
        recovery_type=recovery_type(tx),
    )
    status = tx.status
    if status is Status.MFA_REQUIRED:
        view.factors = prior_factors(tx, call.factors)
    elif status is Status.MFA_ENROLL:
        view.enrollable = authn.enrollment_state(policy, call.factors).entries
        view.can_skip = authn.may_skip_enrollment(call.facts(ctx.clock()), tx.progress)
    elif status is Status.MFA_ENROLL_ACTIVATE:
        view.factor = find(call.factors, tx.progress.enrolling_factor_id)
        if view.factor is not None and view.factor.kind.verification == Verification.TOTP:
            view.qr_token = factors.qr_token(ctx, view.factor)
        challenge = tx.progress.webauthn_challenge
        if view.factor is not None and challenge:
            with ctx.stores.reading() as uow:
                view.activation = webauthn_factors.registration(
                    ctx, uow, user, webauthn_factors.challenge_of(challenge)
                ).json
    elif status is Status.MFA_CHALLENGE:
        view.factor = find(call.factors, tx.progress.challenged_factor_id)
        view.factor_result = "CHALLENGE"
        view.webauthn_challenge = tx.progress.webauthn_challenge
    elif status is Status.PASSWORD_WARN:
        view.password_expire_days = authn.days_until_expiry(user, policy, ctx.clock())
    elif status is Status.RECOVERY_CHALLENGE:
        view.recovery_factor_type = tx.recovery_factor_type
    return view


def recovery_type(tx: Tx) -> str | None:
    """``recoveryType`` as Okta shows it; an activation shows none."""
    kind = tx.progress.recovery_type
    return kind.value if kind is not None and not tx.progress.activating else None
