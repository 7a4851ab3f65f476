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

#: The cause of every string over its limit, fixed or a setting.
TOO_LONG = "The field cannot exceed {max} characters."


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


class CreateUserSchema(Lenient):
    profile = fields.Dict(keys=fields.String(), required=True)
    credentials = fields.Nested(CredentialsInSchema)
    groupIds = fields.List(fields.String(), load_default=list)


class UpdateUserSchema(Lenient):
    profile = fields.Dict(keys=fields.String())
    credentials = fields.Nested(CredentialsInSchema)


class CreateUserQuery(Lenient):
    activate = fields.Boolean(load_default=True)
    provider = fields.Boolean(load_default=False)
    nextLogin = fields.String(validate=validate.OneOf(["changePassword"]))


def cursor_field() -> fields.String:
    """A listing's ``after``: the opaque cursor of a ``next`` link."""
    return bounded_string(lengths.CURSOR)


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
    password = fields.Nested(PasswordValueSchema)
    recovery_question = fields.Nested(AnswerSchema)


class GroupProfileSchema(Lenient):
    name = bounded_string(lengths.GROUP_NAME, required=True)
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


class HealthSchema(Schema):
    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())
