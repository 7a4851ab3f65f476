"""SMS, voice call and e-mail factors: delivered codes, single use, expiry, throttling."""

from __future__ import annotations

import re
from typing import Any

import pytest

PHONE = "+1 505-269-4259"
E164 = "+15052694259"


def _latest_code(outbox: Any, to: str) -> str:
    message = outbox.messages(to=to)[0]
    digits = re.findall(r"\d", message.body) if message.channel == "call" else None
    if digits:
        return "".join(digits[:6])
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    return match.group(1)


def _enroll(api: Any, user: dict[str, Any], factor_type: str, **profile: Any) -> Any:
    return api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": factor_type, "provider": "OKTA", "profile": profile},
    )


@pytest.mark.parametrize(
    ("factor_type", "profile", "prefix", "to"),
    [
        ("sms", {"phoneNumber": PHONE}, "sms", E164),
        ("call", {"phoneNumber": PHONE, "phoneExtension": "1234"}, "clf", E164),
        ("email", {}, "emf", "isaac.brock@example.com"),
    ],
)
def test_enroll_sends_a_code_and_activation_uses_it(
    api: Any,
    make_user: Any,
    outbox: Any,
    clock: Any,
    factor_type: str,
    profile: dict[str, Any],
    prefix: str,
    to: str,
) -> None:
    user = make_user()
    r = _enroll(api, user, factor_type, **profile)
    assert r.status_code == 200, r.get_json()
    factor = r.get_json()
    assert factor["id"].startswith(prefix)
    assert factor["status"] == "PENDING_ACTIVATION"
    assert factor["_links"]["resend"][0]["name"] == factor_type
    assert "_embedded" not in factor
    (message,) = outbox.messages(to=to)
    assert message.channel == factor_type
    code = _latest_code(outbox, to)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    assert api.post(f"{base}/lifecycle/activate", json={"passCode": "000000"}).status_code == 403
    r = api.post(f"{base}/lifecycle/activate", json={"passCode": code})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "ACTIVE"
    # single use
    clock.advance(seconds=31)
    challenge = api.post(f"{base}/verify", json={})
    assert challenge.status_code == 200
    body = challenge.get_json()
    assert body["factorResult"] == "CHALLENGE"
    assert body["_links"]["verify"]["href"].endswith(f"{base}/verify")
    assert body["_links"]["factor"]["hints"]["allow"] == ["GET", "DELETE"]
    new_code = _latest_code(outbox, to)
    assert api.post(f"{base}/verify", json={"passCode": new_code}).get_json() == {
        "factorResult": "SUCCESS"
    }
    again = api.post(f"{base}/verify", json={"passCode": new_code})
    assert again.status_code == 403 and again.get_json()["errorCode"] == "E0000068"


def test_sms_profile_is_e164_and_challenge_shows_it(
    api: Any, make_user: Any, outbox: Any, clock: Any
) -> None:
    user = make_user()
    factor = _enroll(api, user, "sms", phoneNumber=PHONE).get_json()
    assert factor["profile"] == {"phoneNumber": E164}
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    api.post(f"{base}/lifecycle/activate", json={"passCode": _latest_code(outbox, E164)})
    clock.advance(seconds=31)
    body = api.post(f"{base}/verify").get_json()  # no body at all, as the seed sends
    assert body["profile"] == {"phoneNumber": E164}


@pytest.mark.parametrize("number", ["555", "+1 555 0100 9", "not a phone", "", "12345678901"])
def test_malformed_phone_numbers(api: Any, make_user: Any, number: str) -> None:
    user = make_user()
    r = _enroll(api, user, "sms", phoneNumber=number)
    assert r.status_code == 400
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    assert body["errorCauses"] == [{"errorSummary": "phoneNumber: Invalid Phone Number."}]
    assert api.get(f"/api/v1/users/{user['id']}/factors").get_json() == []


def test_only_the_latest_code_is_valid(api: Any, make_user: Any, outbox: Any, clock: Any) -> None:
    user = make_user()
    factor = _enroll(api, user, "sms", phoneNumber=PHONE).get_json()
    first = _latest_code(outbox, E164)
    clock.advance(seconds=31)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    r = api.post(f"{base}/resend")
    assert r.status_code == 200 and r.get_json()["status"] == "PENDING_ACTIVATION"
    second = _latest_code(outbox, E164)
    if first != second:
        assert api.post(f"{base}/lifecycle/activate", json={"passCode": first}).status_code == 403
    assert api.post(f"{base}/lifecycle/activate", json={"passCode": second}).status_code == 200


def test_resend_within_30_seconds_is_429(api: Any, make_user: Any, outbox: Any) -> None:
    user = make_user()
    factor = _enroll(api, user, "sms", phoneNumber=PHONE).get_json()
    r = api.post(f"/api/v1/users/{user['id']}/factors/{factor['id']}/lifecycle/resend")
    assert r.status_code == 429
    assert r.get_json()["errorCode"] == "E0000109"
    assert r.get_json()["errorSummary"] == (
        "An SMS message was recently sent. Please wait 30 seconds before trying again."
    )
    assert 0 < int(r.headers["Retry-After"]) <= 30
    assert len(outbox.messages(to=E164)) == 1


@pytest.mark.parametrize(("seconds", "accepted"), [(299, True), (300, False)])
def test_codes_expire_after_five_minutes(
    api: Any, make_user: Any, outbox: Any, ctx: Any, clock: Any, seconds: int, accepted: bool
) -> None:
    user = make_user()
    factor = _enroll(api, user, "email").get_json()
    code = _latest_code(outbox, "isaac.brock@example.com")
    assert ctx.stores.redis.ttl(f"factor:{{{factor['id']}}}:code") == ctx.settings.otp_lifetime
    clock.advance(seconds=seconds)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    r = api.post(f"{base}/lifecycle/activate", json={"passCode": code})
    assert (r.status_code == 200) is accepted


def test_token_lifetime_seconds_sets_the_expiry(api: Any, make_user: Any, ctx: Any) -> None:
    user = make_user()
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?tokenLifetimeSeconds=600",
        json={"factorType": "email", "provider": "OKTA"},
    )
    assert ctx.stores.redis.ttl(f"factor:{{{r.get_json()['id']}}}:code") == 600
    bad = api.post(
        f"/api/v1/users/{user['id']}/factors?tokenLifetimeSeconds=0",
        json={"factorType": "email", "provider": "OKTA"},
    )
    assert bad.status_code == 400


def test_failed_attempts_are_capped(api: Any, make_user: Any, outbox: Any, ctx: Any) -> None:
    user = make_user()
    factor = _enroll(api, user, "sms", phoneNumber=PHONE).get_json()
    code = _latest_code(outbox, E164)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(ctx.settings.otp_max_attempts):
        assert api.post(f"{base}/lifecycle/activate", json={"passCode": wrong}).status_code == 403
    # the code is burnt: even the right one no longer works
    assert api.post(f"{base}/lifecycle/activate", json={"passCode": code}).status_code == 403


def test_activate_on_enroll_sends_nothing(api: Any, make_user: Any, outbox: Any) -> None:
    user = make_user()
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?activate=true",
        json={"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}},
    )
    assert r.get_json()["status"] == "ACTIVE"
    assert outbox.messages(to=E164) == []


def test_email_factor_must_use_the_users_address(api: Any, make_user: Any) -> None:
    user = make_user(secondEmail="isaac@home.example.org")
    r = _enroll(api, user, "email", email="someone@else.example.com")
    assert r.status_code == 400
    assert (
        "Only verified primary or secondary email" in r.get_json()["errorCauses"][0]["errorSummary"]
    )
    ok = _enroll(api, user, "email", email="ISAAC@home.example.org")
    assert ok.get_json()["profile"] == {"email": "isaac@home.example.org"}


def test_changing_a_pending_phone_needs_update_phone(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    _enroll(api, user, "sms", phoneNumber=PHONE)
    clock.advance(seconds=31)
    other = "+1 505 269 4260"
    refused = _enroll(api, user, "sms", phoneNumber=other)
    assert refused.status_code == 400
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?updatePhone=true",
        json={"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": other}},
    )
    assert r.status_code == 200 and r.get_json()["profile"]["phoneNumber"] == "+15052694260"


def test_call_reads_the_code_out(api: Any, make_user: Any, outbox: Any) -> None:
    user = make_user()
    _enroll(api, user, "call", phoneNumber=PHONE)
    (message,) = outbox.messages(to=E164)
    assert message.body.startswith("Your verification code is ")
    assert message.body.count(",") >= 10  # digits spoken one by one, twice


def test_resend_is_for_pending_code_factors_only(api: Any, make_user: Any) -> None:
    user = make_user()
    totp = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "token:software:totp", "provider": "GOOGLE"},
    ).get_json()
    r = api.post(f"/api/v1/users/{user['id']}/factors/{totp['id']}/resend")
    assert r.status_code == 400


# ---- security question ------------------------------------------------------------


def test_question_factor(api: Any, make_user: Any) -> None:
    user = make_user()
    r = _enroll(api, user, "question", question="disliked_food", answer="Mayonnaise")
    assert r.status_code == 200
    factor = r.get_json()
    assert factor["id"].startswith("ufs") and factor["status"] == "ACTIVE"
    assert factor["profile"] == {
        "question": "disliked_food",
        "questionText": "What is the food you least liked as a child?",
    }
    assert "ayonnaise" not in r.get_data(as_text=True)
    base = f"/api/v1/users/{user['id']}/factors/{factor['id']}"
    ok = api.post(f"{base}/verify", json={"answer": "  mayonNAISE "})
    assert ok.get_json() == {"factorResult": "SUCCESS"}
    bad = api.post(f"{base}/verify", json={"answer": "ketchup"})
    assert bad.status_code == 403
    assert bad.get_json()["errorCauses"] == [
        {"errorSummary": "Your answer doesn't match our records. Please try again."}
    ]
    missing = api.post(f"{base}/verify", json={})
    assert missing.status_code == 400


@pytest.mark.parametrize(
    "profile",
    [
        {"question": "disliked_food", "answer": "abc"},
        {"question": "not_a_question", "answer": "mayonnaise"},
        {"question": "disliked_food", "answer": "what is the food you least liked as a child? x"},
        {"question": "disliked_food", "answer": "isaac's food"},
        {"question": "disliked_food"},
    ],
)
def test_question_rules(api: Any, make_user: Any, profile: dict[str, Any]) -> None:
    user = make_user()
    r = _enroll(api, user, "question", **profile)
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"


def test_throttle_summary_says_the_real_wait(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    factor = _enroll(api, user, "sms", phoneNumber=PHONE).get_json()
    clock.advance(seconds=12)
    r = api.post(f"/api/v1/users/{user['id']}/factors/{factor['id']}/resend")
    assert r.headers["Retry-After"] == "18"
    assert "wait 18 seconds" in r.get_json()["errorSummary"]


def test_throttle_can_be_switched_off(app: Any, api: Any, make_user: Any, ctx: Any) -> None:
    from dataclasses import replace

    ctx.settings = replace(ctx.settings, otp_resend_after=0)
    user = make_user()
    factor = _enroll(api, user, "sms", phoneNumber=PHONE).get_json()
    r = api.post(f"/api/v1/users/{user['id']}/factors/{factor['id']}/resend")
    assert r.status_code == 200
