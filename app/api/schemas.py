"""marshmallow schemas: what requests may carry and what responses look like.

Request schemas validate types and shapes (400 E0000001 on failure, via
app.api.errors); business rules live in the services. Response schemas exist
for the OpenAPI document and keep Okta's field names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.api.runtime import context
from app.domain import lengths
from app.domain.passwords import ALGORITHMS
from app.domain.users import REQUIRED_PROFILE_ATTRIBUTES, STANDARD_PROFILE_ATTRIBUTES

#: The cause of every string over its limit, fixed or a setting.
TOO_LONG = "The field cannot exceed {max} characters."

# ---- what the OpenAPI document says of strings the services check ----------
# (ECMA-262 patterns, as JSON Schema has them. Python's whitespace, which the
# services strip, is ECMA's \s plus \x1c-\x1f and \x85.)
SPACE = r"\s\x1c-\x1f\x85"
#: Refused when empty or only spaces: "The field cannot be left blank".
NON_BLANK: dict[str, Any] = {"minLength": 1, "pattern": f"[^{SPACE}]"}
#: Refused only when empty (a username or password may be spaces).
NOT_EMPTY: dict[str, Any] = {"minLength": 1}
#: What the services take for an e-mail address (and a login).
EMAIL_PATTERN = f"^[^@{SPACE}]+@[^@{SPACE}]+\\.[^@{SPACE}]+$"


def bounded_string(max_length: int, **kwargs: Any) -> fields.String:
    """A string of at most ``max_length`` characters (one of app.domain.lengths),
    shown as ``maxLength`` in the OpenAPI document. Too long is 400 E0000001
    with a cause naming the field, before a service or a column sees it."""
    return fields.String(validate=validate.Length(max=max_length, error=TOO_LONG), **kwargs)


def max_length_from(setting: str) -> Callable[[str], None]:
    """A validator: at most as many characters as the setting ``setting`` says
    (read per request, so the app's own settings apply). Too long is 400
    E0000001 with a cause naming the field."""

    def check(value: str) -> None:
        limit = int(getattr(context().settings, setting))
        if len(value) > limit:
            raise ValidationError(TOO_LONG.format(max=limit))

    return check


def password_field(**kwargs: Any) -> fields.String:
    """A password in clear: at most PASSWORD_MAX_LENGTH characters."""
    return fields.String(validate=max_length_from("password_max_length"), **kwargs)


def relay_state_field() -> fields.String:
    """Okta's ``relayState``: kept in the transaction, so at most RELAY_STATE_MAX_LENGTH."""
    return fields.String(
        allow_none=True,
        validate=max_length_from("relay_state_max_length"),
        metadata={"description": "kept for the transaction; at most RELAY_STATE_MAX_LENGTH"},
    )


class Lenient(Schema):
    """Okta ignores top-level attributes it does not know; so do we."""

    class Meta:
        unknown = EXCLUDE


class PasswordHashSchema(Lenient):
    algorithm = fields.String(required=True, validate=validate.OneOf(ALGORITHMS))
    value = fields.String(required=True)
    salt = fields.String()
    saltOrder = fields.String(validate=validate.OneOf(["PREFIX", "POSTFIX"]))
    workFactor = fields.Integer()


class PasswordSchema(Lenient):
    value = password_field()
    hash = fields.Nested(PasswordHashSchema)


class RecoveryQuestionSchema(Lenient):
    question = fields.String(required=True)
    answer = fields.String(required=True)


class CredentialsInSchema(Lenient):
    password = fields.Nested(PasswordSchema)
    recovery_question = fields.Nested(RecoveryQuestionSchema)
    provider = fields.Dict()


def _profile_doc(*, required: bool) -> dict[str, Any]:
    """Okta's default profile schema as the users service checks it
    (docs/users-api.md#profile-rules); any other attribute is custom."""
    email = {"type": "string", "pattern": EMAIL_PATTERN}
    properties: dict[str, Any] = {
        name: {"type": "string", "nullable": True} for name in STANDARD_PROFILE_ATTRIBUTES
    }
    properties.update(
        login={**email, "maxLength": lengths.LOGIN},
        email=email,
        secondEmail={"type": "string", "nullable": True, "pattern": f"^$|{EMAIL_PATTERN}"},
        firstName={"type": "string", **NON_BLANK},
        lastName={"type": "string", **NON_BLANK},
    )
    doc: dict[str, Any] = {"properties": properties}
    if required:
        doc["required"] = list(REQUIRED_PROFILE_ATTRIBUTES)
    return doc


class CreateUserSchema(Lenient):
    profile = fields.Dict(keys=fields.String(), required=True, metadata=_profile_doc(required=True))
    credentials = fields.Nested(CredentialsInSchema)
    groupIds = fields.List(fields.String(), load_default=list)


class UpdateUserSchema(Lenient):
    """``POST /api/v1/users/{id}``: only what is given changes (the result
    must still meet the profile rules)."""

    profile = fields.Dict(keys=fields.String(), metadata=_profile_doc(required=False))
    credentials = fields.Nested(CredentialsInSchema)


class ReplaceUserSchema(Lenient):
    """``PUT /api/v1/users/{id}``: the profile is replaced, so it is whole."""

    profile = fields.Dict(keys=fields.String(), required=True, metadata=_profile_doc(required=True))
    credentials = fields.Nested(CredentialsInSchema)


class CreateUserQuery(Lenient):
    activate = fields.Boolean(load_default=True)
    provider = fields.Boolean(load_default=False)
    nextLogin = fields.String(validate=validate.OneOf(["changePassword"]))


def cursor_field() -> fields.String:
    """A listing's ``after``: the cursor of a ``next`` link (the services'
    ``CURSOR``; empty: the first page)."""
    return bounded_string(lengths.CURSOR, metadata={"pattern": f"^({lengths.CURSOR_PATTERN})?$"})


def expression_field(description: str) -> fields.String:
    """A listing's ``q``, ``filter`` or ``search``."""
    return bounded_string(lengths.LIST_EXPRESSION, metadata={"description": description})


class ListQuery(Lenient):
    q = expression_field("prefix of firstName, lastName, email or login")
    filter = expression_field("an Okta filter expression")
    search = expression_field("an Okta search expression")
    after = cursor_field()
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1))


class SendEmailQuery(Lenient):
    sendEmail = fields.Boolean(load_default=True)


class ExpirePasswordQuery(Lenient):
    tempPassword = fields.Boolean(load_default=False)


class PasswordValueSchema(Lenient):
    value = password_field(required=True)


class ChangePasswordSchema(Lenient):
    oldPassword = fields.Nested(PasswordValueSchema, required=True)
    newPassword = fields.Nested(PasswordValueSchema, required=True)


class ChangeRecoveryQuestionSchema(Lenient):
    password = fields.Nested(PasswordValueSchema, required=True)
    recovery_question = fields.Nested(RecoveryQuestionSchema, required=True)


class AnswerSchema(Lenient):
    answer = fields.String(required=True)


class ForgotPasswordSchema(Lenient):
    """Both fields (set the password with the answer) or neither (e-mail a link)."""

    password = fields.Nested(PasswordValueSchema)
    recovery_question = fields.Nested(AnswerSchema)


#: The two calls forgot_password is: a body with both fields, or none of them.
FORGOT_PASSWORD_SHAPES: dict[str, Any] = {
    "allOf": [ForgotPasswordSchema],
    "anyOf": [
        {"required": ["password", "recovery_question"]},
        {"not": {"anyOf": [{"required": ["password"]}, {"required": ["recovery_question"]}]}},
    ],
}


class GroupProfileSchema(Lenient):
    name = bounded_string(lengths.GROUP_NAME, required=True, metadata=NON_BLANK)
    description = bounded_string(lengths.GROUP_DESCRIPTION, allow_none=True)


class GroupSchemaIn(Lenient):
    profile = fields.Nested(GroupProfileSchema, required=True)


# ---- responses (for the OpenAPI document) ---------------------------------


class UserSchema(Schema):
    id = fields.String()
    status = fields.String()
    created = fields.String()
    activated = fields.String(allow_none=True)
    statusChanged = fields.String(allow_none=True)
    lastLogin = fields.String(allow_none=True)
    lastUpdated = fields.String()
    passwordChanged = fields.String(allow_none=True)
    transitioningToStatus = fields.String()
    type = fields.Dict()
    profile = fields.Dict()
    credentials = fields.Dict()
    links = fields.Dict(data_key="_links", attribute="_links")


class ExpirePasswordResultSchema(UserSchema):
    """The user, or ``{"tempPassword": …}`` when one was asked for."""

    tempPassword = fields.String()


class GroupSchema(Schema):
    id = fields.String()
    created = fields.String()
    lastUpdated = fields.String()
    lastMembershipUpdated = fields.String()
    objectClass = fields.List(fields.String())
    type = fields.String()
    profile = fields.Dict()
    links = fields.Dict(data_key="_links", attribute="_links")


class LifecycleResultSchema(Schema):
    activationUrl = fields.String()
    activationToken = fields.String()
    resetPasswordUrl = fields.String()
    tempPassword = fields.String()


class CredentialsSchema(Schema):
    password = fields.Dict()
    recovery_question = fields.Dict()
    provider = fields.Dict()


class ForgotPasswordResultSchema(CredentialsSchema):
    resetPasswordUrl = fields.String()


class ErrorCauseSchema(Schema):
    errorSummary = fields.String()


class OktaErrorSchema(Schema):
    errorCode = fields.String()
    errorSummary = fields.String()
    errorLink = fields.String()
    errorId = fields.String()
    errorCauses = fields.List(fields.Nested(ErrorCauseSchema))


class LivenessSchema(Schema):
    status = fields.String(metadata={"example": "ok"})


class HealthSchema(Schema):
    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())
