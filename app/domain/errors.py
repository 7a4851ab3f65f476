"""Errors are values with a code.

``OKTA_ERRORS`` is the one table of Okta error codes Portcullis answers with:
HTTP status and the reference's ``errorSummary``. Services raise
:class:`ApiError` (or a family subclass) naming a code; one handler in
``app/api/errors.py`` renders it as Okta's error object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    status: int
    summary: str


OKTA_ERRORS: dict[str, ErrorKind] = {
    "E0000001": ErrorKind(400, "Api validation failed: {detail}"),
    "E0000003": ErrorKind(400, "The request body was not well-formed."),
    "E0000004": ErrorKind(401, "Authentication failed"),
    "E0000005": ErrorKind(403, "Invalid session"),
    "E0000006": ErrorKind(403, "You do not have permission to perform the requested action"),
    "E0000007": ErrorKind(404, "Not found: Resource not found: {detail}"),
    "E0000009": ErrorKind(500, "Internal Server Error"),
    # Okta's one 503 ("Service is in read only mode"); here: a store is unreachable.
    "E0000010": ErrorKind(503, "Service is temporarily unavailable"),
    "E0000011": ErrorKind(401, "Invalid token provided"),
    "E0000014": ErrorKind(403, "Update of credentials failed"),
    "E0000016": ErrorKind(403, "Activation failed because the user is already active"),
    "E0000017": ErrorKind(403, "Reset password failed"),
    "E0000022": ErrorKind(405, "The endpoint does not support the provided HTTP method"),
    "E0000032": ErrorKind(403, "Unlock is not allowed for this user."),
    "E0000034": ErrorKind(403, "Forgot password not allowed on specified user."),
    "E0000038": ErrorKind(403, "This operation is not allowed in the user's current status."),
    "E0000047": ErrorKind(429, "API call exceeded rate limit due to too many requests."),
    "E0000068": ErrorKind(403, "Invalid Passcode/Answer"),
    "E0000069": ErrorKind(403, "User Locked"),
    "E0000079": ErrorKind(
        403, "This operation is not allowed in the current authentication state."
    ),
    "E0000080": ErrorKind(
        403,
        "The password does not meet the complexity requirements of the current password policy.",
    ),
    "E0000082": ErrorKind(
        403, "Each code can only be used once. Please wait for a new code and try again."
    ),
    "E0000087": ErrorKind(403, "The recovery question answer did not match our records."),
    "E0000098": ErrorKind(400, "This phone number is invalid."),
    "E0000109": ErrorKind(
        429, "An SMS message was recently sent. Please wait {detail} seconds before trying again."
    ),
    "E0000113": ErrorKind(
        429, "A phone call was recently made. Please wait {detail} seconds before trying again."
    ),
    "E0000118": ErrorKind(
        429, "An email was recently sent. Please wait {detail} seconds before trying again."
    ),
}


class ApiError(Exception):
    """An Okta API error: a code from ``OKTA_ERRORS`` plus its causes."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        causes: Iterable[str] = (),
        summary: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        kind = OKTA_ERRORS[code]
        self.code = code
        self.status = status or kind.status
        self.summary = summary or kind.summary.format(detail=detail).strip()
        self.causes = list(causes)
        self.headers = headers or {}
        super().__init__(f"{code}: {self.summary}")


class ValidationFailed(ApiError):
    """400 E0000001; ``field`` names what failed, each cause says why."""

    def __init__(self, field: str, causes: Iterable[str]) -> None:
        super().__init__("E0000001", detail=field, causes=causes)


class NotFound(ApiError):
    """404 E0000007 for a resource that does not exist (or is not yours)."""

    def __init__(self, what: str, kind: str) -> None:
        super().__init__("E0000007", detail=f"{what} ({kind})")


class InvalidToken(ApiError):
    def __init__(self) -> None:
        super().__init__("E0000011")


#: What a 503 calls the carrier of each channel that did not answer.
CARRIERS = {"sms": "SMS carrier", "call": "voice carrier", "email": "e-mail relay"}


class CarrierUnreachable(ApiError):
    """503 E0000010 with ``Retry-After``: Twilio or the SMTP relay could not be
    reached or did not answer in time, so nothing was sent, and trying again
    shortly may work. (A carrier that answered with an error is a 502.)"""

    def __init__(self, channel: str, retry_after: int) -> None:
        super().__init__(
            "E0000010",
            causes=[
                f"The {CARRIERS[channel]} cannot be reached: try again in {retry_after} seconds."
            ],
            headers={"Retry-After": str(retry_after)},
        )
