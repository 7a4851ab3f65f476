"""``/auth/factors`` and ``/auth/challenges``: the WorkOS-style MFA API.

Authenticated with ``Authorization: Bearer sk_…``; objects, ids and errors in
WorkOS' shape so that the official SDKs parse them.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields

from app.api.runtime import context
from app.api.schemas import bounded_string
from app.domain import lengths
from app.domain.clock import okta_timestamp
from app.domain.workos_mfa import Challenge, WorkosFactor, unauthorized
from app.services import workos_mfa

WORKOS_SECURITY: list[dict[str, list[str]]] = [{"WorkOSApiKey": []}]

blp = Blueprint(
    "workos_mfa", __name__, url_prefix="/auth", description="WorkOS-style MFA API (Bearer sk_…)"
)


@blp.before_request
def require_api_key() -> None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized()
    workos_mfa.authenticate(context(), value.strip())


class _Body(Schema):
    class Meta:
        unknown = EXCLUDE


class WorkosEnrollSchema(_Body):
    type = fields.String(required=True, metadata={"enum": ["totp", "sms"]})
    totp_issuer = bounded_string(lengths.WORKOS_FACTOR_LABEL, allow_none=True)
    totp_user = bounded_string(lengths.WORKOS_FACTOR_LABEL, allow_none=True)
    # Stored as normalised (E.164, at most 16 characters); phonenumbers refuses
    # anything over 250 characters as sent, so no limit of its own here.
    phone_number = fields.String(allow_none=True)
    user_id = bounded_string(lengths.WORKOS_FACTOR_LABEL, allow_none=True)


#: What each factor type needs (the service refuses the rest with 422).
ENROLL_SHAPES: dict[str, Any] = {
    "allOf": [WorkosEnrollSchema],
    "anyOf": [
        {
            "properties": {
                "type": {"enum": ["totp"]},
                "totp_issuer": {"type": "string", "minLength": 1},
                "totp_user": {"type": "string", "minLength": 1},
            },
            "required": ["type", "totp_issuer", "totp_user"],
        },
        {
            "properties": {
                "type": {"enum": ["sms"]},
                "phone_number": {"type": "string", "minLength": 1},
            },
            "required": ["type", "phone_number"],
        },
    ],
}


class WorkosChallengeSchema(_Body):
    sms_template = fields.String(allow_none=True)


class WorkosVerifySchema(_Body):
    code = fields.String(required=True)


class WorkosFactorSchema(Schema):
    object = fields.String()
    id = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    type = fields.String()
    user_id = fields.String()
    totp = fields.Dict()
    sms = fields.Dict()


class WorkosChallengeOutSchema(Schema):
    object = fields.String()
    id = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    expires_at = fields.String()
    authentication_factor_id = fields.String()


class WorkosVerifyResultSchema(Schema):
    challenge = fields.Nested(WorkosChallengeOutSchema)
    valid = fields.Boolean()


def factor_json(
    factor: WorkosFactor, enrolled: workos_mfa.Enrolled | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "authentication_factor",
        "id": factor.id,
        "created_at": okta_timestamp(factor.created),
        "updated_at": okta_timestamp(factor.last_updated),
        "type": factor.type,
    }
    if factor.user_id is not None:
        body["user_id"] = factor.user_id
    if factor.type == "totp":
        body["totp"] = {"issuer": factor.totp_issuer, "user": factor.totp_user}
        if enrolled is not None and enrolled.qr_code:
            # The secret and QR code are shown in the enrolment answer only.
            body["totp"].update(qr_code=enrolled.qr_code, secret=factor.secret, uri=enrolled.uri)
    else:
        body["sms"] = {"phone_number": factor.phone_number}
    return body


def challenge_json(challenge: Challenge) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "authentication_challenge",
        "id": challenge.id,
        "created_at": okta_timestamp(challenge.created),
        "updated_at": okta_timestamp(challenge.updated),
    }
    if challenge.expires is not None:
        body["expires_at"] = okta_timestamp(challenge.expires)
    body["authentication_factor_id"] = challenge.factor_id
    return body


@blp.route("/factors/enroll", methods=["POST"])
@blp.doc(security=WORKOS_SECURITY)
@blp.doc(requestBody={"content": {"application/json": {"schema": ENROLL_SHAPES}}})
@blp.arguments(WorkosEnrollSchema)
@blp.response(201, WorkosFactorSchema)
def enroll(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Enroll a ``totp`` (``totp_issuer``, ``totp_user``) or ``sms`` (``phone_number``) factor."""
    enrolled = workos_mfa.enroll(
        context(),
        body["type"],
        totp_issuer=body.get("totp_issuer"),
        totp_user=body.get("totp_user"),
        phone_number=body.get("phone_number"),
        user_id=body.get("user_id"),
    )
    return factor_json(enrolled.factor, enrolled), 201


@blp.route("/factors/<resource_id:factor_id>", methods=["GET"])
@blp.doc(security=WORKOS_SECURITY)
@blp.response(200, WorkosFactorSchema)
def get_factor(factor_id: str) -> dict[str, Any]:
    return factor_json(workos_mfa.get_factor(context(), factor_id))


@blp.route("/factors/<resource_id:factor_id>", methods=["DELETE"])
@blp.doc(security=WORKOS_SECURITY)
@blp.response(204)
def delete_factor(factor_id: str) -> tuple[str, int]:
    workos_mfa.delete_factor(context(), factor_id)
    return "", 204


@blp.route("/factors/<resource_id:factor_id>/challenge", methods=["POST"])
@blp.doc(security=WORKOS_SECURITY)
@blp.arguments(WorkosChallengeSchema)
@blp.response(201, WorkosChallengeOutSchema)
def challenge(body: dict[str, Any], factor_id: str) -> tuple[dict[str, Any], int]:
    """Challenge a factor; SMS factors get a code (``sms_template`` with ``{{code}}``)."""
    record = workos_mfa.challenge(context(), factor_id, body.get("sms_template"))
    return challenge_json(record), 201


@blp.route("/challenges/<string:challenge_id>/verify", methods=["POST"])
@blp.doc(security=WORKOS_SECURITY)
@blp.arguments(WorkosVerifySchema)
@blp.response(200, WorkosVerifyResultSchema)
def verify(body: dict[str, Any], challenge_id: str) -> dict[str, Any]:
    """``{challenge, valid}``."""
    record, valid = workos_mfa.verify(context(), challenge_id, body["code"])
    return {"challenge": challenge_json(record), "valid": valid}
