"""Factors API use cases: catalog, enroll, list, get, delete, QR code.

Verification (activate, verify, resend) lives in app.services.factor_verification.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import segno
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.domain import ids
from app.domain.errors import ApiError, NotFound, ValidationFailed
from app.domain.factors import (
    FACTOR_TYPES,
    EnrollmentError,
    Factor,
    FactorKind,
    FactorStatus,
    Verification,
    call,
    email,
    kind_of,
    question,
    sms,
    totp,
)
from app.domain.passwords import normalise_answer
from app.domain.users import User, UserStatus
from app.services import factor_verification, webauthn_factors
from app.services.context import Context
from app.services.users import find_user
from app.store import UnitOfWork
from app.store.db import DuplicateKey

ENROLL_REQUEST = "factorEnrollRequest"
ALREADY_SET_UP = "A factor of this type is already set up."
QR_SALT = "portcullis.factor-qr"

ProfileBuilder = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
#: factorType → how its enrolment profile is validated and built.
PROFILE_BUILDERS: dict[str, ProfileBuilder] = {
    "token:software:totp": lambda _profile, user: {"credentialId": user["login"]},
    "sms": sms.enroll_profile,
    "call": call.enroll_profile,
    "email": email.enroll_profile,
    "question": question.enroll_profile,
    "webauthn": webauthn_factors.enroll_profile,
}


@dataclass(frozen=True)
class Enrolled:
    factor: Factor
    user: User
    qr_token: str | None = None  # TOTP only: the signed QR-code link token
    #: WebAuthn only: the options for ``navigator.credentials.create``.
    activation: dict[str, Any] | None = None


def find_factor(uow: UnitOfWork, user: User, factor_id: str) -> Factor:
    factor = uow.factors.get(user.id, factor_id)
    if factor is None:
        raise NotFound(factor_id, "UserFactor")
    return factor


def catalog(ctx: Context, user_id: str) -> tuple[User, list[tuple[FactorKind, Factor | None]]]:
    """Every supported type, with the user's enrolment of it if any."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, user_id)
        enrolled = {(f.factor_type, f.provider): f for f in uow.factors.for_user(user.id)}
    return user, [(k, enrolled.get((k.factor_type, k.provider))) for k in FACTOR_TYPES]


def list_factors(ctx: Context, user_id: str) -> tuple[User, list[Factor]]:
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, user_id)
        return user, uow.factors.for_user(user.id)


def get_factor(ctx: Context, user_id: str, factor_id: str) -> tuple[User, Factor]:
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, user_id)
        return user, find_factor(uow, user, factor_id)


def enroll(
    ctx: Context,
    user_id: str,
    body: dict[str, Any],
    *,
    activate: bool,
    update_phone: bool,
    token_lifetime: int | None,
    hold: bool = False,
) -> Enrolled:
    """``POST /api/v1/users/{uid}/factors``.

    The factor row and its first code are one step: if the code cannot be
    delivered the enrolment is rolled back and nothing is left behind.
    ``hold``: stay PENDING_ACTIVATION even where the type needs no activation
    (an enrolment inside /authn becomes active only when its transaction succeeds).
    """
    kind = kind_of(body["factorType"], body.get("provider") or "OKTA")
    if kind is None:
        raise ValidationFailed(
            ENROLL_REQUEST,
            [
                f"factorType: {body['factorType']} with provider {body.get('provider')} "
                "is not a supported factor"
            ],
        )
    if activate and not kind.activate_on_enroll_allowed and kind.needs_activation:
        raise ValidationFailed(
            ENROLL_REQUEST, [f"activate: {kind.factor_type} factors are activated with a passCode"]
        )
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, user_id)
        if user.status in (UserStatus.DEPROVISIONED, UserStatus.SUSPENDED):
            raise ApiError("E0000038")
        try:
            profile = PROFILE_BUILDERS[kind.factor_type](body.get("profile") or {}, user.profile)
        except EnrollmentError as exc:
            raise ValidationFailed(ENROLL_REQUEST, exc.causes) from exc
        _replace_pending(uow, user, kind, profile, update_phone)
        active = (not kind.needs_activation or activate) and not hold
        factor = Factor(
            id=ids.new_id(kind.id_prefix),
            user_id=user.id,
            factor_type=kind.factor_type,
            provider=kind.provider,
            status=FactorStatus.ACTIVE if active else FactorStatus.PENDING_ACTIVATION,
            profile=profile,
            created=now,
            last_updated=now,
            secret=_new_secret(ctx, kind, body.get("profile") or {}),
        )
        try:
            uow.factors.add(factor)
        except DuplicateKey as exc:  # a concurrent enrolment of the same type
            raise ValidationFailed(ENROLL_REQUEST, [ALREADY_SET_UP]) from exc
        if kind.verification == Verification.SENT_CODE and not active:
            factor_verification.send_code(ctx, factor, token_lifetime)
        activation = None
        if kind.verification == Verification.WEBAUTHN:
            options = webauthn_factors.registration(ctx, uow, user)
            activation = options.json
            if not hold:  # /authn keeps the challenge in its transaction
                ctx.stores.factor_codes.put_challenge(
                    factor.id, options.json["challenge"], ctx.settings.otp_lifetime
                )
    qr = qr_token(ctx, factor) if kind.verification == Verification.TOTP else None
    return Enrolled(factor, user, qr, activation)


def _replace_pending(
    uow: UnitOfWork, user: User, kind: FactorKind, profile: dict[str, Any], update_phone: bool
) -> None:
    """An active factor of the type blocks enrolment (but for WebAuthn, one per
    authenticator); a pending one is replaced (for phones only with
    ``updatePhone=true`` when the number changes)."""
    for existing in uow.factors.for_user(user.id):
        if (existing.factor_type, existing.provider) != (kind.factor_type, kind.provider):
            continue
        if existing.active and not kind.one_per_user:
            continue
        if existing.active:
            raise ValidationFailed(ENROLL_REQUEST, [ALREADY_SET_UP])
        phone = existing.profile.get("phoneNumber")
        if phone and phone != profile.get("phoneNumber") and not update_phone:
            raise ValidationFailed(
                ENROLL_REQUEST,
                ["There is an existing phone number: set updatePhone=true to replace it."],
            )
        uow.factors.delete(existing.id)


def _new_secret(ctx: Context, kind: FactorKind, profile_in: dict[str, Any]) -> str | None:
    if kind.verification == Verification.TOTP:
        return totp.new_secret()
    if kind.verification == Verification.ANSWER:
        return ctx.hasher.hash(normalise_answer(str(profile_in["answer"])))
    return None


def delete(ctx: Context, user_id: str, factor_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, user_id)
        if user.status == UserStatus.DEPROVISIONED:
            raise ApiError("E0000038")
        factor = find_factor(uow, user, factor_id)
        uow.factors.delete(factor.id)
    ctx.stores.factor_codes.forget(factor.id)


def reset_all(ctx: Context, uow: UnitOfWork, user: User) -> None:
    """Remove every factor of ``user`` (lifecycle reset_factors)."""
    for factor in uow.factors.for_user(user.id):
        uow.factors.delete(factor.id)
        ctx.stores.factor_codes.forget(factor.id)


# ---- QR code ------------------------------------------------------------------------


def _serializer(ctx: Context) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.settings.secret_key, salt=QR_SALT)


def qr_token(ctx: Context, factor: Factor) -> str:
    return str(_serializer(ctx).dumps({"u": factor.user_id, "f": factor.id}))


def qr_png(ctx: Context, user_id: str, factor_id: str, token: str) -> bytes:
    """The QR code of a pending TOTP enrolment, if ``token`` is a fresh signed link
    for exactly this factor; anything else is "not found"."""
    try:
        claims = _serializer(ctx).loads(token, max_age=ctx.settings.qr_code_ttl)
    except BadSignature as exc:
        raise NotFound(factor_id, "UserFactor") from exc
    if claims != {"u": user_id, "f": factor_id}:
        raise NotFound(factor_id, "UserFactor")
    with ctx.stores.unit_of_work() as uow:
        factor = uow.factors.get(user_id, factor_id)
        user = uow.users.get(user_id)
    if factor is None or user is None or factor.active or factor.secret is None:
        raise NotFound(factor_id, "UserFactor")
    uri = totp.provisioning_uri(factor.secret, ctx.settings.issuer, user.login)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()
