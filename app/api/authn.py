"""``/api/v1/authn``: Okta's classic Authentication API.

Routes parse the request and call ``app.services.authn``; the answer (a
``View``) is rendered here in Okta's shape: ``status``, ``stateToken``,
``expiresAt``, ``_embedded`` and the ``_links`` valid in that status, with
absolute URLs from ``BASE_URL``. No credential is needed: the ``stateToken``
is the credential.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields

from app.api import schemas
from app.api.okta_render import hinted, webauthn_activation
from app.api.runtime import context
from app.api.sessions import session_cookie
from app.domain.authn import RecoveryType, Status
from app.domain.clock import okta_timestamp
from app.domain.factors import Factor, Verification, totp
from app.domain.masking import mask_profile
from app.services import authn
from app.services.authn import View
from app.services.context import Context

_LIMIT_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (
        ("X-Rate-Limit-Limit", "Requests allowed per window to this client"),
        ("X-Rate-Limit-Remaining", "Requests left in the window"),
        ("X-Rate-Limit-Reset", "When the window ends (epoch seconds)"),
    )
}
#: No credential; the per-client rate limit (app/api/rate_limits.py) applies.
PUBLIC: dict[str, Any] = {
    "security": [],
    "responses": {
        "429": {
            "description": "E0000047: the client went over RATE_LIMIT_AUTHN",
            "headers": {
                **_LIMIT_HEADERS,
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
            },
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OktaError"}}},
        }
    },
}
blp = Blueprint(
    "authn",
    __name__,
    url_prefix="/api/v1/authn",
    description="Okta Authentication API: the sign-in transaction (no API token; "
    "the stateToken is the credential)",
)

#: The profile fields an answer shows (Okta's: never the e-mail address or phone).
PROFILE_FIELDS = ("login", "firstName", "lastName", "locale", "timeZone")
#: Statuses whose answers carry no ``_embedded.user``. RECOVERY_CHALLENGE is
#: answered for anybody who types a username (a decoy for unknown users has no
#: user to show), so it names nobody, as in Okta's reference.
NO_USER = frozenset({Status.UNAUTHENTICATED, Status.LOCKED_OUT, Status.RECOVERY_CHALLENGE})


# ---- request schemas (types only; the engine checks meaning) -------------------------------


def _text(description: str | None = None, **kwargs: Any) -> fields.String:
    """A string the engine refuses when empty or only spaces ("The field cannot
    be left blank"): the document says so (``NON_BLANK``); the engine refuses."""
    metadata = {**schemas.NON_BLANK, **({"description": description} if description else {})}
    return fields.String(metadata=metadata, **kwargs)


class AuthnPrimarySchema(schemas.Lenient):
    username = fields.String(metadata=schemas.NOT_EMPTY)
    password = schemas.password_field(metadata=schemas.NOT_EMPTY)
    relayState = schemas.relay_state_field()
    options = fields.Dict(
        metadata={"description": "multiOptionalFactorEnroll, warnBeforePasswordExpired"}
    )
    context_ = fields.Dict(
        data_key="context", attribute="context", metadata={"description": "deviceToken"}
    )
    stateToken = _text("alone: read the transaction")
    token = _text("alone: an activation token (e-mailed link)")


#: The three calls ``POST /api/v1/authn`` is, told apart by the body's shape.
PRIMARY_SHAPES: dict[str, Any] = {
    "allOf": [AuthnPrimarySchema],
    "anyOf": [
        {"required": ["username", "password"], "description": "primary authentication"},
        {"required": ["stateToken"], "description": "read the transaction"},
        {"required": ["token"], "description": "an activation token"},
    ],
}


class AuthnStateTokenSchema(schemas.Lenient):
    stateToken = _text(required=True)


class AuthnEnrollSchema(AuthnStateTokenSchema):
    factorType = _text(required=True)
    provider = fields.String()
    profile = fields.Dict()


class AuthnPassCodeSchema(AuthnStateTokenSchema):
    passCode = _text()


#: The engine refuses a missing passCode itself, after the transaction's own
#: checks (so a decoy answers as a real one does): required in the document only.
PASSCODE_REQUIRED: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {"allOf": [AuthnPassCodeSchema], "required": ["passCode"]}
            }
        }
    }
}


class AuthnActivateSchema(AuthnPassCodeSchema):
    """``passCode``; for WebAuthn, the registration's ``attestation`` and ``clientData``."""

    attestation = fields.String(metadata={"description": "WebAuthn: attestation object, base64url"})
    clientData = fields.String(metadata={"description": "WebAuthn: client data JSON, base64url"})
    transports = fields.Raw(
        allow_none=True,
        metadata={"description": "WebAuthn: the authenticator's transports (a JSON array)"},
    )


class AuthnVerifySchema(AuthnStateTokenSchema):
    passCode = fields.String()
    answer = fields.String()
    rememberDevice = fields.Boolean()
    clientData = fields.String(metadata={"description": "WebAuthn: client data JSON, base64url"})
    authenticatorData = fields.String(metadata={"description": "WebAuthn: base64url"})
    signatureData = fields.String(metadata={"description": "WebAuthn: signature, base64url"})


class AuthnRememberQuery(schemas.Lenient):
    rememberDevice = fields.Boolean()


class AuthnChangePasswordSchema(AuthnStateTokenSchema):
    oldPassword = schemas.password_field(required=True)
    newPassword = schemas.password_field(required=True)


class AuthnResetPasswordSchema(AuthnStateTokenSchema):
    newPassword = schemas.password_field(required=True)


class AuthnAnswerSchema(AuthnStateTokenSchema):
    answer = _text(required=True)


class AuthnRecoverySchema(schemas.Lenient):
    username = fields.String(required=True, metadata=schemas.NOT_EMPTY)
    factorType = fields.String(
        required=True,
        metadata={
            "description": "SMS, CALL or EMAIL (any case)",
            "pattern": "^([Ss][Mm][Ss]|[Cc][Aa][Ll][Ll]|[Ee][Mm][Aa][Ii][Ll])$",
        },
    )
    relayState = schemas.relay_state_field()


class AuthnRecoveryTokenSchema(schemas.Lenient):
    recoveryToken = _text(required=True)
    relayState = schemas.relay_state_field()


class AuthnTransactionSchema(schemas.Lenient):
    stateToken = fields.String()
    expiresAt = fields.String()
    status = fields.String()
    sessionToken = fields.String()
    relayState = fields.String()
    factorResult = fields.String()
    factorType = fields.String()
    recoveryType = fields.String()
    embedded = fields.Dict(data_key="_embedded", attribute="_embedded")
    links = fields.Dict(data_key="_links", attribute="_links")


# ---- rendering ----------------------------------------------------------------------------------


def _url(ctx: Context, path: str) -> str:
    return ctx.url(f"/api/v1/authn{path}")


def _post(ctx: Context, path: str, name: str | None = None) -> dict[str, Any]:
    link = hinted(_url(ctx, path), "POST")
    return {"name": name, **link} if name else link


def _user_json(ctx: Context, view: View) -> dict[str, Any]:
    user = view.user
    assert user is not None
    profile = {name: user.profile.get(name) for name in PROFILE_FIELDS}
    # Okta always sends strings here: the user's own, else the org's defaults.
    profile["locale"] = profile["locale"] or ctx.settings.default_locale
    profile["timeZone"] = profile["timeZone"] or ctx.settings.default_time_zone
    body: dict[str, Any] = {
        "id": user.id,
        "passwordChanged": okta_timestamp(user.password_changed),
        "profile": profile,
    }
    if view.status is Status.RECOVERY and user.recovery_question is not None:
        body["recovery_question"] = {"question": user.recovery_question.question}
    return body


def _factor_json(ctx: Context, factor: Factor, link: str | None) -> dict[str, Any]:
    """A factor in an answer before SUCCESS: whoever has only the password must not
    learn the phone number or address from it, so they are masked as Okta masks
    them, even for a factor the caller is enrolling (Okta masks those too)."""
    body: dict[str, Any] = {
        "id": factor.id,
        "factorType": factor.factor_type,
        "provider": factor.provider,
        "vendorName": factor.kind.vendor_name,
        "profile": mask_profile(factor.profile),
    }
    if link:
        body["_links"] = {"verify": _post(ctx, f"/factors/{factor.id}/verify")}
    return body


def _activation(ctx: Context, factor: Factor, qr_token: str) -> dict[str, Any]:
    qr = ctx.url(f"/api/v1/users/{factor.user_id}/factors/{factor.id}/qr/{qr_token}")
    return {
        "activation": {
            "timeStep": totp.STEP_SECONDS,
            "sharedSecret": factor.secret,
            "encoding": "base32",
            "keyLength": totp.DIGITS,
            "_links": {"qrcode": {"href": qr, "type": "image/png"}},
        }
    }


def _enrollable_json(ctx: Context, view: View) -> list[dict[str, Any]]:
    assert view.user is not None
    out = []
    for kind, enrollment, factor in view.enrollable:
        links: dict[str, Any] = {}
        if kind.verification == Verification.ANSWER:
            links["questions"] = hinted(
                ctx.url(f"/api/v1/users/{view.user.id}/factors/questions"), "GET"
            )
        links["enroll"] = _post(ctx, "/factors")  # Okta keeps it on active factors too
        entry: dict[str, Any] = {
            "factorType": kind.factor_type,
            "provider": kind.provider,
            "vendorName": kind.vendor_name,
            "_links": links,
            "status": "ACTIVE" if factor is not None else "NOT_SETUP",
            "enrollment": enrollment,
        }
        if kind.channel == "email":  # Okta lists the user's addresses here (none in practice)
            entry["_embedded"] = {"emails": []}
        out.append(entry)
    return out


def _mfa_policy(view: View) -> dict[str, Any]:
    assert view.policy is not None
    sign_on = view.policy.sign_on
    allow = sign_on.factor_prompt_mode.value == "DEVICE"
    return {
        "allowRememberDevice": allow,
        "rememberDeviceLifetimeInMinutes": sign_on.factor_lifetime_minutes if allow else 0,
        "rememberDeviceByDefault": allow and sign_on.remember_device_by_default,
        "factorsPolicyInfo": {},
    }


def _password_policy(view: View, *, expiration: bool) -> dict[str, Any]:
    assert view.policy is not None
    complexity = view.policy.password.complexity
    body: dict[str, Any] = {}
    if expiration:
        body["expiration"] = {"passwordExpireDays": view.password_expire_days}
    body["complexity"] = {
        "minLength": complexity.min_length,
        "minLowerCase": complexity.min_lower_case,
        "minUpperCase": complexity.min_upper_case,
        "minNumber": complexity.min_number,
        "minSymbol": complexity.min_symbol,
        "excludeUsername": complexity.exclude_username,
        "excludeAttributes": list(complexity.exclude_attributes),
    }
    body["age"] = {
        "minAgeMinutes": view.policy.password.min_age_minutes,
        "historyCount": complexity.history_count,
    }
    return body


def render(ctx: Context, view: View) -> dict[str, Any]:
    """A View as Okta's transaction object."""
    status = view.status
    body: dict[str, Any] = {}
    if view.state_token:
        body["stateToken"] = view.state_token
    if view.expires_at is not None:
        body["expiresAt"] = okta_timestamp(view.expires_at)
    body["status"] = status.value
    if view.session_token:
        body["sessionToken"] = view.session_token
    if view.relay_state is not None:
        body["relayState"] = view.relay_state
    if view.factor_result:
        body["factorResult"] = view.factor_result
    if view.recovery_factor_type and status is Status.RECOVERY_CHALLENGE:
        body["factorType"] = view.recovery_factor_type
    if view.recovery_type:
        body["recoveryType"] = view.recovery_type
    embedded: dict[str, Any] = {}
    links: dict[str, Any] = {}
    if view.user is not None and status not in NO_USER:
        embedded["user"] = _user_json(ctx, view)
    has_tx = view.state_token is not None
    if status is Status.MFA_REQUIRED:
        embedded["factors"] = [_factor_json(ctx, f, "verify") for f in view.factors]
        embedded["policy"] = _mfa_policy(view)
    elif status is Status.MFA_ENROLL:
        embedded["factors"] = _enrollable_json(ctx, view)
        if view.can_skip:
            links["skip"] = _post(ctx, "/skip")
    elif status is Status.MFA_ENROLL_ACTIVATE and view.factor is not None:
        factor = view.factor
        embedded["factor"] = _factor_json(ctx, factor, None)
        if view.qr_token:
            embedded["factor"]["_embedded"] = _activation(ctx, factor, view.qr_token)
        if view.activation is not None:
            embedded["factor"]["_embedded"] = {"activation": webauthn_activation(view.activation)}
        links["next"] = _post(ctx, f"/factors/{factor.id}/lifecycle/activate", "activate")
        links["prev"] = _post(ctx, "/previous")
        if factor.kind.channel:
            links["resend"] = [
                _post(ctx, f"/factors/{factor.id}/lifecycle/resend", factor.kind.channel)
            ]
    elif status is Status.MFA_CHALLENGE and view.factor is not None:
        factor = view.factor
        embedded["factor"] = _factor_json(ctx, factor, None)
        if view.webauthn_challenge:  # the Sign-In Widget's MFA_CHALLENGE_webauthn fixture
            challenge = {"challenge": view.webauthn_challenge, "extensions": {}}
            embedded["factor"]["_embedded"] = {"challenge": challenge}
        else:  # Okta's recordings of a sent code carry an empty verification slot.
            embedded["factor"]["_embedded"] = {"verification": None}
        embedded["policy"] = _mfa_policy(view)
        links["next"] = _post(ctx, f"/factors/{factor.id}/verify", "verify")
        links["prev"] = _post(ctx, "/previous")
        if factor.kind.channel:
            links["resend"] = [
                _post(ctx, f"/factors/{factor.id}/verify/resend", factor.kind.channel)
            ]
    elif status is Status.PASSWORD_WARN:
        embedded["policy"] = _password_policy(view, expiration=True)
        links["next"] = _post(ctx, "/credentials/change_password", "changePassword")
        links["skip"] = _post(ctx, "/skip", "skip")
    elif status is Status.PASSWORD_EXPIRED:
        embedded["policy"] = _password_policy(view, expiration=False)
        links["next"] = _post(ctx, "/credentials/change_password", "changePassword")
    elif status is Status.PASSWORD_RESET:
        embedded["policy"] = _password_policy(view, expiration=False)
        links["next"] = _post(ctx, "/credentials/reset_password", "resetPassword")
    elif status is Status.RECOVERY:
        links["next"] = _post(ctx, "/recovery/answer", "answer")
    elif status is Status.RECOVERY_CHALLENGE and has_tx:
        kind = view.recovery_factor_type or "SMS"
        links["next"] = _post(ctx, f"/recovery/factors/{kind}/verify", "verify")
        links["resend"] = _post(ctx, f"/recovery/factors/{kind}/resend", kind.lower())
    elif status is Status.LOCKED_OUT:
        if view.policy and view.policy.password.self_service_unlock:
            links["next"] = _post(ctx, "/recovery/unlock", "unlock")  # only when it would work
        body["_embedded"] = {}  # as Okta sends it: empty, and a cancel link
        links["cancel"] = _post(ctx, "/cancel")
    if has_tx:
        links["cancel"] = _post(ctx, "/cancel")
    if embedded:
        body["_embedded"] = embedded
    if links:
        body["_links"] = _order(links)
    return body


def _order(links: dict[str, Any]) -> dict[str, Any]:
    order = ("next", "prev", "skip", "cancel", "resend")
    return {key: links[key] for key in order if key in links}


def _answer(view: View) -> dict[str, Any]:
    return render(context(), view)


# ---- routes -------------------------------------------------------------------------------------


@blp.route("", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.doc(requestBody={"content": {"application/json": {"schema": PRIMARY_SHAPES}}})
@blp.arguments(AuthnPrimarySchema)
@blp.response(200, AuthnTransactionSchema)
def primary(body: dict[str, Any]) -> dict[str, Any]:
    """Primary authentication (username and password), or ``{stateToken}`` alone
    to read the transaction's current state."""
    ctx = context()
    # The body's shape says which call it is: a username and a password sign
    # in; else a stateToken reads, a token activates (PRIMARY_SHAPES).
    if body.get("username") is None or body.get("password") is None:
        if body.get("stateToken") is not None:
            return _answer(authn.read(ctx, body.get("stateToken")))
        if body.get("token") is not None:
            return _answer(authn.activate(ctx, body))
    return _answer(authn.primary(ctx, body, session_cookie(ctx)))


@blp.route("/factors", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnEnrollSchema)
@blp.response(200, AuthnTransactionSchema)
def enroll_factor(body: dict[str, Any]) -> dict[str, Any]:
    """MFA_ENROLL: enroll one of the offered factors."""
    return _answer(authn.enroll_factor(context(), body["stateToken"], body))


@blp.route("/factors/<string:factor_id>/lifecycle/activate", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnActivateSchema)
@blp.response(200, AuthnTransactionSchema)
def activate_factor(body: dict[str, Any], factor_id: str) -> dict[str, Any]:
    """MFA_ENROLL_ACTIVATE: activate the new factor with its first code
    (``passCode``), or a WebAuthn factor with ``attestation`` and ``clientData``."""
    return _answer(authn.activate_factor(context(), body["stateToken"], factor_id, body))


@blp.route("/factors/<string:factor_id>/lifecycle/resend", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnStateTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def resend_activation(body: dict[str, Any], factor_id: str) -> dict[str, Any]:
    """MFA_ENROLL_ACTIVATE: send a new activation code (SMS, call, e-mail)."""
    return _answer(authn.resend_activation(context(), body["stateToken"], factor_id))


@blp.route("/factors/<string:factor_id>/verify", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnRememberQuery, location="query")
@blp.arguments(AuthnVerifySchema)
@blp.response(200, AuthnTransactionSchema)
def verify_factor(query: dict[str, Any], body: dict[str, Any], factor_id: str) -> dict[str, Any]:
    """MFA_REQUIRED / MFA_CHALLENGE: ``passCode``, ``answer`` or a WebAuthn
    assertion (``clientData``, ``authenticatorData``, ``signatureData``); SMS,
    call and e-mail without a ``passCode``, and WebAuthn without an assertion,
    answer MFA_CHALLENGE (a code sent, or a challenge to sign)."""
    remember = query.get("rememberDevice", body.get("rememberDevice"))
    return _answer(authn.verify_factor(context(), body["stateToken"], factor_id, body, remember))


@blp.route("/factors/<string:factor_id>/verify/resend", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnStateTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def resend_challenge(body: dict[str, Any], factor_id: str) -> dict[str, Any]:
    """MFA_CHALLENGE: send the code again."""
    return _answer(authn.resend_challenge(context(), body["stateToken"], factor_id))


@blp.route("/introspect", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnStateTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def introspect(body: dict[str, Any]) -> dict[str, Any]:
    """The transaction's current state, changing nothing: what okta-auth-js's
    ``tx.introspect()`` (and a Sign-In Widget started with a ``stateToken``)
    posts. The same answer as ``POST /api/v1/authn`` with ``{stateToken}``."""
    return _answer(authn.read(context(), body["stateToken"]))


@blp.route("/previous", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnStateTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def previous(body: dict[str, Any]) -> dict[str, Any]:
    """Back from MFA_ENROLL_ACTIVATE or MFA_CHALLENGE."""
    return _answer(authn.previous(context(), body["stateToken"]))


@blp.route("/skip", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnStateTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def skip(body: dict[str, Any]) -> dict[str, Any]:
    """Skip PASSWORD_WARN, or the optional enrolments of MFA_ENROLL."""
    return _answer(authn.skip(context(), body["stateToken"]))


@blp.route("/cancel", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnStateTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def cancel(body: dict[str, Any]) -> dict[str, Any]:
    """End the transaction: its stateToken stops working."""
    return _answer(authn.cancel(context(), body["stateToken"]))


@blp.route("/credentials/change_password", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnChangePasswordSchema)
@blp.response(200, AuthnTransactionSchema)
def change_password(body: dict[str, Any]) -> dict[str, Any]:
    """PASSWORD_EXPIRED / PASSWORD_WARN: old and new password."""
    return _answer(authn.change_password(context(), body["stateToken"], body))


@blp.route("/credentials/reset_password", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnResetPasswordSchema)
@blp.response(200, AuthnTransactionSchema)
def reset_password(body: dict[str, Any]) -> dict[str, Any]:
    """PASSWORD_RESET: the new password."""
    return _answer(authn.reset_password(context(), body["stateToken"], body))


@blp.route("/recovery/password", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnRecoverySchema)
@blp.response(200, AuthnTransactionSchema)
def forgot_password(body: dict[str, Any]) -> dict[str, Any]:
    """Forgot password: a code by SMS or call, or a link by e-mail."""
    return _answer(authn.start_recovery(context(), body, RecoveryType.PASSWORD))


@blp.route("/recovery/unlock", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnRecoverySchema)
@blp.response(200, AuthnTransactionSchema)
def unlock(body: dict[str, Any]) -> dict[str, Any]:
    """Unlock a locked-out account: a code by SMS or call, or a link by e-mail."""
    return _answer(authn.start_recovery(context(), body, RecoveryType.UNLOCK))


@blp.route("/recovery/factors/<string:factor_type>/verify", methods=["POST"])
@blp.doc(**PASSCODE_REQUIRED)
@blp.doc(**PUBLIC)
@blp.arguments(AuthnPassCodeSchema)
@blp.response(200, AuthnTransactionSchema)
def recovery_verify(body: dict[str, Any], factor_type: str) -> dict[str, Any]:
    """RECOVERY_CHALLENGE: the code sent by SMS or call."""
    return _answer(authn.recovery_verify(context(), body["stateToken"], factor_type, body))


@blp.route("/recovery/factors/<string:factor_type>/resend", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnStateTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def recovery_resend(body: dict[str, Any], factor_type: str) -> dict[str, Any]:
    """RECOVERY_CHALLENGE: send the recovery code again."""
    return _answer(authn.recovery_resend(context(), body["stateToken"], factor_type))


@blp.route("/recovery/token", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnRecoveryTokenSchema)
@blp.response(200, AuthnTransactionSchema)
def recovery_token(body: dict[str, Any]) -> dict[str, Any]:
    """A recovery token (Users API reset_password, or the e-mailed link)."""
    return _answer(authn.recovery_token(context(), body))


@blp.route("/recovery/answer", methods=["POST"])
@blp.doc(**PUBLIC)
@blp.arguments(AuthnAnswerSchema)
@blp.response(200, AuthnTransactionSchema)
def recovery_answer(body: dict[str, Any]) -> dict[str, Any]:
    """RECOVERY: the answer to the user's recovery question."""
    return _answer(authn.recovery_answer(context(), body["stateToken"], body))
