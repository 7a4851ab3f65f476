"""The WorkOS-style MFA API's objects and errors.

Factors here belong to the calling application, not to a Portcullis user;
their TOTP and SMS behaviour is the same code as the Okta-style factors
(app.domain.factors.totp, .sent_code, .sms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FACTOR_PREFIX = "auth_factor_"
CHALLENGE_PREFIX = "auth_challenge_"
SMS_CHALLENGE_LIFETIME_SECONDS = 600  # WorkOS: SMS challenges expire after 10 minutes
TYPES = ("totp", "sms")


@dataclass
class WorkosFactor:
    id: str
    type: str
    created: datetime
    last_updated: datetime
    user_id: str | None = None
    totp_issuer: str | None = None
    totp_user: str | None = None
    phone_number: str | None = None
    secret: str | None = None  # TOTP secret, plaintext here; sealed by the store


@dataclass
class Challenge:
    id: str
    factor_id: str
    created: datetime
    updated: datetime
    expires: datetime | None = None  # None for TOTP: nothing is sent that could expire
    verified: bool = False


@dataclass
class WorkosError(Exception):
    """An error in WorkOS' shape: ``{"code", "message"}`` (+ ``errors``)."""

    status: int
    message: str
    code: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.code:
            body["code"] = self.code
        body["message"] = self.message
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def unauthorized() -> WorkosError:
    return WorkosError(401, "Could not authorize the request. Maybe your API key is invalid?")


def not_found(kind: str, entity_id: str) -> WorkosError:
    return WorkosError(
        404, f"{kind} not found: '{entity_id}'.", "entity_not_found", extra={"entity_id": entity_id}
    )


def invalid(field_name: str, code: str, message: str) -> WorkosError:
    return WorkosError(
        422,
        "Validation failed",
        "invalid_request_parameters",
        errors=[{"field": field_name, "code": code, "message": message}],
    )
