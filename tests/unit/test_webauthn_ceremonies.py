"""The WebAuthn ceremonies' checks (app.domain.factors.webauthn, over py_webauthn),
with a software authenticator: what passes, and what each check refuses."""

from __future__ import annotations

import base64
from dataclasses import replace

import cbor2
import pytest

from app.domain.factors import webauthn as wa
from tests.webauthn_authenticator import SoftAuthenticator, b64url

RP = wa.RelyingParty("login.example.com", "Example", ("https://login.example.com",))
STRICT = replace(RP, user_verification="required")


def _registered(
    rp: wa.RelyingParty = RP, fmt: str = "none"
) -> tuple[SoftAuthenticator, wa.Credential]:
    key = SoftAuthenticator(rp.id, rp.origins[0])
    options = wa.registration_options(rp, b"user-handle", "ada@example.com", "Ada Lovelace")
    credential = wa.verify_registration(
        rp, options.challenge, **_activation(key.create(options.json["challenge"], fmt=fmt))
    )
    return key, credential


def _activation(answer: dict[str, str]) -> dict[str, str]:
    return {"attestation": answer["attestation"], "client_data": answer["clientData"]}


def _assertion(answer: dict[str, str]) -> dict[str, str]:
    return {
        "client_data": answer["clientData"],
        "authenticator_data": answer["authenticatorData"],
        "signature": answer["signatureData"],
    }


def test_options_carry_what_okta_sends_and_exclude_the_users_other_credentials() -> None:
    options = wa.registration_options(
        RP, b"user-handle", "ada@example.com", "Ada Lovelace", exclude=[b"\x01" * 16]
    )
    body = options.json
    assert body["rp"] == {"id": "login.example.com", "name": "Example"}
    assert body["user"] == {
        "id": b64url(b"user-handle"),
        "name": "ada@example.com",
        "displayName": "Ada Lovelace",
    }
    assert body["challenge"] == b64url(options.challenge) and len(options.challenge) == 32
    assert [p["alg"] for p in body["pubKeyCredParams"]] == [-7, -8, -257]  # ES256, RS256
    assert body["attestation"] == "none"
    assert body["authenticatorSelection"]["userVerification"] == "preferred"
    assert body["excludeCredentials"] == [{"id": b64url(b"\x01" * 16), "type": "public-key"}]
    assert wa.registration_options(RP, b"u", "a", "A").challenge != options.challenge


@pytest.mark.parametrize("fmt", ["none", "packed"])
def test_a_registration_keeps_the_credential_and_a_sign_in_moves_its_counter(fmt: str) -> None:
    key, credential = _registered(fmt=fmt)
    assert credential.credential_id == key.credential_id
    assert credential.aaguid == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert credential.attestation_format == fmt and credential.sign_count == 0
    options = wa.assertion_options(RP, [credential.credential_id])
    assert options.json["allowCredentials"] == [
        {"id": b64url(credential.credential_id), "type": "public-key"}
    ]
    count = wa.verify_assertion(
        RP, options.challenge, credential, **_assertion(key.get(options.json["challenge"]))
    )
    assert count == 1


def test_a_foreign_origin_is_refused_in_both_ceremonies() -> None:
    key = SoftAuthenticator(RP.id, RP.origins[0])
    options = wa.registration_options(RP, b"u", "ada@example.com", "Ada")
    answer = key.create(options.json["challenge"], origin="https://evil.example.net")
    with pytest.raises(wa.Refused, match="origin"):
        wa.verify_registration(RP, options.challenge, **_activation(answer))
    key, credential = _registered()
    challenge = wa.new_challenge()
    answer = key.get(b64url(challenge), origin="https://login.example.com.evil.net")
    with pytest.raises(wa.Refused, match="origin"):
        wa.verify_assertion(RP, challenge, credential, **_assertion(answer))


def test_an_extra_origin_is_accepted_only_when_configured() -> None:
    widget = "https://widget.example.com"
    key, credential = _registered()
    challenge = wa.new_challenge()
    with pytest.raises(wa.Refused, match="origin"):
        wa.verify_assertion(
            RP, challenge, credential, **_assertion(key.get(b64url(challenge), origin=widget))
        )
    both = replace(RP, origins=(*RP.origins, widget))
    answer = key.get(b64url(challenge), origin=widget)
    assert wa.verify_assertion(both, challenge, credential, **_assertion(answer)) == 2


def test_another_relying_party_is_refused() -> None:
    key = SoftAuthenticator(RP.id, RP.origins[0])
    options = wa.registration_options(RP, b"u", "ada@example.com", "Ada")
    answer = key.create(options.json["challenge"], rp_id="example.net")
    with pytest.raises(wa.Refused, match="WEBAUTHN_RP_ID"):
        wa.verify_registration(RP, options.challenge, **_activation(answer))


def test_a_replayed_assertion_is_refused() -> None:
    """The same answer twice: the second has a counter no higher than the
    first's (and in the server a spent challenge too)."""
    key, credential = _registered()
    challenge = wa.new_challenge()
    answer = key.get(b64url(challenge))
    count = wa.verify_assertion(RP, challenge, credential, **_assertion(answer))
    kept = replace(credential, sign_count=count)
    with pytest.raises(wa.ClonedAuthenticator):
        wa.verify_assertion(RP, challenge, kept, **_assertion(answer))


def test_a_cloned_authenticator_is_refused_but_a_counterless_one_is_not() -> None:
    key, credential = _registered()
    first = wa.new_challenge()
    count = wa.verify_assertion(RP, first, credential, **_assertion(key.get(b64url(first))))
    kept = replace(credential, sign_count=count)
    second = wa.new_challenge()
    clone = key.get(b64url(second), step=0)  # the clone's counter has not moved on
    with pytest.raises(wa.ClonedAuthenticator, match="cloned"):
        wa.verify_assertion(RP, second, kept, **_assertion(clone))
    # An authenticator that keeps no counter (0 before and now: synced passkeys).
    key, credential = _registered()
    third = wa.new_challenge()
    assert (
        wa.verify_assertion(RP, third, credential, **_assertion(key.get(b64url(third), step=0)))
        == 0
    )


def test_the_wrong_challenge_absence_and_missing_verification_are_refused() -> None:
    key, credential = _registered()
    issued, other = wa.new_challenge(), wa.new_challenge()
    with pytest.raises(wa.Refused, match="challenge"):
        wa.verify_assertion(RP, issued, credential, **_assertion(key.get(b64url(other))))
    with pytest.raises(wa.Refused, match="not present"):
        wa.verify_assertion(
            RP, issued, credential, **_assertion(key.get(b64url(issued), present=False))
        )
    # User verification is checked only when the options required it.
    unverified = key.get(b64url(issued), verified=False)
    assert wa.verify_assertion(RP, issued, credential, **_assertion(unverified)) > 0
    with pytest.raises(wa.Refused, match="not verified"):
        wa.verify_assertion(
            STRICT, issued, credential, **_assertion(key.get(b64url(issued), verified=False))
        )


def test_a_signature_by_another_key_is_refused() -> None:
    key, credential = _registered()
    impostor = SoftAuthenticator(RP.id, RP.origins[0], credential_id=key.credential_id)
    impostor.counter = 10
    challenge = wa.new_challenge()
    with pytest.raises(wa.Refused, match="signature"):
        wa.verify_assertion(
            RP, challenge, credential, **_assertion(impostor.get(b64url(challenge)))
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attestation", "%%% not base64 %%%"),
        ("attestation", b64url(b"\xff\xfe not cbor")),
        ("attestation", b64url(cbor2.dumps({"fmt": "none"}))),
        ("clientData", b64url(b"not json")),
        ("clientData", ""),
        ("clientData", 42),
    ],
)
def test_malformed_bytes_are_malformed_not_refused_and_never_a_crash(
    field: str, value: object
) -> None:
    key = SoftAuthenticator(RP.id, RP.origins[0])
    options = wa.registration_options(RP, b"u", "ada@example.com", "Ada")
    body = _activation(key.create(options.json["challenge"]))
    body["client_data" if field == "clientData" else field] = value  # type: ignore[assignment]
    with pytest.raises(wa.Malformed) as raised:
        wa.verify_registration(RP, options.challenge, **body)
    assert raised.value.field == field


def test_base64_with_padding_or_the_standard_alphabet_is_read() -> None:
    raw = bytes(range(250, 256)) * 3
    assert wa.from_b64url(base64.b64encode(raw).decode(), "x") == raw
    assert wa.from_b64url(base64.urlsafe_b64encode(raw).decode(), "x") == raw
