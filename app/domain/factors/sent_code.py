"""One-time codes delivered by SMS, voice call or e-mail.

Codes are 6 digits from a CSPRNG, kept only as a keyed hash (HMAC-SHA256,
bound to the factor), valid for a few minutes, single use, and only the
newest one counts. Attempts per code are capped.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

DIGITS = 6


@dataclass(frozen=True)
class CodePolicy:
    lifetime_seconds: int = 300
    resend_after_seconds: int = 30
    max_attempts: int = 5


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def digest(key: str, factor_id: str, code: str) -> str:
    return hmac.new(key.encode(), f"{factor_id}:{code}".encode(), hashlib.sha256).hexdigest()


def matches(key: str, factor_id: str, code: str, expected_digest: str) -> bool:
    code = code.strip()
    if len(code) != DIGITS or not code.isdigit():
        return False
    return hmac.compare_digest(digest(key, factor_id, code), expected_digest)


def render(template: str, code: str, org_name: str) -> str:
    """Fill a message template: ``{code}`` and ``{org}`` (``{{code}}`` is accepted too)."""
    text = template.replace("{{code}}", "{code}")
    return text.replace("{code}", code).replace("{org}", org_name)


def spoken(code: str) -> str:
    """Digits read one at a time, twice, for a voice call."""
    digits = ", ".join(code)
    return f"Your verification code is {digits}. Again, your code is {digits}."
