"""WebAuthn in the /authn engine: enrolment (MFA_ENROLL → MFA_ENROLL_ACTIVATE →
SUCCESS) and sign-in (MFA_REQUIRED → MFA_CHALLENGE → SUCCESS) in the wire
format of the Sign-In Widget's fixtures, and what a password alone cannot do.
"""

from __future__ import annotations

from typing import Any

from app.domain.policy import Enrollment
from tests.api.test_authn import Policy, authn, sign_in
from tests.api.test_authn import policy as policy  # the fixture
from tests.api.test_factors_webauthn import ORIGIN, RP_ID, _active
from tests.webauthn_authenticator import SoftAuthenticator, b64url

BASE = f"{ORIGIN}/api/v1/authn"


def _key() -> SoftAuthenticator:
    return SoftAuthenticator(RP_ID, ORIGIN)


def _webauthn_required(policy: Policy) -> None:
    policy.require_mfa()
    policy.enrollment(fido_webauthn=Enrollment.REQUIRED)


def test_a_policy_that_asks_for_webauthn_enrols_it_in_the_flow(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, ctx: Any
) -> None:
    user = make_user()
    _webauthn_required(policy)
    body = sign_in(anonymous).get_json()
    assert body["status"] == "MFA_ENROLL", body
    entry = next(f for f in body["_embedded"]["factors"] if f["factorType"] == "webauthn")
    assert entry["provider"] == entry["vendorName"] == "FIDO"
    assert (entry["enrollment"], entry["status"]) == ("REQUIRED", "NOT_SETUP")
    r = authn(
        anonymous, "/factors", stateToken=body["stateToken"], factorType="webauthn", provider="FIDO"
    )
    body = r.get_json()
    assert body["status"] == "MFA_ENROLL_ACTIVATE", body
    factor = body["_embedded"]["factor"]
    assert (factor["factorType"], factor["provider"], factor["vendorName"]) == (
        "webauthn",
        "FIDO",
        "FIDO",
    )
    activation = factor["_embedded"]["activation"]
    assert activation["rp"] == {"name": "Portcullis", "id": RP_ID}
    assert activation["user"]["id"] == user["id"]
    assert {-7, -257} <= {p["alg"] for p in activation["pubKeyCredParams"]}
    assert activation["excludeCredentials"] == []
    assert body["_links"]["next"] == {
        "name": "activate",
        "href": f"{BASE}/factors/{factor['id']}/lifecycle/activate",
        "hints": {"allow": ["POST"]},
    }
    # Reading the transaction again shows the same challenge.
    again = authn(anonymous, stateToken=body["stateToken"]).get_json()
    assert (
        again["_embedded"]["factor"]["_embedded"]["activation"]["challenge"]
        == (activation["challenge"])
    )
    key = _key()
    r = authn(
        anonymous,
        f"/factors/{factor['id']}/lifecycle/activate",
        stateToken=body["stateToken"],
        **key.create(activation["challenge"]),
    )
    done = r.get_json()
    assert done["status"] == "SUCCESS", done
    grant = ctx.stores.session_tokens.consume(done["sessionToken"])
    assert grant["amr"] == ["pwd", "hwk", "mfa"]
    listed = api.get(f"/api/v1/users/{user['id']}/factors/{factor['id']}").get_json()
    assert listed["status"] == "ACTIVE"
    assert listed["profile"]["credentialId"] == b64url(key.credential_id)


def test_a_refused_registration_in_the_flow_leaves_it_where_it_was(
    anonymous: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    _webauthn_required(policy)
    token = sign_in(anonymous).get_json()["stateToken"]
    body = authn(
        anonymous, "/factors", stateToken=token, factorType="webauthn", provider="FIDO"
    ).get_json()
    factor = body["_embedded"]["factor"]
    challenge = factor["_embedded"]["activation"]["challenge"]
    path = f"/factors/{factor['id']}/lifecycle/activate"
    r = authn(
        anonymous, path, stateToken=token, **_key().create(challenge, origin="https://x.test")
    )
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000068", r.get_json()
    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_ENROLL_ACTIVATE"
    r = authn(anonymous, path, stateToken=token, attestation="***", clientData="***")
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001", r.get_json()
    r = authn(anonymous, path, stateToken=token, **_key().create(challenge))
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


def test_sign_in_with_a_registered_authenticator(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, ctx: Any
) -> None:
    user = make_user()
    key = _key()
    factor = _active(api, user, key)
    policy.require_mfa()
    body = sign_in(anonymous).get_json()
    assert body["status"] == "MFA_REQUIRED", body
    listed = next(f for f in body["_embedded"]["factors"] if f["id"] == factor["id"])
    assert listed["profile"] == {
        "credentialId": b64url(key.credential_id),
        "authenticatorName": "Security key or biometric authenticator",
    }
    token = body["stateToken"]
    path = f"/factors/{factor['id']}/verify"
    body = authn(anonymous, path, stateToken=token).get_json()
    assert body["status"] == "MFA_CHALLENGE", body
    challenge = body["_embedded"]["factor"]["_embedded"]["challenge"]
    assert challenge["extensions"] == {} and len(challenge["challenge"]) >= 43
    assert body["_links"]["next"]["href"] == f"{BASE}{path}"
    answer = key.get(challenge["challenge"])
    done = authn(anonymous, path, stateToken=token, **answer).get_json()
    assert done["status"] == "SUCCESS", done
    assert ctx.stores.session_tokens.consume(done["sessionToken"])["amr"] == ["pwd", "hwk", "mfa"]
    # The answer is bound to its transaction: replayed on a new one, it is refused.
    token = sign_in(anonymous).get_json()["stateToken"]
    authn(anonymous, path, stateToken=token)
    r = authn(anonymous, path, stateToken=token, **answer)
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000068", r.get_json()


def test_an_answer_without_a_challenge_or_from_another_site_is_refused(
    anonymous: Any, api: Any, make_user: Any, policy: Policy
) -> None:
    user = make_user()
    key = _key()
    factor = _active(api, user, key)
    policy.require_mfa()
    token = sign_in(anonymous).get_json()["stateToken"]
    path = f"/factors/{factor['id']}/verify"
    # No challenge issued in this transaction yet: nothing to answer.
    r = authn(anonymous, path, stateToken=token, **key.get(b64url(b"y" * 32)))
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000068", r.get_json()
    body = authn(anonymous, path, stateToken=token).get_json()
    challenge = body["_embedded"]["factor"]["_embedded"]["challenge"]["challenge"]
    r = authn(anonymous, path, stateToken=token, **key.get(challenge, origin="https://phish.test"))
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000068", r.get_json()
    assert "origin" in r.get_json()["errorCauses"][0]["errorSummary"]
    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_CHALLENGE"
    done = authn(anonymous, path, stateToken=token, **key.get(challenge)).get_json()
    assert done["status"] == "SUCCESS", done


def test_a_password_alone_cannot_plant_an_authenticator(
    anonymous: Any, api: Any, make_user: Any, policy: Policy
) -> None:
    # The victim has a registered key; an attacker with the password tries to
    # enrol their own before proving the victim's.
    user = make_user()
    _active(api, user, _key())
    policy.require_mfa()
    policy.enrollment(fido_webauthn=Enrollment.OPTIONAL)
    token = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()["stateToken"]
    r = authn(anonymous, "/factors", stateToken=token, factorType="webauthn", provider="FIDO")
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000079", r.get_json()
    factors = api.get(f"/api/v1/users/{user['id']}/factors").get_json()
    assert len(factors) == 1
