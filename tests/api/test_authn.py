"""/api/v1/authn: the transaction engine, request for request as a client sees it."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pyotp
import pytest

from app.domain.authn import Action, Status, allowed
from app.domain.clock import okta_timestamp
from app.domain.passwords import PasswordPolicy
from app.domain.policy import (
    EffectivePolicy,
    Enrollment,
    FactorPromptMode,
    Lockout,
    PasswordSettings,
    SignOnSettings,
)
from app.services.authn import transaction as authn_service
from tests.conftest import PASSWORD

BASE = "http://portcullis.test/api/v1/authn"
#: LOCKED_OUT as Okta records it (no unlock offered): no stateToken, an empty
#: ``_embedded`` and a cancel link.
LOCKED_OUT = {
    "status": "LOCKED_OUT",
    "_embedded": {},
    "_links": {"cancel": {"href": f"{BASE}/cancel", "hints": {"allow": ["POST"]}}},
}
PHONE = "+1 505-269-4259"
E164 = "+15052694259"
LOGIN = "isaac.brock@example.com"


class Policy:
    """The effective policy the engine sees, set per test."""

    def __init__(self) -> None:
        self.value = EffectivePolicy()

    def set(self, **changes: Any) -> None:
        self.value = replace(self.value, **changes)

    def require_mfa(self, **sign_on: Any) -> None:
        self.set(sign_on=SignOnSettings(require_factor=True, **sign_on))

    def enrollment(self, **keys: Enrollment) -> None:
        table = dict(EffectivePolicy().enrollment)  # the default's: WebAuthn off
        table.update(keys)
        self.set(enrollment=table)


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> Policy:
    holder = Policy()
    monkeypatch.setattr(authn_service, "effective_for", lambda ctx, uow, user: holder.value)
    return holder


def authn(client: Any, path: str = "", **body: Any) -> Any:
    return client.post(f"/api/v1/authn{path}", json=body)


def sign_in(client: Any, username: str = LOGIN, password: str = PASSWORD, **extra: Any) -> Any:
    return authn(client, username=username, password=password, **extra)


def code_for(outbox: Any, to: str) -> str:
    match = re.search(r"\b(\d{6})\b", outbox.messages(to=to)[0].body)
    assert match
    return match.group(1)


def enroll_active(
    api: Any, user: dict[str, Any], factor_type: str, outbox: Any, clock: Any = None, **profile: Any
) -> dict[str, Any]:
    provider = "GOOGLE" if factor_type == "token:software:totp" else "OKTA"
    base = f"/api/v1/users/{user['id']}/factors"
    if factor_type == "question":
        body = {"factorType": "question", "provider": "OKTA", "profile": profile}
        r = api.post(base, json=body)
        assert r.status_code == 200, r.get_json()
        return dict(r.get_json())
    r = api.post(base, json={"factorType": factor_type, "provider": provider, "profile": profile})
    assert r.status_code == 200, r.get_json()
    factor = r.get_json()
    if factor_type == "token:software:totp":
        secret = factor["_embedded"]["activation"]["sharedSecret"]
        factor["secret"] = secret
        code = totp_now(secret, clock)
    else:
        code = code_for(
            outbox, E164 if factor_type in ("sms", "call") else user["profile"]["email"]
        )
    r = api.post(f"{base}/{factor['id']}/lifecycle/activate", json={"passCode": code})
    assert r.status_code == 200, r.get_json()
    return dict(factor)


def totp_now(secret: str, clock: Any) -> str:
    return str(pyotp.TOTP(secret).at(clock()))


# ---- primary authentication ----------


def test_primary_authentication_succeeds_as_in_the_seed(
    anonymous: Any, make_user: Any, ctx: Any
) -> None:
    user = make_user(locale="en", timeZone="America/Los_Angeles")
    r = sign_in(
        anonymous, options={"multiOptionalFactorEnroll": False, "warnBeforePasswordExpired": False}
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert list(body) == ["expiresAt", "status", "sessionToken", "_embedded"]
    assert body["status"] == "SUCCESS"
    assert body["sessionToken"].startswith("20111") and len(body["sessionToken"]) > 40
    assert body["expiresAt"].endswith("Z")
    assert body["_embedded"]["user"] == {
        "id": user["id"],
        "passwordChanged": user["passwordChanged"],
        "profile": {
            "login": LOGIN,
            "firstName": "Isaac",
            "lastName": "Brock",
            "locale": "en",
            "timeZone": "America/Los_Angeles",
        },
    }
    # The sessionToken is one-time and stored only hashed.
    grant = ctx.stores.session_tokens.consume(body["sessionToken"])
    assert grant["user_id"] == user["id"] and grant["amr"] == ["pwd"]
    assert ctx.stores.session_tokens.consume(body["sessionToken"]) is None
    assert not any(body["sessionToken"] in k for k in ctx.stores.redis.keys("*"))


def test_a_sign_on_rule_that_denies_access_fails_like_a_wrong_password(
    anonymous: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    wrong = _error_body(sign_in(anonymous, password="Wrong-Password-1"))
    policy.set(sign_on=SignOnSettings(access_allowed=False))
    denied = sign_in(anonymous)
    assert denied.status_code == 401
    assert _error_body(denied) == wrong


def test_successful_sign_in_sets_last_login(
    anonymous: Any, api: Any, make_user: Any, clock: Any
) -> None:
    user = make_user()
    assert user["lastLogin"] is None
    clock.advance(seconds=90)
    assert sign_in(anonymous).status_code == 200
    after = api.get(f"/api/v1/users/{user['id']}").get_json()
    assert after["lastLogin"] == okta_timestamp(clock())
    assert after["lastUpdated"] == user["lastUpdated"]  # a sign-in is not a profile change


def test_relay_state_is_carried_to_success(anonymous: Any, make_user: Any) -> None:
    make_user()
    body = sign_in(anonymous, relayState="/app/deep/link").get_json()
    assert body["relayState"] == "/app/deep/link"


def _error_body(r: Any) -> dict[str, Any]:
    body = dict(r.get_json())
    body.pop("errorId", None)
    return body


def test_wrong_password_unknown_and_unusable_users_look_the_same(
    anonymous: Any, api: Any, make_user: Any
) -> None:
    make_user()
    suspended = make_user("suspended@example.com")
    api.post(f"/api/v1/users/{suspended['id']}/lifecycle/suspend")
    deactivated = make_user("gone@example.com")
    api.post(f"/api/v1/users/{deactivated['id']}/lifecycle/deactivate")
    staged = make_user("staged@example.com", activate=False)
    answers = [
        sign_in(anonymous, password="Wrong-Password-1"),
        sign_in(anonymous, username="nobody@example.com"),
        sign_in(anonymous, username="suspended@example.com"),
        sign_in(anonymous, username="gone@example.com"),
        sign_in(anonymous, username=staged["profile"]["login"]),
    ]
    assert {r.status_code for r in answers} == {401}
    bodies = [_error_body(r) for r in answers]
    assert bodies[0]["errorCode"] == "E0000004"
    assert bodies[0]["errorSummary"] == "Authentication failed"
    assert all(b == bodies[0] for b in bodies)


@pytest.mark.parametrize(
    "body",
    [{}, {"username": LOGIN}, {"password": PASSWORD}, {"username": 5, "password": PASSWORD}],
)
def test_malformed_primary_authentication_is_a_400(anonymous: Any, body: dict[str, Any]) -> None:
    r = anonymous.post("/api/v1/authn", json=body)
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"


def test_a_body_that_is_not_json_is_a_400(anonymous: Any) -> None:
    r = anonymous.post(
        "/api/v1/authn", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.get_json()["errorCode"] in ("E0000003", "E0000001")


def test_imported_hash_is_upgraded_on_first_sign_in(anonymous: Any, api: Any, ctx: Any) -> None:
    import bcrypt

    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    r = api.post(
        "/api/v1/users?activate=true",
        json={
            "profile": {"login": LOGIN, "email": LOGIN, "firstName": "Isaac", "lastName": "Brock"},
            "credentials": {
                "password": {
                    "hash": {
                        "algorithm": "BCRYPT",
                        "workFactor": 4,
                        "salt": hashed[7:29],
                        "value": hashed[29:],
                    }
                }
            },
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["credentials"]["provider"]["type"] == "IMPORT"
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"
    user = api.get(f"/api/v1/users/{r.get_json()['id']}").get_json()
    assert user["credentials"]["provider"]["type"] == "OKTA"
    with ctx.stores.unit_of_work() as uow:
        assert uow.users.get(user["id"]).password_hash.startswith("$argon2id$")
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"


# ---- MFA_REQUIRED and MFA_CHALLENGE ----------


def test_mfa_required_lists_factors_and_policy_as_in_the_seed(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy
) -> None:
    user = make_user()
    sms = enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    question = enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa()
    r = sign_in(anonymous)
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == ["stateToken", "expiresAt", "status", "_embedded", "_links"]
    assert body["status"] == "MFA_REQUIRED"
    assert body["stateToken"].startswith("00")
    factors = body["_embedded"]["factors"]
    assert [f["id"] for f in factors] == [sms["id"], question["id"]] or {
        f["id"] for f in factors
    } == {sms["id"], question["id"]}
    by_type = {f["factorType"]: f for f in factors}
    assert by_type["sms"] == {
        "id": sms["id"],
        "factorType": "sms",
        "provider": "OKTA",
        "vendorName": "OKTA",
        "profile": {"phoneNumber": "+1 XXX-XXX-4259"},  # masked, as in the seed
        "_links": {
            "verify": {
                "href": f"{BASE}/factors/{sms['id']}/verify",
                "hints": {"allow": ["POST"]},
            }
        },
    }
    assert by_type["question"]["profile"]["question"] == "name_of_first_plush_toy"
    assert body["_embedded"]["policy"] == {
        "allowRememberDevice": False,
        "rememberDeviceLifetimeInMinutes": 0,
        "rememberDeviceByDefault": False,
        "factorsPolicyInfo": {},
    }
    assert body["_links"] == {"cancel": {"href": f"{BASE}/cancel", "hints": {"allow": ["POST"]}}}


def test_sms_challenge_then_verify_gives_success(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    sms = enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    policy.require_mfa()
    token = sign_in(anonymous).get_json()["stateToken"]
    clock.advance(seconds=31)  # past the resend throttle of the activation code
    r = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "MFA_CHALLENGE"
    assert body["factorResult"] == "CHALLENGE"
    assert body["stateToken"] == token
    assert body["_embedded"]["factor"]["id"] == sms["id"]
    links = body["_links"]
    assert links["next"] == {
        "name": "verify",
        "href": f"{BASE}/factors/{sms['id']}/verify",
        "hints": {"allow": ["POST"]},
    }
    assert links["prev"]["href"] == f"{BASE}/previous"
    assert links["cancel"]["href"] == f"{BASE}/cancel"
    assert links["resend"] == [
        {
            "name": "sms",
            "href": f"{BASE}/factors/{sms['id']}/verify/resend",
            "hints": {"allow": ["POST"]},
        }
    ]
    wrong = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token, passCode="000000")
    assert wrong.status_code == 403
    assert wrong.get_json()["errorCode"] == "E0000068"
    # Still in MFA_CHALLENGE after a wrong code.
    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_CHALLENGE"
    code = code_for(outbox, E164)
    r = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token, passCode=code)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "SUCCESS"
    grant = ctx.stores.session_tokens.consume(body["sessionToken"])
    assert grant["amr"] == ["pwd", "sms", "mfa"]
    assert grant["factor_verified_at"] is not None
    # The transaction is over.
    spent = authn(anonymous, stateToken=token)
    assert spent.status_code == 401 and spent.get_json()["errorCode"] == "E0000011"


def test_challenge_resend_is_throttled_then_sends_a_new_code(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any
) -> None:
    user = make_user()
    sms = enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    policy.require_mfa()
    token = sign_in(anonymous).get_json()["stateToken"]
    clock.advance(seconds=31)
    authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    early = authn(anonymous, f"/factors/{sms['id']}/verify/resend", stateToken=token)
    assert early.status_code == 429 and early.get_json()["errorCode"] == "E0000109"
    assert early.headers["Retry-After"]
    clock.advance(seconds=31)
    first = code_for(outbox, E164)
    r = authn(anonymous, f"/factors/{sms['id']}/verify/resend", stateToken=token)
    assert r.status_code == 200 and r.get_json()["status"] == "MFA_CHALLENGE"
    second = code_for(outbox, E164)
    if first != second:  # only the newest code works
        old = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token, passCode=first)
        assert old.status_code == 403
    ok = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token, passCode=second)
    assert ok.get_json()["status"] == "SUCCESS"


def test_previous_from_challenge_goes_back_to_mfa_required(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any
) -> None:
    user = make_user()
    sms = enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    policy.require_mfa()
    token = sign_in(anonymous).get_json()["stateToken"]
    clock.advance(seconds=31)
    authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    r = authn(anonymous, "/previous", stateToken=token)
    assert r.get_json()["status"] == "MFA_REQUIRED"


def test_totp_verify_succeeds_once_and_a_replayed_code_is_refused(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    totp = enroll_active(api, user, "token:software:totp", outbox, clock)
    policy.require_mfa()
    clock.advance(seconds=90)
    token = sign_in(anonymous).get_json()["stateToken"]
    code = totp_now(totp["secret"], clock)
    r = authn(anonymous, f"/factors/{totp['id']}/verify", stateToken=token, passCode=code)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "SUCCESS"
    assert ctx.stores.session_tokens.consume(body["sessionToken"])["amr"] == ["pwd", "otp", "mfa"]
    token = sign_in(anonymous).get_json()["stateToken"]
    replay = authn(anonymous, f"/factors/{totp['id']}/verify", stateToken=token, passCode=code)
    assert replay.status_code == 403
    assert replay.get_json()["errorCode"] == "E0000082"


def test_security_question_verify(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy
) -> None:
    user = make_user()
    question = enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa()
    token = sign_in(anonymous).get_json()["stateToken"]
    path = f"/factors/{question['id']}/verify"
    wrong = authn(anonymous, path, stateToken=token, answer="Teddy")
    assert wrong.status_code == 403 and wrong.get_json()["errorCode"] == "E0000068"
    r = authn(anonymous, path, stateToken=token, answer="  mr bunny   RABBIT ")
    assert r.get_json()["status"] == "SUCCESS"


def test_unknown_or_foreign_factor_is_not_found(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy
) -> None:
    user = make_user()
    other = make_user("other@example.com")
    enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    foreign = enroll_active(
        api, other, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa()
    token = sign_in(anonymous).get_json()["stateToken"]
    for fid in (foreign["id"], "ufsNOPE"):
        r = authn(anonymous, f"/factors/{fid}/verify", stateToken=token, answer="Mr Bunny Rabbit")
        assert r.status_code == 404
        assert r.get_json()["errorCode"] == "E0000007"


# ---- MFA_ENROLL and MFA_ENROLL_ACTIVATE ----------


def test_required_enrolment_of_google_authenticator(
    anonymous: Any, make_user: Any, policy: Policy, clock: Any, ctx: Any, app: Any
) -> None:
    user = make_user()
    policy.enrollment(google_otp=Enrollment.REQUIRED)
    r = sign_in(anonymous)
    body = r.get_json()
    assert body["status"] == "MFA_ENROLL"
    assert "skip" not in body["_links"]
    google = next(f for f in body["_embedded"]["factors"] if f["provider"] == "GOOGLE")
    assert google == {
        "factorType": "token:software:totp",
        "provider": "GOOGLE",
        "vendorName": "GOOGLE",
        "_links": {"enroll": {"href": f"{BASE}/factors", "hints": {"allow": ["POST"]}}},
        "status": "NOT_SETUP",
        "enrollment": "REQUIRED",
    }
    token = body["stateToken"]
    skip = authn(anonymous, "/skip", stateToken=token)
    assert skip.status_code == 403 and skip.get_json()["errorCode"] == "E0000079"

    r = authn(
        anonymous, "/factors", stateToken=token, factorType="token:software:totp", provider="GOOGLE"
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "MFA_ENROLL_ACTIVATE"
    assert "factorResult" not in body  # only a push enrolment polls (Okta's recordings)
    factor = body["_embedded"]["factor"]
    assert factor["id"].startswith("uft")
    assert factor["profile"] == {"credentialId": LOGIN}
    activation = factor["_embedded"]["activation"]
    assert activation["timeStep"] == 30 and activation["encoding"] == "base32"
    assert activation["keyLength"] == 6
    qr = activation["_links"]["qrcode"]
    assert qr["type"] == "image/png"
    png = app.test_client().get(qr["href"].replace("http://portcullis.test", ""))
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert body["_links"]["next"] == {
        "name": "activate",
        "href": f"{BASE}/factors/{factor['id']}/lifecycle/activate",
        "hints": {"allow": ["POST"]},
    }
    assert body["_links"]["prev"]["href"] == f"{BASE}/previous"
    assert list(body["_links"]) == ["next", "prev", "cancel"]

    wrong = authn(
        anonymous,
        f"/factors/{factor['id']}/lifecycle/activate",
        stateToken=token,
        passCode="000000",
    )
    assert wrong.status_code == 403 and wrong.get_json()["errorCode"] == "E0000068"
    code = totp_now(activation["sharedSecret"], clock)
    r = authn(
        anonymous, f"/factors/{factor['id']}/lifecycle/activate", stateToken=token, passCode=code
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "SUCCESS"
    assert ctx.stores.session_tokens.consume(body["sessionToken"])["amr"] == ["pwd", "otp", "mfa"]
    # Enrolled: the next sign-in needs no enrolment.
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"
    with ctx.stores.unit_of_work() as uow:
        (active,) = uow.factors.for_user(user["id"])
        assert active.active


def test_previous_abandons_an_enrolment(anonymous: Any, make_user: Any, policy: Policy) -> None:
    make_user()
    policy.enrollment(google_otp=Enrollment.REQUIRED)
    token = sign_in(anonymous).get_json()["stateToken"]
    authn(
        anonymous, "/factors", stateToken=token, factorType="token:software:totp", provider="GOOGLE"
    )
    r = authn(anonymous, "/previous", stateToken=token)
    assert r.get_json()["status"] == "MFA_ENROLL"
    google = next(f for f in r.get_json()["_embedded"]["factors"] if f["provider"] == "GOOGLE")
    assert google["status"] == "NOT_SETUP"


def test_sms_enrolment_in_the_flow_with_resend(
    anonymous: Any, make_user: Any, policy: Policy, outbox: Any, clock: Any
) -> None:
    make_user()
    policy.enrollment(okta_sms=Enrollment.REQUIRED)
    token = sign_in(anonymous).get_json()["stateToken"]
    r = authn(
        anonymous,
        "/factors",
        stateToken=token,
        factorType="sms",
        provider="OKTA",
        profile={"phoneNumber": PHONE},
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "MFA_ENROLL_ACTIVATE"
    fid = body["_embedded"]["factor"]["id"]
    assert body["_links"]["resend"] == [
        {
            "name": "sms",
            "href": f"{BASE}/factors/{fid}/lifecycle/resend",
            "hints": {"allow": ["POST"]},
        }
    ]
    clock.advance(seconds=31)
    assert authn(anonymous, f"/factors/{fid}/lifecycle/resend", stateToken=token).status_code == 200
    code = code_for(outbox, E164)
    wrong = "000000" if code != "000000" else "111111"
    r = authn(anonymous, f"/factors/{fid}/lifecycle/activate", stateToken=token, passCode=wrong)
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000068"
    # Refused inside the save: the transaction is unchanged and free for the next call.
    assert authn(anonymous, "", stateToken=token).get_json()["status"] == "MFA_ENROLL_ACTIVATE"
    r = authn(anonymous, f"/factors/{fid}/lifecycle/activate", stateToken=token, passCode=code)
    assert r.get_json()["status"] == "SUCCESS"
    r = authn(anonymous, f"/factors/{fid}/lifecycle/activate", stateToken=token, passCode=code)
    assert r.status_code == 401  # the transaction ended with SUCCESS


def test_factor_not_allowed_by_policy_cannot_be_enrolled(
    anonymous: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    policy.enrollment(google_otp=Enrollment.REQUIRED, okta_sms=Enrollment.NOT_ALLOWED)
    body = sign_in(anonymous).get_json()
    assert "sms" not in {f["factorType"] for f in body["_embedded"]["factors"]}
    r = authn(
        anonymous,
        "/factors",
        stateToken=body["stateToken"],
        factorType="sms",
        profile={"phoneNumber": PHONE},
    )
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001"


def test_multi_optional_enrolment_offers_skip(
    anonymous: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    plain = sign_in(anonymous).get_json()
    assert plain["status"] == "SUCCESS"  # optional factors are not offered unless asked
    body = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()
    assert body["status"] == "MFA_ENROLL"
    assert {f["enrollment"] for f in body["_embedded"]["factors"]} == {"OPTIONAL"}
    assert body["_links"]["skip"]["href"] == f"{BASE}/skip"
    r = authn(anonymous, "/skip", stateToken=body["stateToken"])
    assert r.get_json()["status"] == "SUCCESS"


def test_mfa_required_with_no_factor_enrolled_asks_to_enrol_first(
    anonymous: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    policy.require_mfa()
    body = sign_in(anonymous).get_json()
    assert body["status"] == "MFA_ENROLL"
    assert "skip" not in body["_links"]
    question = authn(
        anonymous,
        "/factors",
        stateToken=body["stateToken"],
        factorType="question",
        profile={"question": "name_of_first_plush_toy", "answer": "Mr Bunny Rabbit"},
    )
    # A security question is active at once: enrolled and verified.
    assert question.get_json()["status"] == "SUCCESS"


# ---- passwords ----------


def test_expired_password_must_be_changed(anonymous: Any, api: Any, make_user: Any) -> None:
    user = make_user()
    api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password")
    body = sign_in(anonymous).get_json()
    assert body["status"] == "PASSWORD_EXPIRED"
    assert body["_links"]["next"] == {
        "name": "changePassword",
        "href": f"{BASE}/credentials/change_password",
        "hints": {"allow": ["POST"]},
    }
    assert body["_embedded"]["policy"]["complexity"]["minLength"] == 8
    token = body["stateToken"]
    skip = authn(anonymous, "/skip", stateToken=token)
    assert skip.status_code == 403 and skip.get_json()["errorCode"] == "E0000079"
    wrong = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=token,
        oldPassword="Nope-1234",
        newPassword="Brand-New-Pass-9",
    )
    assert wrong.status_code == 403 and wrong.get_json()["errorCode"] == "E0000014"
    weak = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=token,
        oldPassword=PASSWORD,
        newPassword="short",
    )
    assert weak.status_code == 403
    assert weak.get_json()["errorCode"] == "E0000080"
    assert weak.get_json()["errorCauses"]
    same = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=token,
        oldPassword=PASSWORD,
        newPassword=PASSWORD,
    )
    assert same.status_code == 403 and same.get_json()["errorCode"] == "E0000080"
    r = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=token,
        oldPassword=PASSWORD,
        newPassword="Brand-New-Pass-9",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "SUCCESS"
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"
    assert sign_in(anonymous, password="Brand-New-Pass-9").get_json()["status"] == "SUCCESS"


def test_password_warn_only_when_asked_and_skippable(
    anonymous: Any, make_user: Any, policy: Policy, clock: Any
) -> None:
    make_user()
    policy.set(password=PasswordSettings(max_age_days=30, expire_warn_days=5))
    clock.advance(days=27)
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"
    body = sign_in(anonymous, options={"warnBeforePasswordExpired": True}).get_json()
    assert body["status"] == "PASSWORD_WARN"
    assert body["_embedded"]["policy"]["expiration"] == {"passwordExpireDays": 3}
    assert body["_links"]["skip"] == {
        "name": "skip",
        "href": f"{BASE}/skip",
        "hints": {"allow": ["POST"]},
    }
    assert body["_links"]["next"]["name"] == "changePassword"
    r = authn(anonymous, "/skip", stateToken=body["stateToken"])
    assert r.get_json()["status"] == "SUCCESS"
    clock.advance(days=4)  # past maxAgeDays: expired
    assert sign_in(anonymous).get_json()["status"] == "PASSWORD_EXPIRED"


def test_password_policy_complexity_reported(
    anonymous: Any, api: Any, make_user: Any, policy: Policy
) -> None:
    user = make_user()
    api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password")
    policy.set(password=PasswordSettings(complexity=PasswordPolicy(min_length=12, min_symbol=1)))
    body = sign_in(anonymous).get_json()
    assert body["_embedded"]["policy"]["complexity"]["minLength"] == 12
    assert body["_embedded"]["policy"]["complexity"]["minSymbol"] == 1


# ---- lockout ----------


def test_lockout_after_max_attempts_and_admin_unlock(
    anonymous: Any, api: Any, make_user: Any, policy: Policy
) -> None:
    user = make_user()
    policy.set(password=PasswordSettings(lockout=Lockout(max_attempts=3)))
    for _ in range(3):
        assert sign_in(anonymous, password="Wrong-Password-1").status_code == 401
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    right = sign_in(anonymous)
    assert right.status_code == 401 and right.get_json()["errorCode"] == "E0000004"
    assert api.post(f"/api/v1/users/{user['id']}/lifecycle/unlock").status_code == 200
    # Unlocked: the count starts again from zero.
    assert sign_in(anonymous, password="Wrong-Password-1").status_code == 401
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"


def test_success_resets_the_failure_count(
    anonymous: Any, api: Any, make_user: Any, policy: Policy
) -> None:
    user = make_user()
    policy.set(password=PasswordSettings(lockout=Lockout(max_attempts=3)))
    for _ in range(2):
        sign_in(anonymous, password="Wrong-Password-1")
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"
    for _ in range(2):
        sign_in(anonymous, password="Wrong-Password-1")
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"


def test_show_lockout_failures_and_auto_unlock(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any
) -> None:
    user = make_user()
    policy.set(
        password=PasswordSettings(
            lockout=Lockout(max_attempts=2, auto_unlock_minutes=30, show_lockout_failures=True),
            self_service_unlock=True,
        )
    )
    assert sign_in(anonymous, password="Wrong-Password-1").status_code == 401
    locked = sign_in(anonymous, password="Wrong-Password-1")
    assert locked.status_code == 200
    assert locked.get_json() == {
        "status": "LOCKED_OUT",
        "_embedded": {},
        "_links": {
            "next": {
                "name": "unlock",
                "href": f"{BASE}/recovery/unlock",
                "hints": {"allow": ["POST"]},
            },
            "cancel": {"href": f"{BASE}/cancel", "hints": {"allow": ["POST"]}},
        },
    }
    assert sign_in(anonymous).get_json()["status"] == "LOCKED_OUT"
    # Without self-service unlock in the policy, no unlock link is offered.
    policy.set(password=replace(policy.value.password, self_service_unlock=False))
    assert sign_in(anonymous).get_json() == LOCKED_OUT
    clock.advance(minutes=31)
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"


def test_failed_mfa_attempts_count_towards_lockout(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy
) -> None:
    user = make_user()
    question = enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa()
    policy.set(password=PasswordSettings(lockout=Lockout(max_attempts=3)))
    token = sign_in(anonymous).get_json()["stateToken"]
    path = f"/factors/{question['id']}/verify"
    assert (
        authn(anonymous, path, stateToken=token, answer="nope1").get_json()["errorCode"]
        == "E0000068"
    )
    assert (
        authn(anonymous, path, stateToken=token, answer="nope2").get_json()["errorCode"]
        == "E0000068"
    )
    locked = authn(anonymous, path, stateToken=token, answer="nope3")
    assert locked.status_code == 403 and locked.get_json()["errorCode"] == "E0000069"
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    assert authn(anonymous, stateToken=token).get_json()["errorCode"] == "E0000011"


# ---- the transaction itself ----------


def test_read_cancel_and_unknown_tokens(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy
) -> None:
    user = make_user()
    enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa()
    first = sign_in(anonymous, relayState="/back").get_json()
    token = first["stateToken"]
    again = authn(anonymous, stateToken=token).get_json()
    assert again == first
    assert authn(anonymous, "/introspect", stateToken=token).get_json() == first
    r = authn(anonymous, "/cancel", stateToken=token)
    assert r.status_code == 200
    assert r.get_json() == {"status": "UNAUTHENTICATED", "relayState": "/back"}
    for bad in (token, "00unknown", ""):
        r = authn(anonymous, stateToken=bad) if bad else authn(anonymous, "/cancel", stateToken="x")
        assert r.status_code == 401
        assert r.get_json()["errorCode"] == "E0000011"
        assert r.get_json()["errorSummary"] == "Invalid token provided"
    assert authn(anonymous, "/introspect", stateToken=token).status_code == 401
    assert authn(anonymous, "/introspect").status_code == 400  # no stateToken at all


def test_state_token_expires(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any
) -> None:
    user = make_user()
    enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa()
    body = sign_in(anonymous).get_json()
    assert body["expiresAt"] == "2026-01-15T09:35:00.000Z"
    clock.advance(minutes=4)
    assert authn(anonymous, stateToken=body["stateToken"]).status_code == 200
    clock.advance(minutes=1, seconds=1)
    r = authn(anonymous, stateToken=body["stateToken"])
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/skip", {}),
        ("/previous", {}),
        ("/credentials/change_password", {"oldPassword": PASSWORD, "newPassword": "Other-Pass-99"}),
        ("/credentials/reset_password", {"newPassword": "Other-Pass-99"}),
        ("/factors", {"factorType": "question"}),
        ("/recovery/answer", {"answer": "whatever"}),
        ("/recovery/factors/SMS/verify", {"passCode": "123456"}),
    ],
)
def test_actions_outside_the_table_are_refused_in_mfa_required(
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    policy: Policy,
    path: str,
    extra: dict[str, Any],
) -> None:
    user = make_user()
    enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa()
    token = sign_in(anonymous).get_json()["stateToken"]
    r = authn(anonymous, path, stateToken=token, **extra)
    assert r.status_code == 403, r.get_json()
    assert r.get_json()["errorCode"] == "E0000079"
    assert r.get_json()["errorSummary"] == (
        "This operation is not allowed in the current authentication state."
    )
    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_REQUIRED"


def test_remember_device_skips_mfa_on_that_device_only(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any
) -> None:
    user = make_user()
    question = enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa(factor_prompt_mode=FactorPromptMode.DEVICE, factor_lifetime_minutes=60)
    device = {"deviceToken": "device-one-abcdef"}
    body = sign_in(anonymous, context=device).get_json()
    assert body["_embedded"]["policy"]["allowRememberDevice"] is True
    assert body["_embedded"]["policy"]["rememberDeviceLifetimeInMinutes"] == 60
    r = anonymous.post(
        f"/api/v1/authn/factors/{question['id']}/verify?rememberDevice=true",
        json={"stateToken": body["stateToken"], "answer": "Mr Bunny Rabbit"},
    )
    assert r.get_json()["status"] == "SUCCESS"
    assert sign_in(anonymous, context=device).get_json()["status"] == "SUCCESS"
    assert (
        sign_in(anonymous, context={"deviceToken": "another"}).get_json()["status"]
        == "MFA_REQUIRED"
    )
    assert sign_in(anonymous).get_json()["status"] == "MFA_REQUIRED"
    clock.advance(minutes=61)
    # The remembered device lapses by Redis TTL (real time): the policy's lifetime sets it.


def _exchange_for_cookie(browser: Any, session_token: str) -> Any:
    """The sign-in page's hand-off: the sessionToken for a sid cookie."""
    r = browser.get(
        "/login/sessionCookieRedirect",
        query_string={"token": session_token, "redirectUrl": "http://portcullis.test/app"},
    )
    assert r.status_code == 302, r.data
    return r


def test_session_prompt_mode_asks_for_mfa_once_per_session(
    app: Any, anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy
) -> None:
    user = make_user()
    make_user("other@example.com")
    question = enroll_active(
        api, user, "question", outbox, question="name_of_first_plush_toy", answer="Mr Bunny Rabbit"
    )
    policy.require_mfa(factor_prompt_mode=FactorPromptMode.SESSION)
    browser = app.test_client()  # keeps its cookies, as a browser (okta-auth-js sends them)
    first = sign_in(browser).get_json()
    assert first["status"] == "MFA_REQUIRED"
    done = authn(
        browser,
        f"/factors/{question['id']}/verify",
        stateToken=first["stateToken"],
        answer="Mr Bunny Rabbit",
    ).get_json()
    assert done["status"] == "SUCCESS"
    _exchange_for_cookie(browser, done["sessionToken"])
    # The same person in the same browser session: no second factor.
    again = sign_in(browser).get_json()
    assert again["status"] == "SUCCESS", again
    # Elsewhere (no sid cookie), or another user in this browser: asked.
    assert sign_in(anonymous).get_json()["status"] == "MFA_REQUIRED"
    other = sign_in(browser, username="other@example.com").get_json()
    assert other["status"] in ("MFA_ENROLL", "MFA_REQUIRED")
    # ALWAYS asks whatever the session.
    policy.require_mfa(factor_prompt_mode=FactorPromptMode.ALWAYS)
    assert sign_in(browser).get_json()["status"] == "MFA_REQUIRED"
    # A session that proved no factor waives nothing: the waived sign-in's own
    # session records only what it verified (the password).
    policy.require_mfa(factor_prompt_mode=FactorPromptMode.SESSION)
    _exchange_for_cookie(browser, again["sessionToken"])
    assert browser.get("/api/v1/sessions/me").get_json()["amr"] == ["pwd"]
    assert sign_in(browser).get_json()["status"] == "MFA_REQUIRED"


def test_use_persistent_cookie_gives_the_sid_cookie_an_expiry(
    app: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    browser = app.test_client()
    plain = _exchange_for_cookie(browser, sign_in(browser).get_json()["sessionToken"])
    assert "Max-Age" not in plain.headers["Set-Cookie"]  # ends with the browser
    assert "Expires" not in plain.headers["Set-Cookie"]
    policy.set(sign_on=SignOnSettings(use_persistent_cookie=True, max_session_idle_minutes=30))
    kept = _exchange_for_cookie(browser, sign_in(browser).get_json()["sessionToken"])
    assert "Max-Age=1800" in kept.headers["Set-Cookie"]
    assert "Expires=" in kept.headers["Set-Cookie"]
    refreshed = browser.post("/api/v1/sessions/me/lifecycle/refresh")
    assert refreshed.status_code == 200
    assert "Max-Age=1800" in refreshed.headers["Set-Cookie"]  # the idle time starts again


# ---- recovery ----------


def _recovery_policy(policy: Policy, **changes: Any) -> None:
    policy.set(
        password=PasswordSettings(
            recovery_factors=frozenset(
                {"okta_sms", "okta_email", "recovery_question", "okta_call"}
            ),
            self_service_unlock=True,
            **changes,
        )
    )


def _with_question(api: Any, user: dict[str, Any]) -> None:
    r = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_recovery_question",
        json={
            "password": {"value": PASSWORD},
            "recovery_question": {
                "question": "Who's a major player in the cowboy scene?",
                "answer": "Annie Oakley",
            },
        },
    )
    assert r.status_code == 200, r.get_json()


def test_forgot_password_by_sms_answer_and_reset(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _with_question(api, user)
    _recovery_policy(policy)
    clock.advance(seconds=31)
    r = authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS", relayState="/r")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "RECOVERY_CHALLENGE"
    assert body["factorType"] == "SMS" and body["recoveryType"] == "PASSWORD"
    assert body["relayState"] == "/r"
    assert body["_links"]["next"] == {
        "name": "verify",
        "href": f"{BASE}/recovery/factors/SMS/verify",
        "hints": {"allow": ["POST"]},
    }
    assert body["_links"]["resend"]["href"] == f"{BASE}/recovery/factors/SMS/resend"
    token = body["stateToken"]
    wrong = authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode="000000")
    assert wrong.status_code == 403 and wrong.get_json()["errorCode"] == "E0000068"
    code = code_for(outbox, E164)
    r = authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code)
    body = r.get_json()
    assert body["status"] == "RECOVERY", body
    assert body["_embedded"]["user"]["recovery_question"] == {
        "question": "Who's a major player in the cowboy scene?"
    }
    assert body["_links"]["next"]["name"] == "answer"
    bad = authn(anonymous, "/recovery/answer", stateToken=token, answer="Calamity Jane")
    assert bad.status_code == 403 and bad.get_json()["errorCode"] == "E0000087"
    r = authn(anonymous, "/recovery/answer", stateToken=token, answer="annie oakley")
    body = r.get_json()
    assert body["status"] == "PASSWORD_RESET"
    assert body["_links"]["next"]["name"] == "resetPassword"
    weak = authn(anonymous, "/credentials/reset_password", stateToken=token, newPassword="weak")
    assert weak.status_code == 403 and weak.get_json()["errorCode"] == "E0000080"
    r = authn(
        anonymous, "/credentials/reset_password", stateToken=token, newPassword="Recovered-Pass-7"
    )
    body = r.get_json()
    assert body["status"] == "SUCCESS" and body["sessionToken"]
    assert body["recoveryType"] == "PASSWORD"
    assert sign_in(anonymous).status_code == 401
    assert sign_in(anonymous, password="Recovered-Pass-7").get_json()["status"] == "SUCCESS"


def test_forgot_password_for_unknown_user_looks_the_same(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any
) -> None:
    user = make_user()
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _recovery_policy(policy)
    clock.advance(seconds=31)
    real = authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS").get_json()
    fake = authn(
        anonymous, "/recovery/password", username="nobody@example.com", factorType="SMS"
    ).get_json()
    assert len(outbox.messages(to=E164)) == 2  # activation, then the real recovery code
    strip = {"stateToken", "expiresAt"}
    assert {k: v for k, v in real.items() if k not in strip} == {
        k: v for k, v in fake.items() if k not in strip
    }
    token = fake["stateToken"]
    r = authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode="123456")
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000068"
    assert authn(anonymous, stateToken=token).get_json() == fake
    early = authn(anonymous, "/recovery/factors/SMS/resend", stateToken=token)
    assert early.status_code == 429 and early.get_json()["errorCode"] == "E0000109"
    clock.advance(seconds=31)
    resent = authn(anonymous, "/recovery/factors/SMS/resend", stateToken=token)
    assert resent.status_code == 200 and resent.get_json()["status"] == "RECOVERY_CHALLENGE"
    assert authn(anonymous, "/cancel", stateToken=token).get_json()["status"] == "UNAUTHENTICATED"
    assert authn(anonymous, stateToken=token).status_code == 401


def test_forgot_password_by_email_link(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy
) -> None:
    make_user()
    policy.set(password=PasswordSettings())  # e-mail and question are the defaults
    r = authn(anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
    assert r.get_json() == {
        "status": "RECOVERY_CHALLENGE",
        "factorResult": "WAITING",
        "factorType": "EMAIL",
        "recoveryType": "PASSWORD",
    }
    message = outbox.messages(to=LOGIN)[0]
    token = re.search(r"/signin/reset-password/([\w-]+)", message.body).group(1)
    r = authn(anonymous, "/recovery/token", recoveryToken=token)
    body = r.get_json()
    assert body["status"] == "PASSWORD_RESET", body
    assert body["recoveryType"] == "PASSWORD"
    r = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="Recovered-Pass-7",
    )
    assert r.get_json()["status"] == "SUCCESS"
    # The recovery token was one-time.
    again = authn(anonymous, "/recovery/token", recoveryToken=token)
    assert again.status_code == 401 and again.get_json()["errorCode"] == "E0000011"


def test_recovery_token_from_admin_reset_password(anonymous: Any, api: Any, make_user: Any) -> None:
    user = make_user()
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/reset_password?sendEmail=false")
    url = r.get_json()["resetPasswordUrl"]
    token = url.rsplit("/", 1)[1]
    assert sign_in(anonymous).status_code == 401  # RECOVERY: the old password is void
    body = authn(anonymous, "/recovery/token", recoveryToken=token).get_json()
    assert body["status"] == "PASSWORD_RESET"
    r = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="Recovered-Pass-7",
    )
    assert r.get_json()["status"] == "SUCCESS"
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"


def test_unlock_by_sms(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any
) -> None:
    user = make_user()
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _recovery_policy(policy, lockout=Lockout(max_attempts=1))
    sign_in(anonymous, password="Wrong-Password-1")
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    clock.advance(seconds=31)
    body = authn(anonymous, "/recovery/unlock", username=LOGIN, factorType="SMS").get_json()
    assert body["status"] == "RECOVERY_CHALLENGE" and body["recoveryType"] == "UNLOCK"
    code = code_for(outbox, E164)
    r = authn(
        anonymous, "/recovery/factors/SMS/verify", stateToken=body["stateToken"], passCode=code
    )
    body = r.get_json()
    assert body["status"] == "SUCCESS" and body["recoveryType"] == "UNLOCK"
    assert "sessionToken" not in body
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"


def test_recovery_rejects_an_unknown_factor_type(anonymous: Any) -> None:
    r = authn(anonymous, "/recovery/password", username=LOGIN, factorType="PIGEON")
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001"


# ---- the table, over HTTP: every status x every action ----------


ACTION_PATHS = {
    Action.ENROLL_FACTOR: ("/factors", {"factorType": "question"}),
    Action.ACTIVATE_FACTOR: ("/factors/{fid}/lifecycle/activate", {"passCode": "123456"}),
    Action.RESEND_ACTIVATION: ("/factors/{fid}/lifecycle/resend", {}),
    Action.VERIFY_FACTOR: ("/factors/{fid}/verify", {"passCode": "123456"}),
    Action.RESEND_CHALLENGE: ("/factors/{fid}/verify/resend", {}),
    Action.PREVIOUS: ("/previous", {}),
    Action.SKIP: ("/skip", {}),
    Action.CHANGE_PASSWORD: (
        "/credentials/change_password",
        {"oldPassword": PASSWORD, "newPassword": "Other-Pass-99"},
    ),
    Action.RESET_PASSWORD: ("/credentials/reset_password", {"newPassword": "Other-Pass-99"}),
    Action.RECOVERY_VERIFY: ("/recovery/factors/SMS/verify", {"passCode": "123456"}),
    Action.RECOVERY_RESEND: ("/recovery/factors/SMS/resend", {}),
    Action.RECOVERY_ANSWER: ("/recovery/answer", {"answer": "whatever"}),
}


def _reach(
    status: Status,
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    policy: Policy,
    clock: Any,
) -> tuple[str, str]:
    """A live transaction in ``status``: (stateToken, the factor id involved)."""
    user = make_user()
    sms = enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _with_question(api, user)
    clock.advance(seconds=31)
    if status in (Status.MFA_REQUIRED, Status.MFA_CHALLENGE):
        policy.require_mfa()
        token = sign_in(anonymous).get_json()["stateToken"]
        if status is Status.MFA_CHALLENGE:
            authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
        return token, sms["id"]
    if status in (Status.MFA_ENROLL, Status.MFA_ENROLL_ACTIVATE):
        policy.enrollment(google_otp=Enrollment.REQUIRED)
        token = sign_in(anonymous).get_json()["stateToken"]
        # A user with a factor proves it before enrolling another.
        authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
        code = code_for(outbox, E164)
        authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token, passCode=code)
        if status is Status.MFA_ENROLL:
            return token, sms["id"]
        body = authn(
            anonymous,
            "/factors",
            stateToken=token,
            factorType="token:software:totp",
            provider="GOOGLE",
        ).get_json()
        return token, body["_embedded"]["factor"]["id"]
    if status is Status.PASSWORD_WARN:
        policy.set(password=PasswordSettings(max_age_days=30, expire_warn_days=5))
        clock.advance(days=27)
        return sign_in(anonymous, options={"warnBeforePasswordExpired": True}).get_json()[
            "stateToken"
        ], sms["id"]
    if status is Status.PASSWORD_EXPIRED:
        api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password")
        return sign_in(anonymous).get_json()["stateToken"], sms["id"]
    _recovery_policy(policy)
    token = authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS").get_json()[
        "stateToken"
    ]
    if status is Status.RECOVERY_CHALLENGE:
        return token, sms["id"]
    code = code_for(outbox, E164)
    authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code)
    if status is Status.PASSWORD_RESET:
        authn(anonymous, "/recovery/answer", stateToken=token, answer="Annie Oakley")
    return token, sms["id"]


REACHABLE = [
    s for s in Status if s not in (Status.UNAUTHENTICATED, Status.LOCKED_OUT, Status.SUCCESS)
]


@pytest.mark.parametrize("status", REACHABLE)
def test_every_action_outside_the_table_is_refused(
    status: Status,
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    policy: Policy,
    clock: Any,
) -> None:
    token, fid = _reach(status, anonymous, api, make_user, outbox, policy, clock)
    assert authn(anonymous, stateToken=token).get_json()["status"] == status.value
    refused = [a for a in ACTION_PATHS if not allowed(status, a)]
    assert refused  # every status refuses something
    for action in refused:
        path, body = ACTION_PATHS[action]
        r = authn(anonymous, path.format(fid=fid), stateToken=token, **body)
        assert r.status_code == 403, (action, r.get_json())
        assert r.get_json()["errorCode"] == "E0000079", action
    # Nothing moved.
    assert authn(anonymous, stateToken=token).get_json()["status"] == status.value


# ---- activation ----------


def test_activation_token_lets_a_new_user_choose_a_password(
    anonymous: Any, api: Any, make_user: Any, ctx: Any
) -> None:
    user = make_user(password=None, activate=False)
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/activate?sendEmail=false")
    token = r.get_json()["activationToken"]
    r = authn(anonymous, token=token)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "PASSWORD_RESET", body
    assert "recoveryType" not in body
    assert body["_links"]["next"]["name"] == "resetPassword"
    r = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="First-Passw0rd-1",
    )
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    fresh = api.get(f"/api/v1/users/{user['id']}").get_json()
    assert fresh["status"] == "ACTIVE" and fresh["activated"] is not None
    assert sign_in(anonymous, password="First-Passw0rd-1").get_json()["status"] == "SUCCESS"
    # The activation token was one-time.
    again = authn(anonymous, token=token)
    assert again.status_code == 401 and again.get_json()["errorCode"] == "E0000004"


def test_a_short_name_signs_in_and_a_username_with_at_never_searches_by_short_name(
    anonymous: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A username without ``@`` is looked up as a login's short name (an index
    range scan, migration 0008). One with ``@`` is a login or nothing: an
    anonymous caller's made-up logins cost one indexed lookup, never a search."""
    from app.store.users import UserRepository

    make_user()
    searched: list[str] = []
    by_shortname = UserRepository.by_shortname

    def recorded(self: UserRepository, shortname: str) -> Any:
        searched.append(shortname)
        return by_shortname(self, shortname)

    monkeypatch.setattr(UserRepository, "by_shortname", recorded)
    assert sign_in(anonymous, username=LOGIN.split("@")[0]).get_json()["status"] == "SUCCESS"
    assert searched == [LOGIN.split("@")[0]]
    r = sign_in(anonymous, username="nobody.at.all@example.com")
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000004"
    assert searched == [LOGIN.split("@")[0]]
