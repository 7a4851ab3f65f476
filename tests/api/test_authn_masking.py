"""Before SUCCESS, /authn answers show no full phone number or e-mail address.

Whoever holds only the password (phished, reused, sprayed) gets every answer
up to SUCCESS; from them they must not learn where the user's codes go. The
walk reaches each status and checks the whole answer, not one field. The
admin APIs (SSWS) keep the full values.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from app.domain.policy import (
    EffectivePolicy,
    Enrollment,
    Lockout,
    PasswordSettings,
    SignOnSettings,
)
from app.services.authn import transaction as authn_service
from tests.conftest import PASSWORD

LOGIN = "dade.murphy@example.com"
EMAIL = "dade.private@mail.example.org"  # not the login: the login is shown, as Okta does
SMS_PHONE, CALL_PHONE = "+15052694259", "+14155556688"
SECRETS = ("5052694259", "4155556688", EMAIL, "dade.private")


class Policy:
    def __init__(self) -> None:
        self.value = EffectivePolicy()

    def set(self, **changes: Any) -> None:
        self.value = replace(self.value, **changes)


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> Policy:
    holder = Policy()
    monkeypatch.setattr(authn_service, "effective_for", lambda ctx, uow, user: holder.value)
    return holder


def assert_masked(r: Any) -> dict[str, Any]:
    """No full contact detail anywhere in the answer (any field, any depth)."""
    assert r.status_code == 200, r.get_json()
    body: dict[str, Any] = r.get_json()
    text = json.dumps(body)
    digits = re.sub(r"\D", "", text)
    for secret in SECRETS:
        assert secret not in text, (secret, body)
        if secret.isdigit():
            assert secret not in digits, (secret, body)
    return body


def authn(client: Any, path: str = "", **body: Any) -> Any:
    return client.post(f"/api/v1/authn{path}", json=body)


def sign_in(client: Any) -> Any:
    return authn(client, username=LOGIN, password=PASSWORD)


@pytest.fixture
def user(make_user: Any) -> dict[str, Any]:
    return dict(make_user(LOGIN, email=EMAIL, mobilePhone=SMS_PHONE))


def enroll(api: Any, user: dict[str, Any], factor_type: str, **profile: Any) -> dict[str, Any]:
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?activate=true",
        json={"factorType": factor_type, "profile": profile},
    )
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


@pytest.fixture
def enrolled(api: Any, user: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "sms": enroll(api, user, "sms", phoneNumber=SMS_PHONE),
        "call": enroll(api, user, "call", phoneNumber=CALL_PHONE),
        "email": enroll(api, user, "email", email=EMAIL),
    }


def test_mfa_required_and_each_challenge_are_masked(
    anonymous: Any, api: Any, enrolled: dict[str, Any], policy: Policy, clock: Any
) -> None:
    policy.set(sign_on=SignOnSettings(require_factor=True))
    body = assert_masked(sign_in(anonymous))
    assert body["status"] == "MFA_REQUIRED"
    profiles = {f["factorType"]: f["profile"] for f in body["_embedded"]["factors"]}
    assert profiles == {
        "sms": {"phoneNumber": "+1 XXX-XXX-4259"},
        "call": {"phoneNumber": "+1 XXX-XXX-6688"},
        "email": {"email": "d...e@mail.example.org"},
    }
    token = body["stateToken"]
    for factor_type, masked in profiles.items():
        clock.advance(seconds=31)
        fid = enrolled[factor_type]["id"]
        body = assert_masked(authn(anonymous, f"/factors/{fid}/verify", stateToken=token))
        assert body["status"] == "MFA_CHALLENGE"
        assert body["_embedded"]["factor"]["profile"] == masked
        clock.advance(seconds=31)
        resent = assert_masked(authn(anonymous, f"/factors/{fid}/verify/resend", stateToken=token))
        assert resent["_embedded"]["factor"]["profile"] == masked
        assert assert_masked(authn(anonymous, "/previous", stateToken=token))["status"] == (
            "MFA_REQUIRED"
        )
    # The admin API, with its token, keeps the full values.
    full = api.get(f"/api/v1/users/{enrolled['sms']['_links']['user']['href'].rsplit('/', 1)[1]}")
    assert full.get_json()["profile"]["email"] == EMAIL
    factor = api.get(enrolled["sms"]["_links"]["self"]["href"]).get_json()
    assert factor["profile"]["phoneNumber"] == SMS_PHONE


def test_mfa_enroll_lists_active_factors_without_their_details(
    anonymous: Any, enrolled: dict[str, Any], policy: Policy, outbox: Any
) -> None:
    table = dict.fromkeys(policy.value.enrollment, Enrollment.OPTIONAL)
    table["google_otp"] = Enrollment.REQUIRED
    policy.set(enrollment=table)
    body = assert_masked(sign_in(anonymous))
    assert body["status"] == "MFA_REQUIRED"  # a factor the user has comes first
    token, fid = body["stateToken"], enrolled["email"]["id"]
    assert_masked(authn(anonymous, f"/factors/{fid}/verify", stateToken=token))
    code = re.search(r"\b(\d{6})\b", outbox.messages(to=EMAIL)[0].body)
    assert code
    body = assert_masked(
        authn(anonymous, f"/factors/{fid}/verify", stateToken=token, passCode=code.group(1))
    )
    assert body["status"] == "MFA_ENROLL"
    active = [f for f in body["_embedded"]["factors"] if f["status"] == "ACTIVE"]
    assert {f["factorType"] for f in active} == {"sms", "call", "email"}


@pytest.mark.parametrize(
    ("key", "factor_type", "profile", "masked"),
    [
        ("okta_sms", "sms", {"phoneNumber": SMS_PHONE}, {"phoneNumber": "+1 XXX-XXX-4259"}),
        ("okta_call", "call", {"phoneNumber": CALL_PHONE}, {"phoneNumber": "+1 XXX-XXX-6688"}),
        ("okta_email", "email", {"email": EMAIL}, {"email": "d...e@mail.example.org"}),
    ],
)
def test_the_factor_being_enrolled_is_masked_too(
    anonymous: Any,
    user: dict[str, Any],
    policy: Policy,
    clock: Any,
    key: str,
    factor_type: str,
    profile: dict[str, str],
    masked: dict[str, str],
) -> None:
    """As Okta does in MFA_ENROLL_ACTIVATE: the caller typed the number, but an
    answer read later (POST /authn {stateToken}) may be read by someone else."""
    table = dict.fromkeys(policy.value.enrollment, Enrollment.OPTIONAL)
    table[key] = Enrollment.REQUIRED
    policy.set(enrollment=table)
    token = assert_masked(sign_in(anonymous))["stateToken"]
    body = assert_masked(
        authn(anonymous, "/factors", stateToken=token, factorType=factor_type, profile=profile)
    )
    assert body["status"] == "MFA_ENROLL_ACTIVATE"
    assert body["_embedded"]["factor"]["profile"] == masked
    assert (
        assert_masked(authn(anonymous, stateToken=token))["_embedded"]["factor"]["profile"]
        == masked
    )
    clock.advance(seconds=31)
    fid = body["_embedded"]["factor"]["id"]
    assert_masked(authn(anonymous, f"/factors/{fid}/lifecycle/resend", stateToken=token))


def test_password_statuses_show_only_the_profile_okta_shows(
    anonymous: Any, api: Any, user: dict[str, Any], policy: Policy, clock: Any
) -> None:
    policy.set(password=PasswordSettings(max_age_days=10, expire_warn_days=20))
    r = authn(
        anonymous,
        username=LOGIN,
        password=PASSWORD,
        options={"warnBeforePasswordExpired": True},
    )
    body = assert_masked(r)
    assert body["status"] == "PASSWORD_WARN"
    assert set(body["_embedded"]["user"]["profile"]) == {
        "login",
        "firstName",
        "lastName",
        "locale",
        "timeZone",
    }
    clock.advance(days=11)
    assert assert_masked(sign_in(anonymous))["status"] == "PASSWORD_EXPIRED"


def test_recovery_statuses_are_masked(
    anonymous: Any,
    api: Any,
    user: dict[str, Any],
    enrolled: dict[str, Any],
    policy: Policy,
    outbox: Any,
    clock: Any,
) -> None:
    policy.set(
        password=PasswordSettings(
            recovery_factors=frozenset({"okta_sms", "recovery_question"}),
            self_service_unlock=True,
            lockout=Lockout(max_attempts=1, show_lockout_failures=True),
        )
    )
    r = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_recovery_question",
        json={
            "password": {"value": PASSWORD},
            "recovery_question": {"question": "Favourite colour?", "answer": "Blue as ever"},
        },
    )
    assert r.status_code == 200, r.get_json()
    clock.advance(seconds=31)
    body = assert_masked(authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS"))
    assert body["status"] == "RECOVERY_CHALLENGE"
    assert "_embedded" not in body
    token = body["stateToken"]
    assert_masked(authn(anonymous, stateToken=token))
    match = re.search(r"\b(\d{6})\b", outbox.messages(to=SMS_PHONE)[0].body)
    assert match
    code = match.group(1)
    body = assert_masked(
        authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code)
    )
    assert body["status"] == "RECOVERY"
    body = assert_masked(
        authn(anonymous, "/recovery/answer", stateToken=token, answer="blue as ever")
    )
    assert body["status"] == "PASSWORD_RESET"
    authn(anonymous, "/cancel", stateToken=token)
    # showLockoutFailures: the policy's documented choice to reveal a lock.
    authn(anonymous, username=LOGIN, password="Wrong-Password-1")
    assert assert_masked(sign_in(anonymous))["status"] == "LOCKED_OUT"
