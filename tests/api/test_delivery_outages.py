"""A carrier that cannot take a code in the middle of a challenge (issue 12,
item 7): a 503 with Retry-After when it cannot be reached, a 502 when it
answers with an error, the transaction or challenge still usable, the resend
throttle not consumed, and the retry goes through once the carrier is back.
(tests/integration/test_delivery_outages.py does the same through the real
Twilio SDK and smtplib.)
"""

from __future__ import annotations

from typing import Any

import pytest

from app.delivery import DeliveryError, Message
from app.services import workos_mfa
from tests.api.test_authn import (
    E164,
    PHONE,
    Policy,
    authn,
    code_for,
    enroll_active,
    sign_in,
)
from tests.api.test_authn import policy as policy  # the fixture
from tests.api.test_workos_mfa import WorkosClient


class DownCarrier:
    """Twilio or the SMTP relay, unreachable or answering with an error."""

    def __init__(self, unreachable: bool) -> None:
        self.unreachable = unreachable
        self.attempts: list[Message] = []

    def send(self, message: Message) -> None:
        self.attempts.append(message)
        raise DeliveryError("the carrier failed", unreachable=self.unreachable)


#: unreachable → (status, Okta code)
ANSWERS = {True: (503, "E0000010"), False: (502, "E0000009")}


@pytest.mark.parametrize("unreachable", [True, False])
def test_an_sms_challenge_the_carrier_cannot_take_can_be_retried(
    anonymous: Any,
    api: Any,
    make_user: Any,
    policy: Policy,
    outbox: Any,
    ctx: Any,
    clock: Any,
    unreachable: bool,
) -> None:
    user = make_user()
    sms = enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    policy.require_mfa()
    clock.advance(seconds=31)  # past the throttle of the enrolment's own code
    token = sign_in(anonymous).get_json()["stateToken"]

    working, ctx.delivery = ctx.delivery, DownCarrier(unreachable)
    r = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    assert (r.status_code, r.get_json()["errorCode"]) == ANSWERS[unreachable], r.get_json()
    assert ("Retry-After" in r.headers) is unreachable
    assert ctx.delivery.attempts  # it was tried
    # The transaction is where it was.
    assert authn(anonymous, stateToken=token).get_json()["status"] == "MFA_REQUIRED"

    ctx.delivery = working  # the carrier is back: no wait for the throttle
    r = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    assert r.status_code == 200 and r.get_json()["status"] == "MFA_CHALLENGE", r.get_json()
    code = code_for(outbox, E164)
    r = authn(anonymous, f"/factors/{sms['id']}/verify", stateToken=token, passCode=code)
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


@pytest.mark.parametrize("unreachable", [True, False])
def test_a_workos_sms_challenge_the_carrier_cannot_take_can_be_retried(
    app: Any, ctx: Any, outbox: Any, unreachable: bool
) -> None:
    _, key = workos_mfa.create_api_key(ctx, "tests")
    mfa = WorkosClient(app.test_client(), key)
    factor = mfa.post(
        "/auth/factors/enroll", json={"type": "sms", "phone_number": "+1 505 269 4259"}
    ).get_json()

    working, ctx.delivery = ctx.delivery, DownCarrier(unreachable)
    r = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={})
    assert r.status_code == ANSWERS[unreachable][0], r.get_json()
    assert ("Retry-After" in r.headers) is unreachable
    assert r.get_json()["code"] == "sms_delivery_failed"

    ctx.delivery = working
    r = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={})
    assert r.status_code == 201, r.get_json()
    code = code_for(outbox, E164)
    verified = mfa.post(f"/auth/challenges/{r.get_json()['id']}/verify", json={"code": code})
    assert verified.get_json()["valid"] is True
