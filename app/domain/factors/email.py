"""``email`` (provider OKTA): a code sent by e-mail to the user's primary or
secondary address (Okta enrolls only an address the user already has)."""

from __future__ import annotations

from typing import Any

from app.domain.factors import EnrollmentError

DEFAULT_SUBJECT = "Your {org} verification code"
DEFAULT_TEMPLATE = "Your {org} verification code is {code}. It expires in a few minutes."


def enroll_profile(profile: dict[str, Any], user_profile: dict[str, Any]) -> dict[str, Any]:
    owned = {
        str(user_profile[name]).lower(): str(user_profile[name])
        for name in ("email", "secondEmail")
        if user_profile.get(name)
    }
    wanted = profile.get("email") or user_profile.get("email")
    if not isinstance(wanted, str) or wanted.lower() not in owned:
        raise EnrollmentError("email: Only verified primary or secondary email can be enrolled.")
    return {"email": owned[wanted.lower()]}
