"""Contact details before SUCCESS: the masking rules (app.domain.masking)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.masking import mask_email, mask_phone, mask_profile


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+15052694259", "+1 XXX-XXX-4259"),  # the seed walkthrough's shape
        ("+1 (505) 269-4259", "+1 XXX-XXX-4259"),  # whatever the formatting
        ("+447700900123", "+44 XXXX XX0123"),
        ("+33612345678", "+33 X XX XX 56 78"),
        ("+4915112345678", "+49 XXXX XXX5678"),
        ("+81312345678", "+81 X-XXXX-5678"),
        ("+12345", "+1 XX45"),  # short: never more than half the digits
        ("555-1234", "XXX-X234"),  # no country code: separators and the tail only
        ("12", "X2"),
        ("call me <b>maybe</b> 5551234", "XXXX234"),  # no markup or words survive
        ("no digits", None),
        ("", None),
        ("   ", None),
        (None, None),
        (15052694259, None),
    ],
)
def test_phone_numbers_keep_the_country_code_and_at_most_four_digits(
    value: Any, masked: str | None
) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("administrator1@clouditude.net", "a...1@clouditude.net"),  # Okta's recorded answer
        ("evra@rain.com", "e...a@rain.com"),
        ("abc@example.com", "a...c@example.com"),
        ("ab@example.com", "a...@example.com"),  # first and last would be all of it
        ("a@example.com", "...@example.com"),
        ("@example.com", "...@example.com"),
        ("a@b@example.com", "a...b@example.com"),  # the domain is after the last @
        (" dade.murphy@example.com ", "d...y@example.com"),
        ("not-an-address", "n...s"),
        ("", None),
        (None, None),
        (["x@example.com"], None),
    ],
)
def test_email_addresses_keep_the_domain_and_two_characters(value: Any, masked: str | None) -> None:
    assert mask_email(value) == masked


def test_a_masked_value_never_contains_the_full_value() -> None:
    for phone in ("+15052694259", "+447700900123", "+12345"):
        digits = phone.lstrip("+")
        assert digits not in "".join(ch for ch in str(mask_phone(phone)) if ch.isdigit())
    for email in ("ab@example.com", "a@example.com", "abc@example.com"):
        assert email not in str(mask_email(email))


def test_profiles_mask_contact_fields_and_keep_the_rest() -> None:
    assert mask_profile({"phoneNumber": "+15052694259", "phoneExtension": "1234"}) == {
        "phoneNumber": "+1 XXX-XXX-4259",
        "phoneExtension": "1234",
    }
    assert mask_profile({"email": "dade.murphy@example.com"}) == {"email": "d...y@example.com"}
    assert mask_profile({"question": "disliked_food"}) == {"question": "disliked_food"}
    assert mask_profile({"phoneNumber": None}) == {"phoneNumber": None}
    assert mask_profile({}) == {}
