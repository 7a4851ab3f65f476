"""Delivery through the real ``twilio`` SDK (against a local fake of Twilio's
Messages and Calls endpoints) and real SMTP (against a local aiosmtpd server)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

from app import create_app
from app.store import migrations
from tests.conftest import PASSWORD, OktaClient, profile, settings_for

pytestmark = pytest.mark.integration
SID = "AC" + "0" * 32
PHONE = "+15052694259"


class FakeTwilio(ThreadingHTTPServer):
    """Accepts what the SDK posts to Messages.json and Calls.json and records it."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _TwilioHandler)
        self.requests: list[dict[str, Any]] = []
        self.fail_with: tuple[int, int] | None = None  # (HTTP status, Twilio error code)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _TwilioHandler(BaseHTTPRequestHandler):
    server: FakeTwilio

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.requests.append(
            {"path": self.path, "form": form, "auth": self.headers.get("Authorization", "")}
        )
        if self.server.fail_with:
            status, code = self.server.fail_with
            body = {
                "code": code,
                "message": "refused by the fake",
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
        else:
            status = 201
            kind = "SM" if self.path.endswith("/Messages.json") else "CA"
            body = {
                "sid": kind + "1" * 32,
                "account_sid": SID,
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
            }
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.reject_with: str | None = None  # an SMTP reply refusing every message

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.reject_with:
            return self.reject_with
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def _api(tmp_path: Path, **settings: Any) -> tuple[Any, OktaClient]:
    app = create_app(settings_for(tmp_path, **settings))
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    from app.services import api_tokens

    _, token = api_tokens.create_token(ctx, "delivery")
    return ctx, OktaClient(app.test_client(), token)


def _user(api: OktaClient) -> dict[str, Any]:
    r = api.post(
        "/api/v1/users",
        json={"profile": profile(), "credentials": {"password": {"value": PASSWORD}}},
    )
    return r.get_json()  # type: ignore[no-any-return]


def _twilio_settings(twilio: FakeTwilio, **extra: Any) -> dict[str, Any]:
    return {
        "twilio_account_sid": SID,
        "twilio_auth_token": "secret-token",
        "twilio_api_base_url": twilio.url,
        **extra,
    }


def test_sms_goes_through_the_twilio_sdk(tmp_path: Path, twilio: FakeTwilio) -> None:
    _, api = _api(tmp_path, **_twilio_settings(twilio, twilio_from_number="+15005550006"))
    user = _user(api)
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "sms", "profile": {"phoneNumber": "+1 505 269 4259"}},
    )
    assert r.status_code == 200, r.get_json()
    (sent,) = twilio.requests
    assert sent["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert sent["auth"].startswith("Basic ")
    assert sent["form"]["To"] == PHONE
    assert sent["form"]["From"] == "+15005550006"
    code = re.search(r"\b(\d{6})\b", sent["form"]["Body"]).group(1)  # type: ignore[union-attr]
    assert sent["form"]["Body"] == f"Your Portcullis verification code is {code}"
    factor = r.get_json()
    done = api.post(
        f"/api/v1/users/{user['id']}/factors/{factor['id']}/lifecycle/activate",
        json={"passCode": code},
    )
    assert done.status_code == 200 and done.get_json()["status"] == "ACTIVE"


def test_messaging_service_and_template(tmp_path: Path, twilio: FakeTwilio) -> None:
    _, api = _api(
        tmp_path,
        **_twilio_settings(
            twilio,
            twilio_messaging_service_sid="MG" + "2" * 32,
            sms_template="{code} is your ACME code",
        ),
    )
    user = _user(api)
    api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "sms", "profile": {"phoneNumber": PHONE}},
    )
    form = twilio.requests[0]["form"]
    assert form["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in form
    assert re.fullmatch(r"\d{6} is your ACME code", form["Body"])


def test_voice_call_reads_the_code_with_twiml(tmp_path: Path, twilio: FakeTwilio) -> None:
    _, api = _api(tmp_path, **_twilio_settings(twilio, twilio_from_number="+15005550006"))
    user = _user(api)
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "call", "profile": {"phoneNumber": PHONE}},
    )
    assert r.status_code == 200
    (sent,) = twilio.requests
    assert sent["path"].endswith("/Calls.json")
    assert sent["form"]["To"] == PHONE
    twiml = sent["form"]["Twiml"]
    assert twiml.startswith("<Response><Say>Your verification code is ")
    digits = re.findall(r"\d", twiml)
    assert len(digits) == 12 and digits[:6] == digits[6:]
    assert "SendDigits" not in sent["form"]


def test_voice_call_dials_the_phone_extension(tmp_path: Path, twilio: FakeTwilio) -> None:
    _, api = _api(tmp_path, **_twilio_settings(twilio, twilio_from_number="+15005550006"))
    user = _user(api)
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "call", "profile": {"phoneNumber": PHONE, "phoneExtension": "1234"}},
    )
    assert r.status_code == 200, r.get_json()
    (sent,) = twilio.requests
    assert sent["form"]["SendDigits"] == "ww1234"


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, 21211, (400, "E0000098")),  # Twilio: invalid 'To' number
        (500, 20500, (502, "E0000009")),  # Twilio itself failing
    ],
)
def test_a_failed_delivery_leaves_no_factor(
    tmp_path: Path, twilio: FakeTwilio, status: int, code: int, expected: tuple[int, str]
) -> None:
    _, api = _api(tmp_path, **_twilio_settings(twilio, twilio_from_number="+15005550006"))
    user = _user(api)
    twilio.fail_with = (status, code)
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "sms", "profile": {"phoneNumber": PHONE}},
    )
    assert (r.status_code, r.get_json()["errorCode"]) == expected
    assert api.get(f"/api/v1/users/{user['id']}/factors").get_json() == []
    # the throttle was released: a retry once Twilio is back goes straight through
    twilio.fail_with = None
    retry = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "sms", "profile": {"phoneNumber": PHONE}},
    )
    assert retry.status_code == 200


def test_email_codes_go_through_smtp(tmp_path: Path, smtp: tuple[int, _Inbox]) -> None:
    port, inbox = smtp
    _, api = _api(
        tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_from="login@portcullis.test"
    )
    user = _user(api)
    r = api.post(
        f"/api/v1/users/{user['id']}/factors", json={"factorType": "email", "provider": "OKTA"}
    )
    assert r.status_code == 200, r.get_json()
    (mail,) = inbox.messages
    assert mail["To"] == "isaac.brock@example.com"
    assert mail["From"] == "login@portcullis.test"
    assert mail["Subject"] == "Your Portcullis verification code"
    code = re.search(r"\b(\d{6})\b", mail.get_payload()).group(1)  # type: ignore[union-attr]
    factor = r.get_json()
    done = api.post(
        f"/api/v1/users/{user['id']}/factors/{factor['id']}/lifecycle/activate",
        json={"passCode": code},
    )
    assert done.status_code == 200


def test_smtp_down_is_an_error_and_no_factor(tmp_path: Path) -> None:
    _, api = _api(tmp_path, smtp_host="127.0.0.1", smtp_port=_free_port())
    user = _user(api)
    r = api.post(f"/api/v1/users/{user['id']}/factors", json={"factorType": "email"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.get_json()["errorCode"] == "E0000010"
    assert api.get(f"/api/v1/users/{user['id']}/factors").get_json() == []


def test_a_twilio_that_never_answers_times_out_and_leaves_no_trace(tmp_path: Path) -> None:
    """DELIVERY_TIMEOUT bounds the wait: a 503, no factor, the throttle free."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        _, api = _api(
            tmp_path,
            twilio_account_sid=SID,
            twilio_auth_token="secret-token",
            twilio_api_base_url=url,
            twilio_from_number="+15005550006",
            delivery_timeout=1.0,
        )
        user = _user(api)
        started = time.monotonic()
        r = api.post(
            f"/api/v1/users/{user['id']}/factors",
            json={"factorType": "sms", "profile": {"phoneNumber": PHONE}},
        )
        assert time.monotonic() - started < 5
        assert r.status_code == 503 and r.get_json()["errorCode"] == "E0000010", r.get_json()
        assert api.get(f"/api/v1/users/{user['id']}/factors").get_json() == []
    finally:
        silent.close()
