"""Parts Okta's recorded answers share: sources, formats, links, the embedded
user and policies, and factor objects per factor type.

``okta_structures`` builds a shape per status from them; its docstring says
how each was derived from the recordings.
"""

from __future__ import annotations

from tests.golden.structure import (
    ARRAY,
    BOOLEAN,
    NULL,
    NUMBER,
    OBJECT,
    STRING,
    Format,
    Link,
    Shape,
    Source,
)

AUTH_JS = "2c925205d7a5d673e447e2e8db65484d27677165"
WIDGET = "5225c54fdab58649a28936fbe60f39ff8fb31834"


def auth_js(name: str) -> Source:
    return Source("okta/okta-auth-js", f"test/support/xhr/{name}", AUTH_JS)


def widget(name: str) -> Source:
    return Source("okta/okta-signin-widget", f"test/unit/helpers/xhr/{name}", WIDGET)


def playground(name: str) -> Source:
    path = f"playground/mocks/data/api/v1/authn/{name}"
    return Source("okta/okta-signin-widget", path, WIDGET)


# ---- formats: what every real recorded value has ------------------------------------------

TIMESTAMP = Format("ISO 8601 UTC with milliseconds", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
#: 42 base64url characters in every real recording (most begin ``00``).
STATE_TOKEN = Format("42 base64url characters", r"[0-9A-Za-z_-]{42}")
#: okta-auth-js's success.js has 42 characters; Okta's reference shows
#: 55-character tokens beginning ``20111``.
SESSION_TOKEN = Format("42 or more base64url characters", r"[0-9A-Za-z_-]{42,}")
USER_ID = Format("00u and 17 alphanumerics", r"00u[0-9A-Za-z]{17}")
#: A three-letter type prefix (sms, mbl, clf, emf, ufs, uft, ost …) and 17 alphanumerics.
FACTOR_ID = Format("a 3-letter prefix and 17 alphanumerics", r"[a-z]{3}[0-9A-Za-z]{17}")
#: 25 characters in all 36 recorded error answers.
ERROR_ID = Format("oae and 22 base64url characters", r"oae[0-9A-Za-z_-]{22}")
MASKED_PHONE = Format("+1 XXX-XXX-dddd", r"\+1 XXX-XXX-\d{4}")
MASKED_EMAIL = Format("x...y@domain", r"[^@]\.\.\.[^@]@[^@.]+(\.[^@.]+)+")
BASE32 = Format("base32", r"[A-Z2-7]{16,}")

# ---- building blocks ------------------------------------------------------------------------


def link_keys(at: str, *, named: bool = False) -> dict[str, str]:
    """The key paths of a link object at ``at`` (``href``, ``hints.allow``, a ``name``)."""
    keys = {
        at: OBJECT,
        f"{at}.href": STRING,
        f"{at}.hints": OBJECT,
        f"{at}.hints.allow": ARRAY,
        f"{at}.hints.allow[]": STRING,
    }
    return {**keys, f"{at}.name": STRING} if named else keys


def below(at: str, keys: dict[str, str]) -> dict[str, str]:
    """``keys`` without ``at`` itself: what is required when ``at``, optional, is there."""
    return {path: kind for path, kind in keys.items() if path != at}


def authn(path: str, *names: str) -> Link:
    """A link to ``/api/v1/authn{path}`` that allows POST."""
    return Link(f"/api/v1/authn{path}", names=names, allow=("POST",))


def status(name: str) -> dict[str, frozenset[str]]:
    return {"status": frozenset({name})}


TRANSACTION = {"stateToken": STRING, "expiresAt": STRING, "status": STRING}
TRANSACTION_FORMATS = {"stateToken": STATE_TOKEN, "expiresAt": TIMESTAMP}
#: ``_embedded.user``: the same five profile fields, all strings, in every recording.
USER = {
    "_embedded": OBJECT,
    "_embedded.user": OBJECT,
    "_embedded.user.id": STRING,
    "_embedded.user.profile": OBJECT,
    **{
        f"_embedded.user.profile.{name}": STRING
        for name in ("login", "firstName", "lastName", "locale", "timeZone")
    },
}
PASSWORD_CHANGED = {"_embedded.user.passwordChanged": STRING}
USER_FORMATS = {"_embedded.user.id": USER_ID, "_embedded.user.passwordChanged": TIMESTAMP}
CANCEL = {"_links": OBJECT, **link_keys("_links.cancel")}
CANCEL_LINK = {"_links.cancel": authn("/cancel")}
RELAY_STATE = {"relayState": STRING}

#: Okta's MFA policy in MFA_REQUIRED and MFA_CHALLENGE. ``factorsPolicyInfo``
#: is keyed by the ids of push factors (``{"autoPushEnabled": boolean}``
#: each); recordings without a push factor have ``{}`` (playground
#: mfa-required-email.json, mfa-challenge-email.json).
MFA_POLICY = {
    "_embedded.policy.allowRememberDevice": BOOLEAN,
    "_embedded.policy.rememberDeviceByDefault": BOOLEAN,
    "_embedded.policy.rememberDeviceLifetimeInMinutes": NUMBER,
}
FACTORS_POLICY_INFO = "_embedded.policy.factorsPolicyInfo"

MIN_COUNTS = ("minLength", "minLowerCase", "minUpperCase", "minNumber", "minSymbol")
#: Every key of the password policy embedded in PASSWORD_WARN,
#: PASSWORD_EXPIRED and PASSWORD_RESET that any of their recordings has.
PASSWORD_POLICY = {
    "_embedded.policy": OBJECT,
    "_embedded.policy.expiration": OBJECT,
    "_embedded.policy.expiration.passwordExpireDays": NUMBER,
    "_embedded.policy.complexity": OBJECT,
    **{f"_embedded.policy.complexity.{name}": NUMBER for name in MIN_COUNTS},
    "_embedded.policy.complexity.excludeUsername": BOOLEAN,
    "_embedded.policy.complexity.excludeAttributes": ARRAY,
    "_embedded.policy.complexity.excludeAttributes[]": STRING,
    "_embedded.policy.age": OBJECT,
    "_embedded.policy.age.minAgeMinutes": NUMBER,
    "_embedded.policy.age.historyCount": NUMBER,
}


def password_policy(*required: str) -> tuple[dict[str, str], dict[str, str]]:
    """(required, optional) key paths of the embedded password policy: those
    named (below ``_embedded.policy``) are required, the rest optional."""
    named = {".".join(("_embedded.policy", name)).rstrip(".") for name in required}
    return (
        {path: kind for path, kind in PASSWORD_POLICY.items() if path in named},
        {path: kind for path, kind in PASSWORD_POLICY.items() if path not in named},
    )


# ---- factor objects, per factor type --------------------------------------------------------

TYPES = ("sms", "call", "email", "question", "token:software:totp")
PROFILE = {
    "sms": {"profile": OBJECT, "profile.phoneNumber": STRING},
    "call": {"profile": OBJECT, "profile.phoneNumber": STRING},
    "email": {"profile": OBJECT, "profile.email": STRING},
    "question": {"profile": OBJECT, "profile.question": STRING, "profile.questionText": STRING},
    "token:software:totp": {"profile": OBJECT, "profile.credentialId": STRING},
}
#: Before SUCCESS Okta shows contact details masked.
MASKED = {
    "sms": {"profile.phoneNumber": MASKED_PHONE},
    "call": {"profile.phoneNumber": MASKED_PHONE},
    "email": {"profile.email": MASKED_EMAIL},
}
PROVIDER = {kind: frozenset({"OKTA"}) for kind in TYPES} | {
    "token:software:totp": frozenset({"OKTA", "GOOGLE"})
}
FACTOR = {"id": STRING, "factorType": STRING, "provider": STRING}


def kind_values(kind: str) -> dict[str, frozenset[str]]:
    return {
        "factorType": frozenset({kind}),
        "provider": PROVIDER[kind],
        "vendorName": PROVIDER[kind],
    }


def listed_factor(kind: str, sources: tuple[Source, ...]) -> Shape:
    """A factor in MFA_REQUIRED's ``_embedded.factors[]``."""
    return Shape(
        listed_factor.__doc__ or "",
        sources,
        required={**FACTOR, **PROFILE[kind], "_links": OBJECT, **link_keys("_links.verify")},
        optional={"vendorName": STRING},
        formats={"id": FACTOR_ID, **MASKED.get(kind, {})},
        values=kind_values(kind),
        links={"_links.verify": authn("/factors/{factorId}/verify")},
    )


def challenged_factor(kind: str, sources: tuple[Source, ...]) -> Shape:
    """MFA_CHALLENGE's ``_embedded.factor``: sms, call and email carry
    ``_embedded.verification: null``; only the playground's email recording
    has no ``_embedded`` at all."""
    embedded = {"_embedded": OBJECT}
    return Shape(
        challenged_factor.__doc__ or "",
        sources,
        required={
            **FACTOR,
            **PROFILE[kind],
            **({} if kind == "email" else embedded),
            "_embedded.verification": NULL,
        },
        optional={"vendorName": STRING, **(embedded if kind == "email" else {})},
        formats={"id": FACTOR_ID, **MASKED.get(kind, {})},
        values=kind_values(kind),
    )


def offered_factor(kind: str, sources: tuple[Source, ...]) -> Shape:
    """A factor MFA_ENROLL offers (``_embedded.factors[]``): no id, an enroll
    link for every factor, set up or not (playground
    mfa-enroll-email-with-sms-enrolled.json: an ACTIVE sms keeps it)."""
    per_type: dict[str, dict[str, str]] = {
        "question": link_keys("_links.questions"),
        "email": {"_embedded": OBJECT, "_embedded.emails": ARRAY},
        "sms": PHONES,
        "call": PHONES,
        "token:software:totp": {
            "policy.enrollment": OBJECT,
            **{f"policy.enrollment.{k}": NUMBER for k in ("enrolled", "minimum", "maximum")},
        },
    }
    optional_per_type = {
        "sms": {"_embedded": OBJECT},
        "call": {"_embedded": OBJECT},
        "token:software:totp": {"policy": OBJECT},
    }
    return Shape(
        offered_factor.__doc__ or "",
        sources,
        required={
            "factorType": STRING,
            "provider": STRING,
            "_links": OBJECT,
            **link_keys("_links.enroll"),
            **per_type[kind],
        },
        optional={
            "vendorName": STRING,
            "status": STRING,
            "enrollment": STRING,
            **optional_per_type.get(kind, {}),
        },
        values={
            **kind_values(kind),
            "status": frozenset({"NOT_SETUP", "ACTIVE"}),
            "enrollment": frozenset({"REQUIRED", "OPTIONAL"}),
        },
        links={
            "_links.enroll": authn("/factors"),
            "_links.questions": Link("/api/v1/users/{userId}/factors/questions", allow=("GET",)),
        },
    )


#: sms and call factors offered to a user who has a phone already
#: (MFA_ENROLL_smsFactor_existingPhone.js, MFA_ENROLL_callFactor_existingPhone.js).
PHONES = {
    "_embedded.phones": ARRAY,
    "_embedded.phones[]": OBJECT,
    "_embedded.phones[].id": STRING,
    "_embedded.phones[].profile": OBJECT,
    "_embedded.phones[].profile.phoneNumber": STRING,
    "_embedded.phones[].status": STRING,
}


def enrolling_factor(kind: str, sources: tuple[Source, ...]) -> Shape:
    """MFA_ENROLL_ACTIVATE's ``_embedded.factor``; a TOTP factor carries its
    activation (shared secret and QR code)."""
    activation = "_embedded.activation"
    totp = {
        "_embedded": OBJECT,
        activation: OBJECT,
        f"{activation}.timeStep": NUMBER,
        f"{activation}.sharedSecret": STRING,
        f"{activation}.encoding": STRING,
        f"{activation}.keyLength": NUMBER,
        f"{activation}._links": OBJECT,
        f"{activation}._links.qrcode": OBJECT,
        f"{activation}._links.qrcode.href": STRING,
        f"{activation}._links.qrcode.type": STRING,
    }
    is_totp = kind == "token:software:totp"
    return Shape(
        enrolling_factor.__doc__ or "",
        sources,
        required={**FACTOR, **PROFILE[kind], **(totp if is_totp else {})},
        optional={
            "vendorName": STRING,
            **({f"{activation}.factorResult": STRING} if is_totp else {}),
        },
        formats={
            "id": FACTOR_ID,
            **MASKED.get(kind, {}),
            **({f"{activation}.sharedSecret": BASE32} if is_totp else {}),
        },
        values={
            **kind_values(kind),
            **(
                {
                    f"{activation}.encoding": frozenset({"base32"}),
                    f"{activation}._links.qrcode.type": frozenset({"image/png"}),
                }
                if is_totp
                else {}
            ),
        },
        links={
            f"{activation}._links.qrcode": Link(
                "/api/v1/users/{userId}/factors/{factorId}/qr/{token}"
            )
        },
    )
