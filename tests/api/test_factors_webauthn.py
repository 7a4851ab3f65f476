"""WebAuthn through the Factors API: enrol, activate, verify, and every refusal.

The authenticator is tests/webauthn_authenticator.py's software key on the
test server's own origin (BASE_URL http://portcullis.test: RP ID
portcullis.test). A refused ceremony answers 403 E0000068 with a cause and
leaves the factor as it was; bytes that are not what their field names
answer 400 E0000001.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.webauthn_authenticator import SoftAuthenticator, b64url

ORIGIN = "http://portcullis.test"
RP_ID = "portcullis.test"


def _key() -> SoftAuthenticator:
    return SoftAuthenticator(RP_ID, ORIGIN)


def _enroll(api: Any, user: dict[str, Any], **profile: str) -> dict[str, Any]:
    body: dict[str, Any] = {"factorType": "webauthn", "provider": "FIDO"}
    if profile:
        body["profile"] = profile
    r = api.post(f"/api/v1/users/{user['id']}/factors", json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _activate(api: Any, user: dict[str, Any], factor: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.post(
        f"/api/v1/users/{user['id']}/factors/{factor['id']}/lifecycle/activate", json=body
    )


def _active(api: Any, user: dict[str, Any], key: SoftAuthenticator) -> dict[str, Any]:
    factor = _enroll(api, user)
    r = _activate(api, user, factor, key.create(factor["_embedded"]["activation"]["challenge"]))
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _verify(api: Any, user: dict[str, Any], factor: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/users/{user['id']}/factors/{factor['id']}/verify", json=body)


def _challenge(api: Any, user: dict[str, Any], factor: dict[str, Any]) -> str:
    r = _verify(api, user, factor, {})
    assert r.status_code == 200, r.get_json()
    return str(r.get_json()["_embedded"]["challenge"]["challenge"])


def _status(api: Any, user: dict[str, Any], factor: dict[str, Any]) -> str:
    return str(api.get(f"/api/v1/users/{user['id']}/factors/{factor['id']}").get_json()["status"])


def _refused(r: Any, words: str) -> None:
    body = r.get_json()
    assert r.status_code == 403 and body["errorCode"] == "E0000068", body
    assert words in body["errorCauses"][0]["errorSummary"], body


def test_enrolment_answers_the_creation_options_in_okta_shape(api: Any, make_user: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    assert factor["id"].startswith("fwf") and len(factor["id"]) == 20
    assert (factor["factorType"], factor["provider"], factor["vendorName"]) == (
        "webauthn",
        "FIDO",
        "FIDO",
    )
    assert factor["status"] == "PENDING_ACTIVATION"
    assert factor["profile"] == {"authenticatorName": "Security key or biometric authenticator"}
    base = f"{ORIGIN}/api/v1/users/{user['id']}/factors/{factor['id']}"
    assert factor["_links"]["activate"]["href"] == f"{base}/lifecycle/activate"
    activation = factor["_embedded"]["activation"]
    assert activation["rp"] == {"name": "Portcullis", "id": RP_ID}
    assert activation["user"] == {
        "id": user["id"],
        "name": user["profile"]["login"],
        "displayName": "Isaac Brock",
    }
    assert len(activation["challenge"]) >= 43  # 32 random bytes, base64url
    algorithms = {p["alg"] for p in activation["pubKeyCredParams"]}
    assert {-7, -257} <= algorithms  # ES256 and RS256
    assert activation["attestation"] == "none"
    assert activation["authenticatorSelection"]["userVerification"] == "preferred"
    assert activation["excludeCredentials"] == []


@pytest.mark.parametrize("fmt", ["none", "packed"])
def test_activation_with_an_attestation_registers_the_credential(
    api: Any, make_user: Any, fmt: str
) -> None:
    user = make_user()
    key = _key()
    factor = _enroll(api, user, authenticatorName="YubiKey 5")
    challenge = factor["_embedded"]["activation"]["challenge"]
    r = _activate(api, user, factor, key.create(challenge, fmt=fmt))
    assert r.status_code == 200, r.get_json()
    active = r.get_json()
    assert active["status"] == "ACTIVE"
    assert active["profile"] == {
        "authenticatorName": "YubiKey 5",
        "credentialId": b64url(key.credential_id),
    }
    assert "_embedded" not in active  # the options are shown only at enrolment
    assert set(active["_links"]) == {"self", "verify", "user"}


def test_each_authenticator_is_a_factor_of_its_own_and_excluded_from_the_next(
    api: Any, make_user: Any
) -> None:
    user = make_user()
    first, second = _key(), _key()
    one = _active(api, user, first)
    pending = _enroll(api, user)
    exclude = pending["_embedded"]["activation"]["excludeCredentials"]
    assert [c["id"] for c in exclude] == [b64url(first.credential_id)]
    challenge = pending["_embedded"]["activation"]["challenge"]
    assert _activate(api, user, pending, second.create(challenge)).status_code == 200
    listed = api.get(f"/api/v1/users/{user['id']}/factors").get_json()
    webauthn = [f for f in listed if f["factorType"] == "webauthn"]
    assert {f["id"] for f in webauthn} == {one["id"], pending["id"]}
    assert all(f["status"] == "ACTIVE" for f in webauthn)


def test_one_authenticator_registers_once_across_users(api: Any, make_user: Any) -> None:
    key = _key()
    _active(api, make_user(login="first@example.com"), key)
    other = make_user(login="second@example.com")
    factor = _enroll(api, other)
    r = _activate(api, other, factor, key.create(factor["_embedded"]["activation"]["challenge"]))
    _refused(r, "registered already")
    assert _status(api, other, factor) == "PENDING_ACTIVATION"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"origin": "https://phish.example"}, "origin"),
        ({"rp_id": "phish.example"}, "relying party"),
        ({"present": False}, "not present"),
    ],
)
def test_a_refused_registration_changes_nothing(
    api: Any, make_user: Any, change: dict[str, Any], words: str
) -> None:
    user = make_user()
    key = _key()
    factor = _enroll(api, user)
    challenge = factor["_embedded"]["activation"]["challenge"]
    _refused(_activate(api, user, factor, key.create(challenge, **change)), words)
    assert _status(api, user, factor) == "PENDING_ACTIVATION"
    # The challenge was answered once: a right answer to it now meets none.
    _refused(_activate(api, user, factor, key.create(challenge)), "No WebAuthn challenge")
    # Enrolling again issues a new one, and the key registers (nothing was kept).
    again = _enroll(api, user)
    r = _activate(api, user, again, key.create(again["_embedded"]["activation"]["challenge"]))
    assert r.status_code == 200, r.get_json()


def test_a_registration_for_another_challenge_is_refused(api: Any, make_user: Any) -> None:
    user = make_user()
    factor = _enroll(api, user)
    _refused(_activate(api, user, factor, _key().create(b64url(b"x" * 32))), "challenge")
    assert _status(api, user, factor) == "PENDING_ACTIVATION"


@pytest.mark.parametrize(
    "body",
    [
        {"attestation": "not base64!", "clientData": b64url(b"{}")},
        {"attestation": b64url(b"\xff\x00garbage"), "clientData": None},
        {"attestation": b64url(b"\xa0"), "clientData": b64url(b"not json")},
        {"clientData": b64url(b"{}")},
        {},
    ],
)
def test_malformed_registrations_answer_400(api: Any, make_user: Any, body: dict[str, Any]) -> None:
    user = make_user()
    key = _key()
    factor = _enroll(api, user)
    good = key.create(factor["_embedded"]["activation"]["challenge"])
    sent = {k: (good[k] if v is None else v) for k, v in body.items()}
    r = _activate(api, user, factor, sent)
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001", r.get_json()
    assert _status(api, user, factor) == "PENDING_ACTIVATION"


def test_verification_answers_a_challenge_then_success_once(api: Any, make_user: Any) -> None:
    user = make_user()
    key = _key()
    factor = _active(api, user, key)
    r = _verify(api, user, factor, {})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["factorResult"] == "CHALLENGE"
    challenge = body["_embedded"]["challenge"]
    assert challenge["extensions"] == {}
    assert [c["id"] for c in challenge["allowCredentials"]] == [b64url(key.credential_id)]
    answer = key.get(challenge["challenge"])
    r = _verify(api, user, factor, answer)
    assert r.status_code == 200 and r.get_json() == {"factorResult": "SUCCESS"}, r.get_json()
    # A replayed answer meets no challenge.
    _refused(_verify(api, user, factor, answer), "No WebAuthn challenge")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"origin": "https://phish.example"}, "origin"),
        ({"rp_id": "phish.example"}, "relying party"),
        ({"present": False}, "not present"),
    ],
)
def test_a_refused_assertion_is_refused(
    api: Any, make_user: Any, change: dict[str, Any], words: str
) -> None:
    user = make_user()
    key = _key()
    factor = _active(api, user, key)
    _refused(_verify(api, user, factor, key.get(_challenge(api, user, factor), **change)), words)
    r = _verify(api, user, factor, key.get(_challenge(api, user, factor)))
    assert r.get_json() == {"factorResult": "SUCCESS"}


def test_another_keys_signature_is_refused(api: Any, make_user: Any) -> None:
    user = make_user()
    key, thief = _key(), _key()
    factor = _active(api, user, key)
    thief.credential_id = key.credential_id  # the id is public; the private key is not
    _refused(_verify(api, user, factor, thief.get(_challenge(api, user, factor))), "signature")


def test_a_counter_that_does_not_grow_is_refused_and_logged(
    api: Any, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user()
    key = _key()
    factor = _active(api, user, key)
    r = _verify(api, user, factor, key.get(_challenge(api, user, factor), step=5))
    assert r.get_json() == {"factorResult": "SUCCESS"}
    key.counter -= 3  # a clone that lags behind the original
    with caplog.at_level(logging.WARNING, logger="portcullis.factors"):
        r = _verify(api, user, factor, key.get(_challenge(api, user, factor)))
    _refused(r, "signature counter")
    assert any(factor["id"] in m and "cloned" in m for m in caplog.messages), caplog.messages


def test_malformed_assertions_answer_400(api: Any, make_user: Any) -> None:
    user = make_user()
    key = _key()
    factor = _active(api, user, key)
    good = key.get(_challenge(api, user, factor))
    r = _verify(api, user, factor, {**good, "authenticatorData": "@@@"})
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001", r.get_json()
    r = _verify(api, user, factor, {"clientData": good["clientData"]})
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001", r.get_json()


def test_deleting_the_factor_or_resetting_factors_frees_the_credential(
    api: Any, make_user: Any
) -> None:
    user = make_user()
    key = _key()
    factor = _active(api, user, key)
    assert api.delete(f"/api/v1/users/{user['id']}/factors/{factor['id']}").status_code == 204
    again = _active(api, user, key)  # the credential id is free again
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/reset_factors")
    assert r.status_code == 200, r.get_json()
    assert api.get(f"/api/v1/users/{user['id']}/factors/{again['id']}").status_code == 404
    _active(api, user, key)


def test_the_transports_the_browser_reports_are_kept(api: Any, make_user: Any, ctx: Any) -> None:
    user = make_user()
    key = _key()
    factor = _enroll(api, user)
    body = key.create(factor["_embedded"]["activation"]["challenge"])
    # As the Sign-In Widget sends them: getTransports() as a JSON string; unknown ones dropped.
    body["transports"] = '["usb", "nfc", "carrier-pigeon", "usb"]'
    assert _activate(api, user, factor, body).status_code == 200
    with ctx.stores.reading() as uow:
        credential = uow.factors.credential(factor["id"])
    assert credential is not None and credential.transports == ("usb", "nfc")
    assert credential.credential_id == key.credential_id


def test_transports_null_as_the_widget_sends_without_get_transports(
    api: Any, make_user: Any
) -> None:
    user = make_user()
    key = _key()
    factor = _enroll(api, user)
    body = {**key.create(factor["_embedded"]["activation"]["challenge"]), "transports": None}
    r = _activate(api, user, factor, body)
    assert r.status_code == 200 and r.get_json()["status"] == "ACTIVE", r.get_json()
