"""``call`` (provider OKTA): the code read out by a voice call."""

from __future__ import annotations

from typing import Any

from app.domain.factors import EnrollmentError
from app.domain.factors.sms import normalise_phone


def enroll_profile(profile: dict[str, Any], _user_profile: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"phoneNumber": normalise_phone(profile.get("phoneNumber"))}
    extension = profile.get("phoneExtension")
    if extension not in (None, ""):
        if not isinstance(extension, str) or not extension.isdigit() or len(extension) > 15:
            raise EnrollmentError("phoneExtension: Invalid phone extension.")
        result["phoneExtension"] = extension
    return result
