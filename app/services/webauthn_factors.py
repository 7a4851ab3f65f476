"""WebAuthn factors: the two ceremonies around the stores.

The checks themselves are app.domain.factors.webauthn's (py_webauthn). This
module issues the options, keeps credentials, moves the signature counter, and
turns refusals into Okta's errors: ``403 E0000068`` with a cause for a refused
ceremony, ``400 E0000001`` for bytes that are not what their field names. A
refused ceremony changes nothing: the caller's unit of work rolls back.

Where a challenge lives is the caller's: the Factors API keeps one per factor
in Redis (:meth:`FactorCodes.put_challenge`) and takes it as any answer is
checked, right or wrong; /authn keeps it in the transaction, where a refused
answer changes nothing (the lockout counts it) and the answer that verifies
spends it. Either way one challenge admits one successful answer.

The abuse cases: someone who knows only the **password** cannot answer a
challenge without the authenticator's private key; a **replayed** answer
meets a challenge already taken; a **cloned** authenticator shows a counter
that did not grow and is refused (and logged); an answer made for **another
site** (a phishing origin, another RP ID) fails the origin or ``rpIdHash``
check.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from app.domain.errors import ApiError, ValidationFailed
from app.domain.factors import Factor
from app.domain.factors import webauthn as ceremony
from app.domain.users import User
from app.services.context import Context
from app.store import UnitOfWork
from app.store.db import DuplicateKey

log = logging.getLogger("portcullis.factors")
#: What a WebAuthn factor is called until the user names it.
DEFAULT_NAME = "Security key or biometric authenticator"
#: The body fields of each ceremony's answer, as Okta names them.
REGISTRATION_FIELDS = ("attestation", "clientData")
ASSERTION_FIELDS = ("clientData", "authenticatorData", "signatureData")


def relying_party(ctx: Context) -> ceremony.RelyingParty:
    settings = ctx.settings
    return ceremony.RelyingParty(
        id=settings.webauthn_rp,
        name=settings.org_name,
        origins=settings.webauthn_origin_list,
        user_verification=settings.webauthn_user_verification,
    )


def enroll_profile(profile: dict[str, Any], _user_profile: dict[str, Any]) -> dict[str, Any]:
    """The profile of a new WebAuthn factor: its name (``authenticatorName``)."""
    name = profile.get("authenticatorName")
    if name is not None and (not isinstance(name, str) or not 0 < len(name.strip()) <= 100):
        raise ValidationFailed("profile", ["authenticatorName: 1 to 100 characters"])
    return {"authenticatorName": (name or DEFAULT_NAME).strip()}


def answered(body: dict[str, Any], fields: tuple[str, ...]) -> bool:
    """Whether ``body`` carries a ceremony's answer (any of its fields)."""
    return any(body.get(name) not in (None, "") for name in fields)


def registration(
    ctx: Context, uow: UnitOfWork, user: User, challenge: bytes | None = None
) -> ceremony.Options:
    """Options for ``navigator.credentials.create``: the user's registered
    credentials excluded, so that one authenticator is registered once.

    ``user.id`` is the user's id, which the Sign-In Widget decodes as
    base64url (Okta's ids are alphanumeric, so they decode)."""
    profile = user.profile
    display = " ".join(p for p in (profile.get("firstName"), profile.get("lastName")) if p)
    return ceremony.registration_options(
        relying_party(ctx),
        ceremony.from_b64url(user.id, "user.id"),
        user.login,
        display or user.login,
        exclude=uow.factors.credential_ids(user.id),
        challenge=challenge,
    )


def assertion(ctx: Context, uow: UnitOfWork, factors: list[Factor]) -> ceremony.Options:
    """Options for ``navigator.credentials.get``, allowing ``factors``' credentials."""
    allow = [c.credential_id for f in factors if (c := uow.factors.credential(f.id)) is not None]
    return ceremony.assertion_options(relying_party(ctx), allow)


def challenge_of(encoded: str | None) -> bytes:
    """The issued challenge, or the refusal when there is none (never issued,
    answered already, or expired)."""
    if not encoded:
        raise ApiError(
            "E0000068",
            causes=["No WebAuthn challenge is waiting for this answer: ask for a new one."],
        )
    return ceremony.from_b64url(encoded, "challenge")


def register(
    ctx: Context, uow: UnitOfWork, factor: Factor, challenge: bytes, body: dict[str, Any]
) -> None:
    """Check an attestation against ``challenge``; keep the credential and put
    its id in the factor's profile (the caller sets the status and saves)."""
    try:
        credential = ceremony.verify_registration(
            relying_party(ctx), challenge, body.get("attestation"), body.get("clientData")
        )
    except ceremony.Malformed as exc:
        raise _malformed(exc) from exc
    except ceremony.Refused as exc:
        raise ApiError("E0000068", causes=[exc.cause]) from exc
    credential = dataclasses.replace(credential, transports=_transports(body.get("transports")))
    try:
        uow.factors.add_credential(factor.id, credential, ctx.clock())
    except DuplicateKey as exc:
        raise ApiError("E0000068", causes=["This authenticator is registered already."]) from exc
    factor.profile = {
        **factor.profile,
        "credentialId": ceremony.b64url(credential.credential_id),
        "authenticatorName": factor.profile.get("authenticatorName") or DEFAULT_NAME,
    }


def check_assertion(
    ctx: Context, uow: UnitOfWork, factor: Factor, challenge: bytes, body: dict[str, Any]
) -> None:
    """Check an assertion by ``factor``'s credential against ``challenge`` and
    move its signature counter; refused otherwise."""
    credential = uow.factors.credential(factor.id)
    if credential is None:
        raise ApiError("E0000068", causes=["The factor has no registered credential."])
    try:
        count = ceremony.verify_assertion(
            relying_party(ctx),
            challenge,
            credential,
            body.get("clientData"),
            body.get("authenticatorData"),
            body.get("signatureData"),
        )
    except ceremony.ClonedAuthenticator as exc:
        log.warning(
            "webauthn factor %s of user %s refused: the signature counter did not grow "
            "past %d (a cloned authenticator?)",
            factor.id,
            factor.user_id,
            credential.sign_count,
        )
        raise ApiError("E0000068", causes=[exc.cause]) from exc
    except ceremony.Malformed as exc:
        raise _malformed(exc) from exc
    except ceremony.Refused as exc:
        raise ApiError("E0000068", causes=[exc.cause]) from exc
    if not uow.factors.advance_sign_count(factor.id, credential.sign_count, count):
        raise ApiError(
            "E0000068",
            causes=["Another answer from this authenticator was verified at the same time."],
        )


#: The transports of WebAuthn Level 3; anything else a browser sends is dropped.
TRANSPORTS = frozenset({"usb", "nfc", "ble", "smart-card", "hybrid", "internal"})


def _transports(value: Any) -> tuple[str, ...]:
    """``transports`` as the Sign-In Widget sends it (a JSON array in a string,
    from ``getTransports()``) or as an array: kept for the record, never trusted."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(t for t in value if isinstance(t, str) and t in TRANSPORTS))


def _malformed(exc: ceremony.Malformed) -> ValidationFailed:
    return ValidationFailed(exc.field, [str(exc)])
