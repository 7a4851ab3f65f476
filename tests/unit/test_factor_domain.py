from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from app.domain.factors import EnrollmentError, sent_code, sms, totp
from app.domain.factors import question as q
from app.domain.secret_box import SecretBox, SecretBoxError

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
EIGHT = totp.TotpParameters(digits=8)


@pytest.mark.parametrize(
    ("unix", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc6238_sha1_vectors(unix: int, code: str) -> None:
    moment = datetime.fromtimestamp(unix, UTC)
    assert totp.code_at(RFC_SECRET, totp.counter_at(moment, EIGHT), EIGHT) == code
    assert totp.verify(RFC_SECRET, code, moment, EIGHT) == totp.counter_at(moment, EIGHT)


def test_skew_window_edges() -> None:
    moment = datetime.fromtimestamp(1111111111, UTC)
    now = totp.counter_at(moment)
    for offset, ok in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = totp.code_at(RFC_SECRET, now + offset)
        assert (totp.verify(RFC_SECRET, code, moment) == now + offset) is ok
    wide = totp.TotpParameters(skew=2)
    assert totp.verify(RFC_SECRET, totp.code_at(RFC_SECRET, now - 2), moment, wide) == now - 2


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", " 12 34 "])
def test_malformed_codes_never_match(bad: str) -> None:
    assert totp.verify(RFC_SECRET, bad, datetime.now(UTC)) is None


def test_new_secrets_are_160_bits() -> None:
    secrets = {totp.new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(base64.b32decode(s)) == 20 for s in secrets)


def test_secret_box_roundtrip_binding_and_rotation() -> None:
    old = SecretBox("k1:first-secret")
    sealed = old.seal(b"JBSWY3DPEHPK3PXP", b"uft1")
    assert sealed.startswith("v1.k1.") and "JBSWY3DP" not in sealed
    assert old.open(sealed, b"uft1") == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretBoxError):
        old.open(sealed, b"uft2")  # bound to its row
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretBoxError):
        old.open(tampered, b"uft1")
    rotated = SecretBox("k2:second-secret,k1:first-secret")
    assert rotated.open(sealed, b"uft1") == b"JBSWY3DPEHPK3PXP"
    assert rotated.needs_reseal(sealed)
    assert rotated.seal(b"x", b"a").startswith("v1.k2.")
    with pytest.raises(SecretBoxError):
        SecretBox("k3:other").open(sealed, b"uft1")


def test_sent_codes() -> None:
    codes = {sent_code.new_code() for _ in range(500)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 400
    digest = sent_code.digest("key", "sms1", "123456")
    assert sent_code.matches("key", "sms1", " 123456 ", digest)
    assert not sent_code.matches("key", "sms2", "123456", digest)
    assert not sent_code.matches("other", "sms1", "123456", digest)
    assert sent_code.render("Code: {{code}} from {org}", "042", "ACME") == "Code: 042 from ACME"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 505-269-4259", "+15052694259"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+15052694259", "+15052694259"),
    ],
)
def test_phone_numbers_normalise_to_e164(raw: str, e164: str) -> None:
    assert sms.normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["5052694259", "+1 555 123", "+999 1234", None, 15052694259])
def test_invalid_phone_numbers(raw: object) -> None:
    with pytest.raises(EnrollmentError):
        sms.normalise_phone(raw)


def test_question_rules() -> None:
    user = {"login": "jeff.beck@example.com"}
    assert q.enroll_profile({"question": "favorite_toy", "answer": "A red truck"}, user) == {
        "question": "favorite_toy",
        "questionText": "What is the toy/stuffed animal you liked the most as a kid?",
    }
    for answer in ("abc", "   a  b ", "jeff's truck", "what is your favorite movie quote x"):
        question = "favorite_movie_quote" if "movie" in answer else "favorite_toy"
        with pytest.raises(EnrollmentError):
            q.enroll_profile({"question": question, "answer": answer}, user)
    assert len(q.catalog()) == 20
