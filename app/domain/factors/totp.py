"""TOTP (RFC 6238): HMAC-SHA1, 6 digits, 30-second steps, 160-bit secrets.

Google Authenticator (provider GOOGLE) and Okta Verify's passcode (provider
OKTA) are the same algorithm. ``verify`` returns the time step that matched,
so the caller can refuse a second use of a code (NIST SP 800-63B 5.1.4.2).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

import pyotp

SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length
STEP_SECONDS = 30
DIGITS = 6


@dataclass(frozen=True)
class TotpParameters:
    step: int = STEP_SECONDS
    digits: int = DIGITS
    skew: int = 1  # steps accepted either side of now

    @property
    def replay_window(self) -> int:
        """Seconds an accepted step must be remembered to refuse it again: as
        long as any code of it can still be accepted (the skew both ways)."""
        return (2 * self.skew + 2) * self.step


def new_secret() -> str:
    """A base32 secret of 160 random bits (32 characters, no padding)."""
    return pyotp.random_base32(length=32)


def code_at(secret: str, counter: int, params: TotpParameters = TotpParameters()) -> str:
    return pyotp.HOTP(secret, digits=params.digits).at(counter)


def counter_at(moment: datetime, params: TotpParameters = TotpParameters()) -> int:
    return int(moment.timestamp()) // params.step


def verify(
    secret: str, code: str, moment: datetime, params: TotpParameters = TotpParameters()
) -> int | None:
    """The matching time step within the skew window, or None."""
    code = code.strip()
    if len(code) != params.digits or not code.isdigit():
        return None
    now = counter_at(moment, params)
    for counter in range(now - params.skew, now + params.skew + 1):
        if hmac.compare_digest(code_at(secret, counter, params), code):
            return counter
    return None


def provisioning_uri(secret: str, issuer: str, account: str) -> str:
    """``otpauth://totp/<issuer>:<account>?secret=…&issuer=…`` (Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,  # %20 for a space, as in the label (Key Uri Format)
    )
    return f"otpauth://totp/{label}?{query}"
