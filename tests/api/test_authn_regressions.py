"""/api/v1/authn: minimal reproductions of what the state machine in
tests/property/test_authn_state_machine.py found, one test each, as plain
requests (the shrunk hypothesis sequence is quoted in each docstring)."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import PASSWORD

PHONE = "+1 505-269-4259"
E164 = "+15052694259"
LOGIN = "isaac.brock@example.com"
QUESTION = {"question": "name_of_first_plush_toy", "answer": "Mr Bunny Rabbit"}


def authn(client: Any, path: str = "", **body: Any) -> Any:
    return client.post(f"/api/v1/authn{path}", json=body)


def _sign_on_rule(api: Any, **signon: Any) -> None:
    (policy,) = [p for p in api.get("/api/v1/policies?type=OKTA_SIGN_ON").get_json() if p["system"]]
    (rule,) = api.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
    rule["actions"]["signon"].update(signon)
    r = api.put(f"/api/v1/policies/{policy['id']}/rules/{rule['id']}", json=rule)
    assert r.status_code == 200, r.get_json()


def _question_factor(api: Any, user: dict[str, Any]) -> dict[str, Any]:
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?activate=true",
        json={"factorType": "question", "provider": "OKTA", "profile": QUESTION},
    )
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def _factors(api: Any, user: dict[str, Any]) -> dict[str, str]:
    listed = api.get(f"/api/v1/users/{user['id']}/factors").get_json()
    return {f["id"]: f["status"] for f in listed}


def test_a_user_with_a_factor_verifies_it_before_enrolling_another(
    api: Any, anonymous: Any, make_user: Any, outbox: Any
) -> None:
    """Shrunk: admin_require_factor(on=True), admin_enroll_active('okta_question'),
    sign_in(multi=True) answered MFA_ENROLL, not MFA_REQUIRED.

    Someone who knows only the password signs in with multiOptionalFactorEnroll,
    enrols a factor of their own, and is through: the question factor the user
    had was never asked for, and the intruder's factor is now ACTIVE."""
    user = make_user()
    question = _question_factor(api, user)
    _sign_on_rule(api, requireFactor=True, factorPromptMode="ALWAYS")
    body = authn(
        anonymous, username=LOGIN, password=PASSWORD, options={"multiOptionalFactorEnroll": True}
    ).get_json()
    assert body["status"] == "MFA_REQUIRED", body
    assert [f["id"] for f in body["_embedded"]["factors"]] == [question["id"]]
    # Enrolment is not on offer before the factor is verified.
    r = authn(
        anonymous,
        "/factors",
        stateToken=body["stateToken"],
        factorType="email",
        provider="OKTA",
    )
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000079", r.get_json()
    assert _factors(api, user) == {question["id"]: "ACTIVE"}


def test_in_flow_enrolment_does_not_stand_in_for_the_users_factor(
    api: Any, anonymous: Any, make_user: Any, outbox: Any
) -> None:
    """The same bypass to its end: with a required enrolment missing, the
    password alone reaches SUCCESS by enrolling a new e-mail factor."""
    user = make_user()
    question = _question_factor(api, user)
    _sign_on_rule(api, requireFactor=True, factorPromptMode="ALWAYS")
    (enroll,) = [p for p in api.get("/api/v1/policies?type=MFA_ENROLL").get_json() if p["system"]]
    enroll["settings"]["factors"]["okta_email"] = {"enroll": {"self": "REQUIRED"}}
    assert api.put(f"/api/v1/policies/{enroll['id']}", json=enroll).status_code == 200
    body = authn(anonymous, username=LOGIN, password=PASSWORD).get_json()
    if body["status"] == "MFA_ENROLL":  # the defect: try to finish without the question
        r = authn(
            anonymous,
            "/factors",
            stateToken=body["stateToken"],
            factorType="email",
            provider="OKTA",
        )
        factor_id = r.get_json()["_embedded"]["factor"]["id"]
        code = re.search(r"\b(\d{6})\b", outbox.messages(to=LOGIN)[0].body)
        assert code
        body = authn(
            anonymous,
            f"/factors/{factor_id}/lifecycle/activate",
            stateToken=body["stateToken"],
            passCode=code.group(1),
        ).get_json()
    assert body["status"] == "MFA_REQUIRED", body
    assert "sessionToken" not in body
    assert _factors(api, user) == {question["id"]: "ACTIVE"}


def test_activation_ends_at_the_sign_on_policy(api: Any, anonymous: Any, make_user: Any) -> None:
    """Shrunk: admin_require_factor(on=True), activate_new_user(), reset_password()
    answered SUCCESS, not MFA_ENROLL.

    A new user who must do MFA and has no factor chooses a password from the
    activation link and gets a sessionToken without ever enrolling one."""
    user = make_user(password=None, activate=False)
    _sign_on_rule(api, requireFactor=True, factorPromptMode="ALWAYS")
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/activate?sendEmail=false")
    token = r.get_json()["activationToken"]
    body = authn(anonymous, token=token).get_json()
    assert body["status"] == "PASSWORD_RESET", body
    body = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="First-Passw0rd-1",
    ).get_json()
    assert body["status"] == "MFA_ENROLL", body
    assert "sessionToken" not in body


def test_recovery_by_email_link_ends_at_mfa_required(
    api: Any, anonymous: Any, make_user: Any, outbox: Any
) -> None:
    """The recovery form of the same defect: an e-mailed reset link reaches
    SUCCESS for a user whose sign-on rule requires a factor, though the user's
    question factor was never verified (and no e-mail factor is active)."""
    user = make_user()
    question = _question_factor(api, user)
    _sign_on_rule(api, requireFactor=True, factorPromptMode="ALWAYS")
    authn(anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
    link = re.search(r"/signin/reset-password/([A-Za-z0-9_\-]+)", outbox.messages(to=LOGIN)[0].body)
    assert link
    body = authn(anonymous, "/recovery/token", recoveryToken=link.group(1)).get_json()
    assert body["status"] == "PASSWORD_RESET", body  # the user set no recovery question
    body = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="Recovered-Pass-7",
    ).get_json()
    assert body["status"] == "MFA_REQUIRED", body
    assert [f["id"] for f in body["_embedded"]["factors"]] == [question["id"]]


def test_enrolment_answers_mask_the_phone_number(anonymous: Any, make_user: Any) -> None:
    """Shrunk: sign_in(multi=True), enroll('okta_call') answered
    MFA_ENROLL_ACTIVATE with profile.phoneNumber "+15052694259" in full."""
    make_user()
    body = authn(
        anonymous, username=LOGIN, password=PASSWORD, options={"multiOptionalFactorEnroll": True}
    ).get_json()
    assert body["status"] == "MFA_ENROLL", body
    r = authn(
        anonymous,
        "/factors",
        stateToken=body["stateToken"],
        factorType="call",
        provider="OKTA",
        profile={"phoneNumber": PHONE},
    )
    assert r.status_code == 200, r.get_json()
    text = r.get_data(as_text=True)
    assert r.get_json()["status"] == "MFA_ENROLL_ACTIVATE"
    assert "5052694259" not in text and "269-4259" not in text, text
    assert r.get_json()["_embedded"]["factor"]["profile"]["phoneNumber"].endswith("4259")
