"""``/api/v1/users/{uid}/factors``: Okta's Factors API, and the QR-code link."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.api import schemas
from app.api.admin_auth import require_api_token
from app.api.okta_render import catalog_entry_json, challenge_json, factor_json
from app.api.runtime import context
from app.domain.factors import question
from app.services import factor_verification, factors

blp = Blueprint(
    "factors",
    __name__,
    url_prefix="/api/v1/users/<string:user_id>/factors",
    description="Okta Factors API (SSWS)",
)
blp.before_request(require_api_token)

#: The QR code opens in a browser without an API token (as in Okta's guide):
#: the signed, short-lived link is the credential. The question catalog is
#: public too (the MFA_ENROLL answer of /authn links to it).
qr_blp = Blueprint("factor_qr", __name__, url_prefix="/api/v1/users/<string:user_id>/factors")


class EnrollQuery(schemas.Lenient):
    activate = fields.Boolean(load_default=False)
    updatePhone = fields.Boolean(load_default=False)
    tokenLifetimeSeconds = fields.Integer(validate=validate.Range(min=1, max=86400))
    templateId = fields.String()


class EnrollSchema(schemas.Lenient):
    factorType = fields.String(required=True)
    provider = fields.String(load_default="OKTA")
    profile = fields.Dict(keys=fields.String(), load_default=dict)


class ActivateSchema(schemas.Lenient):
    """``passCode``; for WebAuthn, the registration's ``attestation`` and
    ``clientData`` (base64url) instead."""

    passCode = fields.String()
    attestation = fields.String()
    clientData = fields.String()
    transports = fields.Raw(
        allow_none=True, metadata={"description": "WebAuthn: the authenticator's transports"}
    )


class VerifySchema(schemas.Lenient):
    """``passCode`` or ``answer``; for WebAuthn nothing (a challenge), then
    the assertion's ``clientData``, ``authenticatorData`` and ``signatureData``."""

    passCode = fields.String()
    answer = fields.String()
    clientData = fields.String()
    authenticatorData = fields.String()
    signatureData = fields.String()


class LifetimeQuery(schemas.Lenient):
    tokenLifetimeSeconds = fields.Integer(validate=validate.Range(min=1, max=86400))


class FactorSchema(schemas.Lenient):
    id = fields.String()
    factorType = fields.String()
    provider = fields.String()
    vendorName = fields.String()
    status = fields.String()
    created = fields.String()
    lastUpdated = fields.String()
    profile = fields.Dict()
    links = fields.Dict(data_key="_links", attribute="_links")
    embedded = fields.Dict(data_key="_embedded", attribute="_embedded")


class CatalogEntrySchema(schemas.Lenient):
    factorType = fields.String()
    provider = fields.String()
    vendorName = fields.String()
    status = fields.String()
    links = fields.Dict(data_key="_links", attribute="_links")


class QuestionSchema(schemas.Lenient):
    question = fields.String()
    questionText = fields.String()


class VerifyResultSchema(schemas.Lenient):
    factorResult = fields.String()
    profile = fields.Dict()
    links = fields.Dict(data_key="_links", attribute="_links")
    embedded = fields.Dict(data_key="_embedded", attribute="_embedded")


@blp.route("", methods=["GET"])
@blp.response(200, FactorSchema(many=True))
def list_factors(user_id: str) -> list[dict[str, Any]]:
    """The user's enrolled factors."""
    ctx = context()
    _, found = factors.list_factors(ctx, user_id)
    return [factor_json(ctx, f) for f in found]


@blp.route("/catalog", methods=["GET"])
@blp.response(200, CatalogEntrySchema(many=True))
def catalog(user_id: str) -> list[dict[str, Any]]:
    """Every factor type the user can enroll, with its status for this user."""
    ctx = context()
    user, entries = factors.catalog(ctx, user_id)
    return [catalog_entry_json(ctx, user.id, kind, f) for kind, f in entries]


@qr_blp.route("/questions", methods=["GET"])
@qr_blp.doc(security=[])
@qr_blp.response(200, QuestionSchema(many=True))
def questions(user_id: str) -> list[dict[str, str]]:
    """The security questions a ``question`` factor may use. No API token: the
    catalog is public, and sign-in pages read it during MFA enrolment.

    The same catalog for any ``user_id``, known or not, in any status: the
    user is not looked up, so the answer cannot tell who exists."""
    del user_id  # the catalog is the same for everybody
    return question.catalog()


@blp.route("", methods=["POST"])
@blp.arguments(EnrollQuery, location="query")
@blp.arguments(EnrollSchema)
@blp.response(200, FactorSchema)
def enroll(query: dict[str, Any], body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Enroll a factor: TOTP answers with the shared secret and a QR-code link,
    WebAuthn with the options for ``navigator.credentials.create``."""
    ctx = context()
    enrolled = factors.enroll(
        ctx,
        user_id,
        body,
        activate=query["activate"],
        update_phone=query["updatePhone"],
        token_lifetime=query.get("tokenLifetimeSeconds"),
    )
    return factor_json(ctx, enrolled.factor, enrolled.qr_token, enrolled.activation)


@blp.route("/<resource_id:factor_id>", methods=["GET"])
@blp.response(200, FactorSchema)
def get_factor(user_id: str, factor_id: str) -> dict[str, Any]:
    ctx = context()
    _, factor = factors.get_factor(ctx, user_id, factor_id)
    return factor_json(ctx, factor)


@blp.route("/<resource_id:factor_id>", methods=["DELETE"])
@blp.response(204)
def delete_factor(user_id: str, factor_id: str) -> tuple[str, int]:
    factors.delete(context(), user_id, factor_id)
    return "", 204


@blp.route("/<resource_id:factor_id>/lifecycle/activate", methods=["POST"])
@blp.arguments(ActivateSchema)
@blp.response(200, FactorSchema)
def activate(body: dict[str, Any], user_id: str, factor_id: str) -> dict[str, Any]:
    """Activate with the first code (TOTP from the app, or the code sent), or a
    WebAuthn factor with its registration (``attestation``, ``clientData``)."""
    ctx = context()
    _, factor = factor_verification.activate(ctx, user_id, factor_id, body)
    return factor_json(ctx, factor)


@blp.route("/<resource_id:factor_id>/resend", methods=["POST"])
@blp.route("/<resource_id:factor_id>/lifecycle/resend", methods=["POST"])
@blp.arguments(LifetimeQuery, location="query")
@blp.response(200, FactorSchema)
def resend(query: dict[str, Any], user_id: str, factor_id: str) -> dict[str, Any]:
    """Send a new activation code for a pending SMS, call or e-mail factor."""
    ctx = context()
    _, factor = factor_verification.resend(
        ctx, user_id, factor_id, query.get("tokenLifetimeSeconds")
    )
    return factor_json(ctx, factor)


@blp.route("/<resource_id:factor_id>/verify", methods=["POST"])
@blp.arguments(LifetimeQuery, location="query")
@blp.arguments(VerifySchema)
@blp.response(200, VerifyResultSchema)
def verify(
    query: dict[str, Any], body: dict[str, Any], user_id: str, factor_id: str
) -> dict[str, Any]:
    """``passCode``, ``answer`` or a WebAuthn assertion → SUCCESS; SMS, call,
    e-mail or WebAuthn without one → CHALLENGE."""
    ctx = context()
    _, factor, result = factor_verification.verify(
        ctx, user_id, factor_id, body, query.get("tokenLifetimeSeconds")
    )
    if result == factor_verification.FactorResult.CHALLENGE:
        return challenge_json(ctx, factor)
    return {"factorResult": result.value}


@qr_blp.route("/<resource_id:factor_id>/qr/<string:token>", methods=["GET"])
@qr_blp.doc(security=[])
@qr_blp.response(200, content_type="image/png")
def qr_code(user_id: str, factor_id: str, token: str) -> Response:
    """The enrolment QR code (PNG) for an authenticator app; signed, short-lived link."""
    png = factors.qr_png(context(), user_id, factor_id, token)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response
