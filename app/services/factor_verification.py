"""Proving a factor: activation, verification, and delivered codes.

One function per step of Okta's reference: ``activate`` (``passCode``),
``verify`` (``passCode`` or ``answer``; for SMS, call and e-mail without a
``passCode`` it sends a fresh code and answers CHALLENGE) and ``resend``.
Which check a factor needs is looked up in ``PREPARE`` by its verification kind.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.delivery import DeliveryError, Message
from app.domain.errors import ApiError, CarrierUnreachable, NotFound, ValidationFailed
from app.domain.factors import Factor, FactorStatus, Verification, sent_code, totp
from app.domain.passwords import normalise_answer
from app.domain.users import User, UserStatus
from app.services import webauthn_factors
from app.services.context import Context
from app.services.users import find_user
from app.store import UnitOfWork
from app.store.atomic import Check

log = logging.getLogger("portcullis.factors")
PASSCODE_MISMATCH = "Your passcode doesn't match our records. Please try again."
ANSWER_MISMATCH = "Your answer doesn't match our records. Please try again."
#: Per channel: the Okta code for "sent too recently".
THROTTLE_ERRORS = {"sms": "E0000109", "call": "E0000113", "email": "E0000118"}
MAX_TOKEN_LIFETIME = 86400


class FactorResult(StrEnum):
    SUCCESS = "SUCCESS"
    CHALLENGE = "CHALLENGE"
    WAITING = "WAITING"


def _load(uow: UnitOfWork, user_id: str, factor_id: str) -> tuple[User, Factor]:
    """The user's factor (one query when both exist); a suspended or
    deactivated user's factors prove nothing."""
    found = uow.factors.with_owner(user_id, factor_id)
    # Else the long way: a short name, or which of the two is missing (the right 404).
    user, factor = found if found is not None else (find_user(uow, user_id), None)
    if user.status in (UserStatus.SUSPENDED, UserStatus.DEPROVISIONED):
        raise ApiError("E0000038")
    if factor is None:
        factor = uow.factors.get(user.id, factor_id)
    if factor is None:
        raise NotFound(factor_id, "UserFactor")
    return user, factor


# ---- checks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """The part of a check that only Redis can settle, and the error if it refuses."""

    check: Check
    error: ApiError


def _prepare_totp(ctx: Context, factor: Factor, passcode: str) -> Pending:
    params = totp.TotpParameters(skew=ctx.settings.totp_skew_steps)
    step = None
    if factor.secret is not None:  # None: sealed with a key no longer configured
        step = totp.verify(factor.secret, passcode, ctx.clock(), params)
    if step is None:
        raise ApiError("E0000068", causes=[PASSCODE_MISMATCH])
    check = ctx.stores.factor_codes.step_check(factor.id, step, params.replay_window)
    return Pending(check, ApiError("E0000082"))


def _prepare_sent_code(ctx: Context, factor: Factor, passcode: str) -> Pending:
    # The digest is an HMAC under SECRET_KEY: comparing it in Lua, not in
    # constant time, tells a caller nothing about the code.
    candidate = sent_code.digest(ctx.settings.secret_key, factor.id, passcode.strip())
    check = ctx.stores.factor_codes.code_check(
        factor.id, candidate, ctx.settings.otp_max_attempts, ctx.clock().timestamp()
    )
    return Pending(check, ApiError("E0000068", causes=[PASSCODE_MISMATCH]))


def _prepare_answer(ctx: Context, factor: Factor, answer: str) -> None:
    matches, _ = ctx.hasher.verify(factor.secret or "", normalise_answer(answer))
    if not matches:
        raise ApiError("E0000068", causes=[ANSWER_MISMATCH])


PREPARE: dict[Verification, Callable[[Context, Factor, str], Pending | None]] = {
    Verification.TOTP: _prepare_totp,
    Verification.SENT_CODE: _prepare_sent_code,
    Verification.ANSWER: _prepare_answer,
}


def prepare(ctx: Context, factor: Factor, value: str) -> Pending | None:
    """Check ``value`` as far as can be done without Redis: raises the error
    when it already fails; else the Redis check still to run (the replay or
    single-use rule), or None when nothing is left. /authn runs that check
    inside the transaction's save; :func:`check` runs it at once."""
    return PREPARE[factor.kind.verification](ctx, factor, value)


def check(ctx: Context, factor: Factor, value: str) -> None:
    """The whole check: raises the Okta error unless ``value`` proves ``factor``."""
    pending = prepare(ctx, factor, value)
    if pending is not None and not ctx.stores.factor_codes.run(pending.check):
        raise pending.error


def _required(value: str | None, field: str) -> str:
    if not value or not value.strip():
        raise ValidationFailed(field, [f"{field}: The field cannot be left blank"])
    return value


# ---- delivered codes ---------------------------------------------------------------------


def _lifetime(ctx: Context, requested: int | None) -> int:
    if requested is None:
        return ctx.settings.otp_lifetime
    if not 1 <= requested <= MAX_TOKEN_LIFETIME:
        raise ValidationFailed(
            "tokenLifetimeSeconds", [f"tokenLifetimeSeconds: must be 1 to {MAX_TOKEN_LIFETIME}"]
        )
    return requested


def _message(ctx: Context, factor: Factor, code: str, lifetime: int) -> Message:
    settings = ctx.settings
    channel = factor.kind.channel or "sms"
    if channel == "email":
        body = settings.email_template.replace("{minutes}", str(max(lifetime // 60, 1)))
        return Message(
            "email",
            factor.profile["email"],
            sent_code.render(settings.email_subject, code, settings.org_name),
            sent_code.render(body, code, settings.org_name),
            valid_for=lifetime,
        )
    if channel == "call":
        return Message(
            "call",
            factor.profile["phoneNumber"],
            "verification call",
            sent_code.spoken(code),
            extension=str(factor.profile.get("phoneExtension") or ""),
            valid_for=lifetime,
        )
    return Message(
        "sms",
        factor.profile["phoneNumber"],
        "verification code",
        sent_code.render(settings.sms_template, code, settings.org_name),
        valid_for=lifetime,
    )


def send_code(ctx: Context, factor: Factor, token_lifetime: int | None = None) -> None:
    """Deliver a fresh code (the only valid one from now on), throttled per destination."""
    lifetime = _lifetime(ctx, token_lifetime)
    channel = factor.kind.channel or "sms"
    destination = factor.profile.get("phoneNumber") or factor.profile.get("email") or ""
    codes = ctx.stores.factor_codes
    now = ctx.clock().timestamp()
    wait = codes.throttle(channel, destination, ctx.settings.otp_resend_after, now)
    if wait is not None:
        raise throttled(channel, wait)
    code = sent_code.new_code()
    try:
        ctx.delivery.send(_message(ctx, factor, code, lifetime))
    except DeliveryError as exc:
        # One line, no traceback: an outage must not flood the log.
        log.warning("%s code delivery to %s failed: %s", channel, destination, exc)
        codes.release_throttle(channel, destination)
        if exc.invalid_recipient and channel == "email":
            raise ValidationFailed("email", ["email: The address cannot receive e-mail."]) from exc
        if exc.invalid_recipient:
            raise ApiError("E0000098") from exc
        if exc.unreachable:
            raise CarrierUnreachable(channel, ctx.settings.outage_retry_after) from exc
        raise ApiError(
            "E0000009",
            summary="The verification code could not be delivered. Try again later.",
            status=502,
        ) from exc
    # Kept only once the carrier took it: a failed resend leaves the code
    # delivered before working (the user may be typing it).
    codes.store_code(
        factor.id, sent_code.digest(ctx.settings.secret_key, factor.id, code), lifetime, now
    )


def throttled(channel: str, wait: int) -> ApiError:
    """429 with the channel's "sent too recently" code and ``Retry-After``."""
    return ApiError(THROTTLE_ERRORS[channel], detail=str(wait), headers={"Retry-After": str(wait)})


# ---- recovery: the same answer whoever the username names ------------------------------


def claim_recovery_send(ctx: Context, channel: str, subject: str) -> None:
    """One recovery send per ``subject`` (what the caller typed as username, or
    one recovery transaction) and ``OTP_RESEND_AFTER`` seconds, else 429.

    Claimed for every request alike, whether a user, a factor or nothing at all
    stands behind ``subject``: the answer says nothing about who exists. The
    subject is hashed, so usernames do not sit in Redis keys."""
    key = hashlib.sha256(subject.encode()).hexdigest()
    now = ctx.clock().timestamp()
    wait = ctx.stores.factor_codes.throttle(
        f"recovery-{channel}", key, ctx.settings.otp_resend_after, now
    )
    if wait is not None:
        raise throttled(channel, wait)


def send_recovery_code(ctx: Context, factor: Factor) -> None:
    """:func:`send_code` for recovery, which must answer as a decoy does.

    The per-destination throttle fires only for a real phone factor (sent to
    moments ago under another alias of the username, or by a sign-in), and a
    delivery failure only for a real recipient: either, shown, would tell an
    anonymous caller that the username has a phone. The code is then not
    (re)sent; a code sent within the throttle window is still valid."""
    try:
        send_code(ctx, factor)
    except ApiError as exc:
        log.warning("recovery code for factor %s not sent: %s", factor.id, exc.code)


# ---- the use cases ---------------------------------------------------------------------------


def activate(
    ctx: Context, user_id: str, factor_id: str, body: dict[str, Any]
) -> tuple[User, Factor]:
    """``POST …/factors/{fid}/lifecycle/activate`` with the first code, or for
    WebAuthn the ``attestation`` and ``clientData`` of its registration."""
    with ctx.stores.unit_of_work() as uow:
        user, factor = _load(uow, user_id, factor_id)
        if factor.active:
            raise ValidationFailed("factor", ["factor: The factor is already active"])
        if factor.kind.verification == Verification.WEBAUTHN:
            for name in webauthn_factors.REGISTRATION_FIELDS:
                _required(body.get(name), name)
            challenge = webauthn_factors.challenge_of(
                ctx.stores.factor_codes.take_challenge(factor.id)
            )
            webauthn_factors.register(ctx, uow, factor, challenge, body)
        else:
            check(ctx, factor, _required(body.get("passCode"), "passCode"))
        factor.status = FactorStatus.ACTIVE
        factor.last_updated = ctx.clock()
        uow.factors.save(factor)
        return user, factor


def resend(
    ctx: Context, user_id: str, factor_id: str, token_lifetime: int | None = None
) -> tuple[User, Factor]:
    """A new code for a factor still pending activation (SMS, call, e-mail)."""
    with ctx.stores.reading() as uow:
        user, factor = _load(uow, user_id, factor_id)
    if factor.kind.verification != Verification.SENT_CODE or factor.active:
        raise ValidationFailed(
            "factor", ["factor: Only a pending SMS, call or email factor can be resent"]
        )
    send_code(ctx, factor, token_lifetime)
    return user, factor


def verify(
    ctx: Context,
    user_id: str,
    factor_id: str,
    body: dict[str, Any],
    token_lifetime: int | None = None,
) -> tuple[User, Factor, FactorResult]:
    """``POST …/factors/{fid}/verify``: SUCCESS, or CHALLENGE after sending a code."""
    with ctx.stores.reading() as uow:
        user, factor = _load(uow, user_id, factor_id)
    if not factor.active:
        raise ValidationFailed(
            "factor", ["factor: The factor is not active; activate it with its first code"]
        )
    kind = factor.kind
    if kind.verification == Verification.WEBAUTHN:
        return user, factor, _verify_webauthn(ctx, factor, body)
    if kind.verification == Verification.ANSWER:
        check(ctx, factor, _required(body.get("answer"), "answer"))
    elif kind.verification == Verification.SENT_CODE and not body.get("passCode"):
        send_code(ctx, factor, token_lifetime)
        return user, factor, FactorResult.CHALLENGE
    else:
        check(ctx, factor, _required(body.get("passCode"), "passCode"))
    return user, factor, FactorResult.SUCCESS


def _verify_webauthn(ctx: Context, factor: Factor, body: dict[str, Any]) -> FactorResult:
    """Without an answer, a new challenge (CHALLENGE; the options are kept on
    the factor for the caller to render); with one, its check (SUCCESS)."""
    codes = ctx.stores.factor_codes
    if not webauthn_factors.answered(body, webauthn_factors.ASSERTION_FIELDS):
        with ctx.stores.reading() as uow:
            options = webauthn_factors.assertion(ctx, uow, [factor])
        codes.put_challenge(factor.id, options.json["challenge"], ctx.settings.otp_lifetime)
        factor.extra["challenge"] = options.json
        return FactorResult.CHALLENGE
    for name in webauthn_factors.ASSERTION_FIELDS:
        _required(body.get(name), name)
    challenge = webauthn_factors.challenge_of(codes.take_challenge(factor.id))
    with ctx.stores.unit_of_work() as uow:
        webauthn_factors.check_assertion(ctx, uow, factor, challenge, body)
    return FactorResult.SUCCESS
