"""/api/v1/authn: no session below the sign-on policy (issue 10, defects 1 and 2).

The abuse case beside each use case: an attacker who knows only the victim's
password. Each test here failed on the engine before the fix (checked by hand).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from app.domain.policy import Enrollment, Lockout, PasswordSettings
from tests.api.test_authn import (
    E164,
    LOGIN,
    PHONE,
    Policy,
    authn,
    code_for,
    enroll_active,
    sign_in,
    totp_now,
)
from tests.api.test_authn import policy as policy  # the fixture

QUESTION = {"question": "name_of_first_plush_toy", "answer": "Attacker's Answer"}


def _factor_statuses(api: Any, user: dict[str, Any]) -> dict[str, str]:
    factors = api.get(f"/api/v1/users/{user['id']}/factors").get_json()
    return {f["factorType"]: f["status"] for f in factors}


def _refused(r: Any, code: str = "E0000079") -> None:
    assert r.status_code == 403, r.get_json()
    assert r.get_json()["errorCode"] == code


# ---- defect 1: MFA bypass by in-flow enrolment ----------


def test_multi_optional_enrolment_waits_for_the_mfa_the_rule_requires(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, outbox: Any
) -> None:
    """The attacker asks for optional enrolment to dodge MFA_REQUIRED: refused."""
    user = make_user()
    totp = enroll_active(api, user, "token:software:totp", outbox, clock)
    policy.require_mfa()
    body = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()
    assert body["status"] == "MFA_REQUIRED"
    token = body["stateToken"]
    _refused(
        authn(anonymous, "/factors", stateToken=token, factorType="question", profile=QUESTION)
    )
    _refused(
        authn(
            anonymous,
            "/factors",
            stateToken=token,
            factorType="sms",
            profile={"phoneNumber": PHONE},
        )
    )
    _refused(authn(anonymous, "/skip", stateToken=token))
    assert _factor_statuses(api, user) == {"token:software:totp": "ACTIVE"}
    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_REQUIRED"

    # The owner proves the factor they had; only then is enrolment offered.
    clock.advance(seconds=30)
    r = authn(
        anonymous,
        f"/factors/{totp['id']}/verify",
        stateToken=token,
        passCode=totp_now(totp["secret"], clock),
    )
    assert r.get_json()["status"] == "MFA_ENROLL", r.get_json()
    assert r.get_json()["_links"]["skip"]
    assert authn(anonymous, "/skip", stateToken=token).get_json()["status"] == "SUCCESS"


def test_a_required_enrolment_is_offered_only_after_a_factor_the_user_had(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, outbox: Any
) -> None:
    """No MFA rule, but a required factor is missing: the user with a factor
    proves it first, or the password alone would plant a factor on the account."""
    user = make_user()
    enroll_active(api, user, "token:software:totp", outbox, clock)
    policy.enrollment(okta_sms=Enrollment.REQUIRED)
    body = sign_in(anonymous).get_json()
    assert body["status"] == "MFA_REQUIRED"
    _refused(
        authn(
            anonymous,
            "/factors",
            stateToken=body["stateToken"],
            factorType="sms",
            profile={"phoneNumber": PHONE},
        )
    )
    assert "sms" not in _factor_statuses(api, user)


def test_the_first_enrolment_counts_as_mfa_for_a_user_with_none(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, ctx: Any
) -> None:
    user = make_user()
    policy.require_mfa()
    body = sign_in(anonymous).get_json()
    assert body["status"] == "MFA_ENROLL"
    r = authn(
        anonymous,
        "/factors",
        stateToken=body["stateToken"],
        factorType="question",
        profile=QUESTION,
    )
    assert r.get_json()["status"] == "SUCCESS"
    grant = ctx.stores.session_tokens.consume(r.get_json()["sessionToken"])
    assert grant["amr"] == ["pwd", "kba", "mfa"]
    assert _factor_statuses(api, user) == {"question": "ACTIVE"}


def test_a_factor_added_while_the_transaction_is_open_must_be_proven(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, outbox: Any
) -> None:
    """The factors that answer MFA are read at each step, not when the
    transaction began: once an admin (or the owner, in another sign-in) has
    given the user a factor, a transaction begun before cannot count an
    enrolment of the attacker's choosing as the MFA, nor skip it."""
    user = make_user()
    policy.require_mfa()
    token = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()["stateToken"]
    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_ENROLL"
    totp = enroll_active(api, user, "token:software:totp", outbox, clock)

    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_ENROLL"  # as stored
    _refused(
        authn(anonymous, "/factors", stateToken=token, factorType="question", profile=QUESTION)
    )
    assert "question" not in _factor_statuses(api, user)
    # Skipping the optional enrolments leaves the MFA the rule requires.
    assert authn(anonymous, "/skip", stateToken=token).get_json()["status"] == "MFA_REQUIRED"
    clock.advance(seconds=30)
    r = authn(
        anonymous,
        f"/factors/{totp['id']}/verify",
        stateToken=token,
        passCode=totp_now(totp["secret"], clock),
    )
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


def test_an_enrolment_after_the_mfa_adds_no_second_proof(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, outbox: Any, ctx: Any
) -> None:
    user = make_user()
    totp = enroll_active(api, user, "token:software:totp", outbox, clock)
    policy.require_mfa()
    token = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()["stateToken"]
    clock.advance(seconds=30)
    code = totp_now(totp["secret"], clock)
    authn(anonymous, f"/factors/{totp['id']}/verify", stateToken=token, passCode=code)
    r = authn(anonymous, "/factors", stateToken=token, factorType="question", profile=QUESTION)
    assert r.get_json()["status"] == "MFA_ENROLL"
    # Not ACTIVE until the transaction succeeds ...
    assert _factor_statuses(api, user)["question"] == "PENDING_ACTIVATION"
    listed = {f["factorType"]: f["status"] for f in r.get_json()["_embedded"]["factors"]}
    assert listed["question"] == "ACTIVE"  # ... though the flow shows it enrolled
    r = authn(anonymous, "/skip", stateToken=token)
    assert r.get_json()["status"] == "SUCCESS"
    grant = ctx.stores.session_tokens.consume(r.get_json()["sessionToken"])
    assert grant["amr"] == ["pwd", "otp", "mfa"]
    assert _factor_statuses(api, user) == {"token:software:totp": "ACTIVE", "question": "ACTIVE"}


def test_a_factor_enrolled_in_a_cancelled_transaction_stays_inactive(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, outbox: Any
) -> None:
    user = make_user()
    policy.require_mfa()
    token = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()["stateToken"]
    r = authn(anonymous, "/factors", stateToken=token, factorType="question", profile=QUESTION)
    assert r.get_json()["status"] == "MFA_ENROLL"  # more optional factors on offer
    r = authn(
        anonymous, "/factors", stateToken=token, factorType="sms", profile={"phoneNumber": PHONE}
    )
    assert r.get_json()["status"] == "MFA_ENROLL_ACTIVATE"
    fid = r.get_json()["_embedded"]["factor"]["id"]
    r = authn(
        anonymous,
        f"/factors/{fid}/lifecycle/activate",
        stateToken=token,
        passCode=code_for(outbox, E164),
    )
    assert r.get_json()["status"] == "MFA_ENROLL"
    assert authn(anonymous, "/cancel", stateToken=token).get_json()["status"] == "UNAUTHENTICATED"
    assert "ACTIVE" not in _factor_statuses(api, user).values()
    # The next sign-in still has no factor: the cancelled enrolments counted for nothing.
    assert sign_in(anonymous).get_json()["status"] == "MFA_ENROLL"


def test_a_factor_enrolled_in_an_expired_transaction_stays_inactive(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    policy.require_mfa()
    token = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()["stateToken"]
    authn(anonymous, "/factors", stateToken=token, factorType="question", profile=QUESTION)
    clock.advance(seconds=ctx.settings.state_token_ttl + 1)
    assert authn(anonymous, "/skip", stateToken=token).status_code == 401
    assert "ACTIVE" not in _factor_statuses(api, user).values()


def test_skip_never_skips_an_unmet_requirement(
    anonymous: Any, make_user: Any, policy: Policy
) -> None:
    make_user()
    policy.require_mfa()
    body = sign_in(anonymous, options={"multiOptionalFactorEnroll": True}).get_json()
    assert body["status"] == "MFA_ENROLL" and "skip" not in body["_links"]
    _refused(authn(anonymous, "/skip", stateToken=body["stateToken"]))


# ---- defect 2: recovery and activation end at the sign-on policy ----------


def _recovery_policy(policy: Policy) -> None:
    policy.set(
        password=PasswordSettings(
            recovery_factors=frozenset({"okta_sms", "okta_email", "okta_call"}),
        )
    )
    policy.require_mfa()


def _reset(anonymous: Any, token: str) -> Any:
    return authn(
        anonymous, "/credentials/reset_password", stateToken=token, newPassword="Recovered-Pass-7"
    )


def test_an_emailed_reset_link_does_not_stand_in_for_the_mfa(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, outbox: Any, ctx: Any
) -> None:
    user = make_user()
    totp = enroll_active(api, user, "token:software:totp", outbox, clock)
    _recovery_policy(policy)
    authn(anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
    message = outbox.messages(to=LOGIN)[0]
    link = re.search(r"/signin/reset-password/([\w-]+)", message.body)
    assert link
    body = authn(anonymous, "/recovery/token", recoveryToken=link.group(1)).get_json()
    assert body["status"] == "PASSWORD_RESET"
    body = _reset(anonymous, body["stateToken"]).get_json()
    assert body["status"] == "MFA_REQUIRED", body
    assert "sessionToken" not in body
    clock.advance(seconds=30)
    r = authn(
        anonymous,
        f"/factors/{totp['id']}/verify",
        stateToken=body["stateToken"],
        passCode=totp_now(totp["secret"], clock),
    )
    assert r.get_json()["status"] == "SUCCESS"
    grant = ctx.stores.session_tokens.consume(r.get_json()["sessionToken"])
    assert grant["amr"] == ["pwd", "otp", "mfa"]


def test_an_sms_recovery_code_counts_as_that_phone_factor(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, outbox: Any, ctx: Any
) -> None:
    user = make_user()
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _recovery_policy(policy)
    clock.advance(seconds=31)
    token = authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS").get_json()[
        "stateToken"
    ]
    authn(
        anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code_for(outbox, E164)
    )
    r = _reset(anonymous, token)
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    grant = ctx.stores.session_tokens.consume(r.get_json()["sessionToken"])
    assert grant["amr"] == ["pwd", "sms", "mfa"]


def test_an_emailed_link_does_not_count_even_where_e_mail_is_a_factor(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, outbox: Any, ctx: Any
) -> None:
    """A recovery token proves nothing about a mailbox: an admin can be handed
    one (reset_password?sendEmail=false). The user verifies the factor next."""
    user = make_user()
    factor = enroll_active(api, user, "email", outbox, email=LOGIN)
    _recovery_policy(policy)
    authn(anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
    link = re.search(r"/signin/reset-password/([\w-]+)", outbox.messages(to=LOGIN)[0].body)
    assert link
    body = authn(anonymous, "/recovery/token", recoveryToken=link.group(1)).get_json()
    body = _reset(anonymous, body["stateToken"]).get_json()
    assert body["status"] == "MFA_REQUIRED", body
    assert [f["id"] for f in body["_embedded"]["factors"]] == [factor["id"]]


def test_recovery_for_a_user_without_factors_goes_on_to_enrol_one(
    anonymous: Any, make_user: Any, policy: Policy, outbox: Any
) -> None:
    make_user()
    _recovery_policy(policy)
    authn(anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
    link = re.search(r"/signin/reset-password/([\w-]+)", outbox.messages(to=LOGIN)[0].body)
    assert link
    body = authn(anonymous, "/recovery/token", recoveryToken=link.group(1)).get_json()
    body = _reset(anonymous, body["stateToken"]).get_json()
    assert body["status"] == "MFA_ENROLL" and "skip" not in body["_links"]


def test_activation_with_factors_set_up_by_an_admin_asks_for_one(
    anonymous: Any, api: Any, make_user: Any, policy: Policy
) -> None:
    user = make_user(password=None, activate=False)
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?activate=true",
        json={"factorType": "question", "provider": "OKTA", "profile": QUESTION},
    )
    assert r.status_code == 200, r.get_json()
    policy.require_mfa()
    token = api.post(f"/api/v1/users/{user['id']}/lifecycle/activate?sendEmail=false").get_json()[
        "activationToken"
    ]
    body = authn(anonymous, token=token).get_json()
    assert body["status"] == "PASSWORD_RESET"
    body = _reset(anonymous, body["stateToken"]).get_json()
    assert body["status"] == "MFA_REQUIRED", body


def test_a_lock_ends_a_recovery_that_has_reached_its_mfa(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, clock: Any, outbox: Any
) -> None:
    """After the reset a recovery is a sign-in: a lock set meanwhile ends it,
    and a right code on it is not judged (no SUCCESS for a locked user)."""
    user = make_user()
    totp = enroll_active(api, user, "token:software:totp", outbox, clock)
    _recovery_policy(policy)
    policy.set(
        password=replace(policy.value.password, lockout=Lockout(max_attempts=1)),
    )
    authn(anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
    link = re.search(r"/signin/reset-password/([\w-]+)", outbox.messages(to=LOGIN)[0].body)
    assert link
    body = authn(anonymous, "/recovery/token", recoveryToken=link.group(1)).get_json()
    token = _reset(anonymous, body["stateToken"]).get_json()["stateToken"]
    assert sign_in(anonymous, password="Wrong-Password-1").status_code == 401
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    clock.advance(seconds=30)
    code = totp_now(totp["secret"], clock)
    r = authn(anonymous, f"/factors/{totp['id']}/verify", stateToken=token, passCode=code)
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"


def test_a_new_password_voids_an_unlock_link_sent_before(
    anonymous: Any, make_user: Any, policy: Policy, outbox: Any, clock: Any
) -> None:
    """Every link sent before a password reset dies with it, unlock links too."""
    make_user()
    policy.set(
        password=PasswordSettings(
            recovery_factors=frozenset({"okta_email"}),
            self_service_unlock=True,
            lockout=Lockout(max_attempts=1),
        )
    )
    assert sign_in(anonymous, password="Wrong-Password-1").status_code == 401  # locked now
    authn(anonymous, "/recovery/unlock", username=LOGIN, factorType="EMAIL")
    unlock = re.search(r"/signin/unlock/([\w-]+)", outbox.messages(to=LOGIN)[0].body)
    clock.advance(seconds=31)  # past the recovery throttle
    authn(anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
    reset = re.search(r"/signin/reset-password/([\w-]+)", outbox.messages(to=LOGIN)[0].body)
    assert unlock and reset
    body = authn(anonymous, "/recovery/token", recoveryToken=reset.group(1)).get_json()
    assert _reset(anonymous, body["stateToken"]).get_json()["status"] == "SUCCESS"
    r = authn(anonymous, "/recovery/token", recoveryToken=unlock.group(1))
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"
