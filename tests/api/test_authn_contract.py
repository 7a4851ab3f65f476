"""/api/v1/authn answers as Okta's recorded ones (issue 11, part 5): the
differences a structural comparison with real Okta responses found, each
pinned here (docs/compatibility.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.domain.passwords import PasswordPolicy
from app.domain.policy import PasswordSettings
from tests.api.test_authn import Policy, authn, enroll_active, sign_in
from tests.api.test_authn import policy as policy  # the fixture
from tests.conftest import PASSWORD


def test_locale_and_time_zone_are_always_strings(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, outbox: Any, clock: Any
) -> None:
    """Okta sends the user's own values, else the org's defaults; never null."""
    user = make_user()
    enroll_active(api, user, "token:software:totp", outbox, clock)
    policy.require_mfa()
    profile = sign_in(anonymous).get_json()["_embedded"]["user"]["profile"]
    assert profile["locale"] == "en_US" and profile["timeZone"] == "America/Los_Angeles"

    update = {"profile": {"locale": "fr_FR", "timeZone": "Europe/Paris"}}
    assert api.post(f"/api/v1/users/{user['id']}", json=update).status_code == 200
    profile = sign_in(anonymous).get_json()["_embedded"]["user"]["profile"]
    assert profile["locale"] == "fr_FR" and profile["timeZone"] == "Europe/Paris"


def test_a_weak_new_password_gets_one_cause_stating_the_whole_policy(
    anonymous: Any, api: Any, make_user: Any
) -> None:
    user = make_user()
    api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password")
    token = sign_in(anonymous).get_json()["stateToken"]
    r = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=token,
        oldPassword=PASSWORD,
        newPassword="short",
    )
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000080"
    assert r.get_json()["errorCauses"] == [
        {
            "errorSummary": "Passwords must have at least 8 characters, a lowercase letter, "
            "an uppercase letter, a number, no parts of your username"
        }
    ]
    # The password history is its own sentence, with no field name either.
    r = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=token,
        oldPassword=PASSWORD,
        newPassword=PASSWORD,
    )
    assert r.get_json()["errorCauses"] == [{"errorSummary": "Password has been used too recently"}]


def test_the_embedded_password_policy_shows_excluded_attributes_and_minimum_age(
    anonymous: Any, api: Any, make_user: Any, policy: Policy
) -> None:
    complexity = PasswordPolicy(exclude_attributes=("firstName", "lastName"))
    policy.set(password=PasswordSettings(complexity=complexity, min_age_minutes=60))
    user = make_user()
    api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password")
    embedded = sign_in(anonymous).get_json()["_embedded"]["policy"]
    assert embedded["complexity"]["excludeAttributes"] == ["firstName", "lastName"]
    assert embedded["age"] == {"minAgeMinutes": 60, "historyCount": 4}


def test_mfa_enroll_keeps_the_enroll_link_of_an_active_factor(
    anonymous: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    policy.set(sign_on=replace(policy.value.sign_on, require_factor=False))
    body = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()
    assert body["status"] == "MFA_ENROLL"
    token = body["stateToken"]
    question = {"question": "disliked_food", "answer": "Brussels sprouts"}
    r = authn(anonymous, "/factors", stateToken=token, factorType="question", profile=question)
    factors = {f["factorType"]: f for f in r.get_json()["_embedded"]["factors"]}
    assert factors["question"]["status"] == "ACTIVE"
    assert factors["question"]["_links"]["enroll"]["href"].endswith("/api/v1/authn/factors")
    assert factors["sms"]["status"] == "NOT_SETUP" and "enroll" in factors["sms"]["_links"]
