"""Twilio and the SMTP relay going down in the middle of a challenge (issue 12,
item 7), through the real ``twilio`` SDK and ``smtplib``.

A carrier that cannot be reached or does not answer within DELIVERY_TIMEOUT
is ``503 E0000010`` with ``Retry-After``; one that answers with an error is
``502 E0000009``. Either way the transaction (or factor, or WorkOS factor)
is where it was, the resend throttle is free, a code delivered earlier still
works, and the retry goes through as soon as the carrier is back. The answer
carries none of the carrier's words, and the log one warning line.
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app import create_app
from app.services import api_tokens, workos_mfa
from app.store import migrations
from tests.api.test_authn import E164, PHONE, Policy, authn, sign_in
from tests.api.test_authn import policy as policy  # the fixture
from tests.api.test_workos_mfa import WorkosClient
from tests.conftest import PASSWORD, FrozenClock, OktaClient, profile, settings_for
from tests.integration.test_delivery import SID, FakeTwilio, _free_port, _Inbox

pytestmark = pytest.mark.integration

AUTH_TOKEN = "secret-token"
#: What each outage answers: status, Okta code.
OUTAGES = {
    "refused": (503, "E0000010"),  # the carrier is down
    "timeout": (503, "E0000010"),  # it accepts the connection and never answers
    "error": (502, "E0000009"),  # it answers, with an error of its own
}
#: Nothing of the carrier's answer, its address or our credentials in a response.
LEAKS = (AUTH_TOKEN, SID, "twilio", "smtp", "127.0.0.1", "errno", "refused by", "rejected")


def _silent(port: int) -> socket.socket:
    """A listener on ``port`` that accepts connections and never says a word."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(8)
    return sock


class Carrier(ABC):
    """A fake carrier on a fixed port that a test can take down and bring back."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.silent: socket.socket | None = None

    def down(self, outage: str) -> None:
        if outage == "error":
            self.fail()
            return
        self.stop()
        if outage == "timeout":
            self.silent = _silent(self.port)

    def back(self) -> None:
        if self.silent is not None:
            self.silent.close()
            self.silent = None
            self.start()
        elif not self.running():
            self.start()
        self.heal()

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def running(self) -> bool: ...

    @abstractmethod
    def fail(self) -> None:
        """Answer every message with an error."""

    @abstractmethod
    def heal(self) -> None: ...

    @abstractmethod
    def last_code(self) -> str:
        """The code in the newest message taken."""


class Twilio(Carrier):
    def __init__(self) -> None:
        super().__init__(_free_port())
        self.server: FakeTwilio | None = None
        self.failure: tuple[int, int] = (500, 20500)
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = FakeTwilio(self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def running(self) -> bool:
        return self.server is not None

    def fail(self) -> None:
        assert self.server is not None
        self.server.fail_with = self.failure

    def heal(self) -> None:
        assert self.server is not None
        self.server.fail_with = None

    def last_code(self) -> str:
        assert self.server is not None and self.server.requests
        form = self.server.requests[-1]["form"]
        if "Twiml" in form:  # a call reads the six digits twice, one by one
            return "".join(re.findall(r"\d", form["Twiml"])[:6])
        return re.search(r"\b(\d{6})\b", form["Body"]).group(1)  # type: ignore[union-attr]


class Relay(Carrier):
    def __init__(self) -> None:
        super().__init__(_free_port())
        self.inbox = _Inbox()
        self.controller: Controller | None = None
        self.start()

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        assert self.controller is not None
        self.controller.stop()
        self.controller = None

    def running(self) -> bool:
        return self.controller is not None

    def fail(self) -> None:
        self.inbox.reject_with = "554 5.7.1 rejected by the fake relay"

    def heal(self) -> None:
        self.inbox.reject_with = None

    def last_code(self) -> str:
        body = self.inbox.messages[-1].get_payload()
        return re.search(r"\b(\d{6})\b", body).group(1)  # type: ignore[union-attr]


@pytest.fixture
def twilio() -> Iterator[Twilio]:
    carrier = Twilio()
    yield carrier
    if carrier.silent is not None:
        carrier.silent.close()
    if carrier.running():
        carrier.stop()


@pytest.fixture
def relay() -> Iterator[Relay]:
    carrier = Relay()
    yield carrier
    if carrier.silent is not None:
        carrier.silent.close()
    if carrier.running():
        carrier.stop()


class Portcullis:
    """The app with Twilio and the SMTP relay configured, its admin API and
    an anonymous client."""

    def __init__(self, tmp_path: Path, twilio: Twilio, relay: Relay, clock: FrozenClock) -> None:
        settings = settings_for(
            tmp_path,
            twilio_account_sid=SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_api_base_url=twilio.url,
            twilio_from_number="+15005550006",
            smtp_host="127.0.0.1",
            smtp_port=relay.port,
            delivery_timeout=1.0,
        )
        self.app = create_app(settings, clock=clock)
        self.ctx = self.app.extensions["portcullis"]
        migrations.upgrade(self.ctx.stores.database)
        _, token = api_tokens.create_token(self.ctx, "outages")
        self.api = OktaClient(self.app.test_client(), token)
        self.anonymous = self.app.test_client()
        self.clock = clock
        r = self.api.post(
            "/api/v1/users",
            json={"profile": profile(), "credentials": {"password": {"value": PASSWORD}}},
        )
        self.user = r.get_json()

    def factors(self) -> str:
        return f"/api/v1/users/{self.user['id']}/factors"

    def enroll(self, factor_type: str, carrier: Carrier, **factor_profile: Any) -> dict[str, Any]:
        """An active factor; the clock then moves past the activation code's throttle."""
        body = {"factorType": factor_type, "provider": "OKTA", "profile": factor_profile}
        factor = self.api.post(self.factors(), json=body).get_json()
        activate = f"{self.factors()}/{factor['id']}/lifecycle/activate"
        r = self.api.post(activate, json={"passCode": carrier.last_code()})
        assert r.status_code == 200 and r.get_json()["status"] == "ACTIVE", r.get_json()
        self.clock.advance(seconds=31)
        return dict(factor)

    def status(self, state_token: str) -> str:
        return str(authn(self.anonymous, stateToken=state_token).get_json()["status"])


@pytest.fixture
def portcullis(tmp_path: Path, twilio: Twilio, relay: Relay, clock: FrozenClock) -> Portcullis:
    return Portcullis(tmp_path, twilio, relay, clock)


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the twilio SDK's own request log included
    return caplog


def assert_outage_answer(r: Any, outage: str, log: pytest.LogCaptureFixture) -> None:
    """The answer the outage calls for, in Okta's shape, without the carrier's
    words; one warning line in the log, no traceback, no credential."""
    status, code = OUTAGES[outage]
    body = r.get_json()
    assert (r.status_code, body["errorCode"]) == (status, code), body
    if status == 503:
        assert r.headers["Retry-After"] == "5"
        assert body["errorSummary"] == "Service is temporarily unavailable"
        (cause,) = body["errorCauses"]
        assert re.fullmatch(
            r"The (SMS carrier|voice carrier|e-mail relay) cannot be reached: "
            r"try again in 5 seconds\.",
            cause["errorSummary"],
        )
    else:
        assert "Retry-After" not in r.headers
        assert body["errorSummary"].endswith("could not be delivered. Try again later.")
    assert_clean(r, log)


def assert_clean(r: Any, log: pytest.LogCaptureFixture) -> None:
    text = r.get_data(as_text=True).lower()
    assert not [leak for leak in LEAKS if leak.lower() in text], text
    warnings = [rec for rec in log.records if rec.name.startswith("portcullis")]
    assert [rec.levelno for rec in warnings] == [logging.WARNING], log.text
    assert not any(rec.exc_info for rec in log.records), log.text
    basic = base64.b64encode(f"{SID}:{AUTH_TOKEN}".encode()).decode()
    assert AUTH_TOKEN not in log.text and basic not in log.text
    log.clear()


# ---- /api/v1/authn --------------------------------------------------------------------------


@pytest.mark.parametrize("outage", OUTAGES)
def test_an_sms_challenge_while_twilio_is_down(
    portcullis: Portcullis, twilio: Twilio, policy: Policy, log: Any, outage: str
) -> None:
    sms = portcullis.enroll("sms", twilio, phoneNumber=PHONE)
    policy.require_mfa()
    token = sign_in(portcullis.anonymous).get_json()["stateToken"]
    log.clear()

    twilio.down(outage)
    r = authn(portcullis.anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    assert_outage_answer(r, outage, log)
    assert portcullis.status(token) == "MFA_REQUIRED"

    twilio.back()  # no wait: the throttle was not consumed
    r = authn(portcullis.anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    assert r.status_code == 200 and r.get_json()["status"] == "MFA_CHALLENGE", r.get_json()
    assert twilio.server is not None and twilio.server.requests[-1]["form"]["To"] == E164
    r = authn(
        portcullis.anonymous,
        f"/factors/{sms['id']}/verify",
        stateToken=token,
        passCode=twilio.last_code(),
    )
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


@pytest.mark.parametrize("outage", OUTAGES)
def test_an_email_challenge_while_the_relay_is_down(
    portcullis: Portcullis, relay: Relay, policy: Policy, log: Any, outage: str
) -> None:
    email = portcullis.enroll("email", relay)
    policy.require_mfa()
    token = sign_in(portcullis.anonymous).get_json()["stateToken"]
    log.clear()

    relay.down(outage)
    r = authn(portcullis.anonymous, f"/factors/{email['id']}/verify", stateToken=token)
    assert_outage_answer(r, outage, log)
    assert portcullis.status(token) == "MFA_REQUIRED"

    relay.back()
    r = authn(portcullis.anonymous, f"/factors/{email['id']}/verify", stateToken=token)
    assert r.get_json()["status"] == "MFA_CHALLENGE", r.get_json()
    r = authn(
        portcullis.anonymous,
        f"/factors/{email['id']}/verify",
        stateToken=token,
        passCode=relay.last_code(),
    )
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


def test_a_resend_while_twilio_is_down_can_be_repeated_at_once(
    portcullis: Portcullis, twilio: Twilio, policy: Policy, log: Any
) -> None:
    sms = portcullis.enroll("sms", twilio, phoneNumber=PHONE)
    policy.require_mfa()
    token = sign_in(portcullis.anonymous).get_json()["stateToken"]
    authn(portcullis.anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    portcullis.clock.advance(seconds=31)  # a resend is allowed
    log.clear()

    twilio.down("refused")
    resend = f"/factors/{sms['id']}/verify/resend"
    assert_outage_answer(authn(portcullis.anonymous, resend, stateToken=token), "refused", log)
    assert portcullis.status(token) == "MFA_CHALLENGE"

    twilio.back()  # the same instant: the failed resend did not take the throttle
    r = authn(portcullis.anonymous, resend, stateToken=token)
    assert r.status_code == 200 and r.get_json()["status"] == "MFA_CHALLENGE", r.get_json()
    verify = f"/factors/{sms['id']}/verify"
    r = authn(portcullis.anonymous, verify, stateToken=token, passCode=twilio.last_code())
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


def test_a_failed_resend_leaves_the_code_already_sent_working(
    portcullis: Portcullis, twilio: Twilio, policy: Policy
) -> None:
    """The user may be typing the first code while a resend fails: it must
    still work (a failed send replaces nothing)."""
    sms = portcullis.enroll("sms", twilio, phoneNumber=PHONE)
    policy.require_mfa()
    token = sign_in(portcullis.anonymous).get_json()["stateToken"]
    authn(portcullis.anonymous, f"/factors/{sms['id']}/verify", stateToken=token)
    first = twilio.last_code()
    portcullis.clock.advance(seconds=31)

    twilio.down("timeout")
    r = authn(portcullis.anonymous, f"/factors/{sms['id']}/verify/resend", stateToken=token)
    assert r.status_code == 503, r.get_json()

    verify = f"/factors/{sms['id']}/verify"
    r = authn(portcullis.anonymous, verify, stateToken=token, passCode=first)
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


# ---- /api/v1/users/{uid}/factors ------------------------------------------------------------


@pytest.mark.parametrize("outage", OUTAGES)
@pytest.mark.parametrize("factor_type", ["sms", "call", "email"])
def test_a_factors_api_verify_while_the_carrier_is_down(
    portcullis: Portcullis,
    twilio: Twilio,
    relay: Relay,
    log: Any,
    factor_type: str,
    outage: str,
) -> None:
    carrier: Carrier = relay if factor_type == "email" else twilio
    extra = {} if factor_type == "email" else {"phoneNumber": PHONE}
    factor = portcullis.enroll(factor_type, carrier, **extra)
    verify = f"{portcullis.factors()}/{factor['id']}/verify"
    log.clear()

    carrier.down(outage)
    assert_outage_answer(portcullis.api.post(verify, json={}), outage, log)
    listed = portcullis.api.get(f"{portcullis.factors()}/{factor['id']}").get_json()
    assert listed["status"] == "ACTIVE"

    carrier.back()
    r = portcullis.api.post(verify, json={})
    assert r.status_code == 200 and r.get_json()["factorResult"] == "CHALLENGE", r.get_json()
    r = portcullis.api.post(verify, json={"passCode": carrier.last_code()})
    assert r.get_json()["factorResult"] == "SUCCESS", r.get_json()


@pytest.mark.parametrize("outage", ["refused", "timeout"])
def test_an_sms_enrolment_and_its_resend_while_twilio_is_down(
    portcullis: Portcullis, twilio: Twilio, log: Any, outage: str
) -> None:
    body = {"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}}
    twilio.down(outage)
    assert_outage_answer(portcullis.api.post(portcullis.factors(), json=body), outage, log)
    assert portcullis.api.get(portcullis.factors()).get_json() == []

    twilio.back()
    factor = portcullis.api.post(portcullis.factors(), json=body).get_json()
    assert factor["status"] == "PENDING_ACTIVATION", factor
    first = twilio.last_code()
    portcullis.clock.advance(seconds=31)
    log.clear()

    twilio.down(outage)
    resend = f"{portcullis.factors()}/{factor['id']}/lifecycle/resend"
    assert_outage_answer(portcullis.api.post(resend, json={}), outage, log)
    twilio.back()
    activate = f"{portcullis.factors()}/{factor['id']}/lifecycle/activate"
    r = portcullis.api.post(activate, json={"passCode": first})  # the code sent still works
    assert r.status_code == 200 and r.get_json()["status"] == "ACTIVE", r.get_json()


def test_a_call_twilio_answers_with_503_is_a_502(
    portcullis: Portcullis, twilio: Twilio, log: Any
) -> None:
    """Twilio's own 503 is an answer: the gateway's error (502), not ours."""
    call = portcullis.enroll("call", twilio, phoneNumber=PHONE)
    verify = f"{portcullis.factors()}/{call['id']}/verify"
    log.clear()
    twilio.failure = (503, 20503)
    twilio.down("error")
    assert_outage_answer(portcullis.api.post(verify, json={}), "error", log)
    twilio.back()
    r = portcullis.api.post(verify, json={})
    assert r.get_json()["factorResult"] == "CHALLENGE", r.get_json()
    assert twilio.server is not None and twilio.server.requests[-1]["path"].endswith("/Calls.json")


# ---- /auth/ (WorkOS) -------------------------------------------------------------------------


@pytest.mark.parametrize("outage", OUTAGES)
def test_a_workos_sms_challenge_while_twilio_is_down(
    portcullis: Portcullis, twilio: Twilio, log: Any, outage: str
) -> None:
    _, key = workos_mfa.create_api_key(portcullis.ctx, "outages")
    mfa = WorkosClient(portcullis.app.test_client(), key)
    factor = mfa.post(
        "/auth/factors/enroll", json={"type": "sms", "phone_number": PHONE}
    ).get_json()
    log.clear()

    twilio.down(outage)
    r = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={})
    status, _ = OUTAGES[outage]
    assert r.status_code == status, r.get_json()
    assert r.get_json()["code"] == "sms_delivery_failed"
    if status == 503:
        assert r.headers["Retry-After"] == "5" and r.get_json()["retry_after"] == 5
    else:
        assert "Retry-After" not in r.headers
    assert_clean(r, log)

    twilio.back()
    r = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={})
    assert r.status_code == 201, r.get_json()
    verified = mfa.post(
        f"/auth/challenges/{r.get_json()['id']}/verify", json={"code": twilio.last_code()}
    )
    assert verified.get_json()["valid"] is True


# ---- activation and reset e-mails -------------------------------------------------------------


@pytest.mark.parametrize("outage", OUTAGES)
def test_a_reset_email_while_the_relay_is_down(
    portcullis: Portcullis, relay: Relay, log: Any, outage: str
) -> None:
    """The same answers for a link as for a code; the user is left as they were."""
    user = f"/api/v1/users/{portcullis.user['id']}"
    log.clear()
    relay.down(outage)
    r = portcullis.api.post(f"{user}/lifecycle/reset_password?sendEmail=true")
    assert_outage_answer(r, outage, log)
    assert portcullis.api.get(user).get_json()["status"] == "ACTIVE"

    relay.back()
    r = portcullis.api.post(f"{user}/lifecycle/reset_password?sendEmail=true")
    assert r.status_code == 200, r.get_json()
    assert portcullis.api.get(user).get_json()["status"] == "RECOVERY"
    assert relay.inbox.messages
