"""``sms`` (provider OKTA): a code sent by text message to an E.164 phone number."""

from __future__ import annotations

from typing import Any

import phonenumbers

from app.domain.factors import EnrollmentError

DEFAULT_TEMPLATE = "Your {org} verification code is {code}"


def normalise_phone(raw: Any) -> str:
    """E.164 (``+15052694259``) or EnrollmentError("Invalid Phone Number.")."""
    if not isinstance(raw, str) or not raw.strip():
        raise EnrollmentError("phoneNumber: Invalid Phone Number.")
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise EnrollmentError("phoneNumber: Invalid Phone Number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise EnrollmentError("phoneNumber: Invalid Phone Number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def enroll_profile(profile: dict[str, Any], _user_profile: dict[str, Any]) -> dict[str, Any]:
    return {"phoneNumber": normalise_phone(profile.get("phoneNumber"))}
