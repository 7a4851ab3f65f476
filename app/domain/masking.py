"""Contact details as /authn shows them before SUCCESS: masked, as Okta does.

Anyone who has a password (a phished one, a reused one) gets the answers
before SUCCESS; they must not learn the user's phone number or e-mail
address from them. Okta answers ``"phoneNumber": "+1 XXX-XXX-4259"`` and
``"email": "a...1@clouditude.net"`` there (the seed walkthrough and the Sign-In
Widget's recorded answers); these functions give the same shapes. The admin
APIs (SSWS) keep the full values.

Rules, for inputs Okta's examples do not cover:

* A phone number shows its country code and at most its last four digits,
  and never more than half of its national digits: ``+44 XXXX XX0123``,
  ``+33 X XX XX 56 78``. A value that does not parse as an international
  number keeps only its separators and the same tail.
* An e-mail address shows the first and last character of the local part and
  the whole domain: ``d...y@example.com``. A local part of two characters
  shows only its first (``a...@example.com``), of one none (``...@x.org``):
  showing "first and last" would show it all.
* A missing value (None, empty, not a string, a "phone number" without a
  digit) is None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import phonenumbers

MASK_DIGIT = "X"
ELLIPSIS = "..."
MAX_VISIBLE_DIGITS = 4
#: What a phone number that does not parse may keep besides digits.
SEPARATORS = frozenset(" +-().")


def _visible_digits(count: int) -> int:
    """At most four, and never more than half of them."""
    return min(MAX_VISIBLE_DIGITS, count // 2)


def _mask_digits(text: str) -> str:
    """Every digit of ``text`` but the visible tail becomes ``X``."""
    total = sum(ch.isdigit() for ch in text)
    hide = total - _visible_digits(total)
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(MASK_DIGIT if hide > 0 else ch)
            hide -= 1
        else:
            out.append(ch)
    return "".join(out)


def mask_phone(value: Any) -> str | None:
    """``+15052694259`` → ``+1 XXX-XXX-4259`` (Okta's shape for US numbers)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        kept = " ".join("".join(ch for ch in value if ch.isdigit() or ch in SEPARATORS).split())
        return _mask_digits(kept) if any(ch.isdigit() for ch in kept) else None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    country = f"+{number.country_code}"
    national = formatted.removeprefix(country).strip() or str(number.national_number)
    return f"{country} {_mask_digits(national)}"


def mask_email(value: Any) -> str | None:
    """``administrator1@clouditude.net`` → ``a...1@clouditude.net``."""
    if not isinstance(value, str) or not value.strip():
        return None
    local, at, domain = value.strip().rpartition("@")
    if not at:  # not an address at all: mask it as a local part
        local, domain = value.strip(), ""
    if len(local) >= 3:
        masked = f"{local[0]}{ELLIPSIS}{local[-1]}"
    elif len(local) == 2:
        masked = f"{local[0]}{ELLIPSIS}"
    else:
        masked = ELLIPSIS
    return f"{masked}@{domain}" if at else masked


#: Which factor profile fields are contact details, and how each is masked.
PROFILE_MASKS: Mapping[str, Callable[[Any], str | None]] = {
    "phoneNumber": mask_phone,
    "email": mask_email,
}


def mask_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A factor profile with its contact details masked, other fields as they are."""
    return {
        name: PROFILE_MASKS[name](value) if name in PROFILE_MASKS else value
        for name, value in profile.items()
    }
