"""The WorkOS-style MFA API: enroll a factor, challenge it, verify the challenge.

Same TOTP maths, code generation, delivery and throttling as the Okta-style
Factors API (one implementation); only the objects and errors differ.
"""

from __future__ import annotations

import base64
import io
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import segno

from app.delivery import DeliveryError, Message
from app.domain import ids
from app.domain.factors import EnrollmentError, sent_code, sms, totp
from app.domain.workos_mfa import (
    CHALLENGE_PREFIX,
    FACTOR_PREFIX,
    SMS_CHALLENGE_LIFETIME_SECONDS,
    TYPES,
    Challenge,
    WorkosError,
    WorkosFactor,
    invalid,
    not_found,
    unauthorized,
)
from app.services.context import Context
from app.store.api_tokens import ApiToken, token_hash

KEY_PREFIX = "sk_"

log = logging.getLogger("portcullis.workos")


@dataclass(frozen=True)
class Enrolled:
    factor: WorkosFactor
    qr_code: str | None = None  # data:image/png;base64,… (TOTP enrolment only)
    uri: str | None = None


# ---- API keys -----------------------------------------------------------------------


def create_api_key(ctx: Context, name: str) -> tuple[ApiToken, str]:
    value = KEY_PREFIX + secrets.token_urlsafe(32)
    with ctx.stores.unit_of_work() as uow:
        key = uow.api_keys.add("key_" + ids.new_ulid(ctx.clock()), name, value, ctx.clock())
    return key, value


def revoke_api_key(ctx: Context, key_id: str) -> bool:
    with ctx.stores.unit_of_work() as uow:
        revoked = uow.api_keys.revoke(key_id, ctx.clock())
    ctx.stores.api_key_cache.forget(key_id)
    return revoked


def list_api_keys(ctx: Context) -> list[ApiToken]:
    with ctx.stores.unit_of_work() as uow:
        return uow.api_keys.list()


def authenticate(ctx: Context, value: str) -> ApiToken:
    """The active key ``value`` names (trusted for ``API_TOKEN_CACHE_SECONDS``
    once found, as SSWS tokens are), or WorkOS' 401."""
    if not value.startswith(KEY_PREFIX):
        raise unauthorized()
    digest = token_hash(value)
    key = ctx.stores.api_key_cache.get(digest)
    if key is not None:
        return key
    with ctx.stores.reading() as uow:
        key = uow.api_keys.active_by_token(value)
    if key is None:
        raise unauthorized()
    ctx.stores.api_key_cache.put(digest, key)
    return key


# ---- factors ---------------------------------------------------------------------------


def enroll(
    ctx: Context,
    factor_type: str,
    *,
    totp_issuer: str | None,
    totp_user: str | None,
    phone_number: str | None,
    user_id: str | None,
) -> Enrolled:
    if factor_type not in TYPES:
        raise invalid("type", "type_invalid", f"type must be one of: {', '.join(TYPES)}.")
    now = ctx.clock()
    factor = WorkosFactor(
        id=FACTOR_PREFIX + ids.new_ulid(now),
        type=factor_type,
        created=now,
        last_updated=now,
        user_id=user_id,
    )
    if factor_type == "totp":
        for name, value in (("totp_issuer", totp_issuer), ("totp_user", totp_user)):
            if not value:
                raise invalid(name, f"{name}_required", f"{name} is required for totp factors.")
        factor.totp_issuer, factor.totp_user = totp_issuer, totp_user
        factor.secret = totp.new_secret()
    else:
        if not phone_number:
            raise invalid(
                "phone_number", "phone_number_required", "phone_number is required for sms factors."
            )
        try:
            factor.phone_number = sms.normalise_phone(phone_number)
        except EnrollmentError as exc:
            raise invalid(
                "phone_number", "phone_number_invalid", "Phone number is invalid."
            ) from exc
    with ctx.stores.unit_of_work() as uow:
        uow.workos_factors.add(factor)
    if factor.secret is None:
        return Enrolled(factor)
    uri = totp.provisioning_uri(factor.secret, str(totp_issuer), str(totp_user))
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=4)
    qr = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return Enrolled(factor, qr, uri)


def get_factor(ctx: Context, factor_id: str) -> WorkosFactor:
    with ctx.stores.reading() as uow:
        factor = uow.workos_factors.get(factor_id)
    if factor is None:
        raise not_found("Authentication Factor", factor_id)
    return factor


def delete_factor(ctx: Context, factor_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        if uow.workos_factors.get(factor_id) is None:
            raise not_found("Authentication Factor", factor_id)
        uow.workos_factors.delete(factor_id)


# ---- challenges ----------------------------------------------------------------------------


def challenge(ctx: Context, factor_id: str, sms_template: str | None) -> Challenge:
    """A challenge; for SMS factors a fresh code is sent (10-minute expiry)."""
    factor = get_factor(ctx, factor_id)
    now = ctx.clock()
    record = Challenge(CHALLENGE_PREFIX + ids.new_ulid(now), factor.id, now, now)
    if factor.type == "sms":
        if sms_template is not None and "{{code}}" not in sms_template:
            raise invalid(
                "sms_template",
                "sms_template_invalid",
                "sms_template must contain the {{code}} placeholder.",
            )
        record.expires = now + timedelta(seconds=SMS_CHALLENGE_LIFETIME_SECONDS)
        _send_sms(ctx, factor, record, sms_template)
    ctx.stores.workos_challenges.add(record)
    return record


def _send_sms(ctx: Context, factor: WorkosFactor, record: Challenge, template: str | None) -> None:
    codes = ctx.stores.factor_codes
    phone = str(factor.phone_number)
    now = ctx.clock().timestamp()
    wait = codes.throttle("sms", phone, ctx.settings.otp_resend_after, now)
    if wait is not None:
        raise WorkosError(
            429,
            f"An SMS was recently sent to this number. Retry in {wait} s.",
            "rate_limit_exceeded",
            extra={"retry_after": wait},
        )
    code = sent_code.new_code()
    digest = sent_code.digest(ctx.settings.secret_key, record.id, code)
    codes.store_code(record.id, digest, SMS_CHALLENGE_LIFETIME_SECONDS, now)
    text = sent_code.render(template or ctx.settings.sms_template, code, ctx.settings.org_name)
    try:
        message = Message(
            "sms", phone, "verification code", text, valid_for=SMS_CHALLENGE_LIFETIME_SECONDS
        )
        ctx.delivery.send(message)
    except DeliveryError as exc:
        log.warning("sms challenge delivery to %s failed: %s", phone, exc)
        codes.forget(record.id)
        codes.release_throttle("sms", phone)
        if exc.invalid_recipient:
            raise invalid(
                "phone_number", "phone_number_invalid", "The phone number cannot receive SMS."
            ) from exc
        if exc.unreachable:
            wait = ctx.settings.outage_retry_after
            raise WorkosError(
                503,
                f"The SMS carrier cannot be reached. Retry in {wait} s.",
                "sms_delivery_failed",
                extra={"retry_after": wait},
            ) from exc
        raise WorkosError(
            502, "The SMS could not be delivered. Try again later.", "sms_delivery_failed"
        ) from exc


def verify(ctx: Context, challenge_id: str, code: str) -> tuple[Challenge, bool]:
    """``{challenge, valid}``; an already verified or expired challenge is an error."""
    record = ctx.stores.workos_challenges.get(challenge_id)
    if record is None:
        raise not_found("Authentication Challenge", challenge_id)
    factor = get_factor(ctx, record.factor_id)
    now = ctx.clock()
    if record.verified:
        raise _previously_verified(challenge_id)
    if record.expires is not None and now >= record.expires:
        raise WorkosError(
            422,
            f"The authentication challenge '{challenge_id}' has expired.",
            "authentication_challenge_expired",
        )
    if not _code_matches(ctx, factor, record, code):
        return record, False
    if not ctx.stores.workos_challenges.mark_verified(record.id, now):
        raise _previously_verified(challenge_id)
    record.verified, record.updated = True, now
    return record, True


def _previously_verified(challenge_id: str) -> WorkosError:
    return WorkosError(
        422,
        f"The authentication challenge '{challenge_id}' has already been verified.",
        "authentication_challenge_previously_verified",
    )


def _code_matches(ctx: Context, factor: WorkosFactor, record: Challenge, code: str) -> bool:
    now = ctx.clock()
    if factor.type == "sms":
        digest = sent_code.digest(ctx.settings.secret_key, record.id, code.strip())
        return ctx.stores.factor_codes.use_code(
            record.id, digest, ctx.settings.otp_max_attempts, now.timestamp()
        )
    # The same cap as delivered codes (OTP_MAX_ATTEMPTS) for wrong TOTP codes.
    if ctx.stores.workos_challenges.count_attempt(record.id) > ctx.settings.otp_max_attempts:
        return False
    if factor.secret is None:
        return False
    params = totp.TotpParameters(skew=ctx.settings.totp_skew_steps)
    step = totp.verify(factor.secret, code, now, params)
    # A TOTP code accepted once for this factor is refused afterwards (replay).
    return step is not None and ctx.stores.factor_codes.claim_step(
        factor.id, step, params.replay_window
    )
