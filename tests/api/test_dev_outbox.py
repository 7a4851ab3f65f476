"""GET /api/v1/dev/outbox: on with the embedded defaults only, never with real delivery."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.config import Settings
from app.services import api_tokens
from app.store import migrations
from tests.conftest import FrozenClock, OktaClient, settings_for


def _client(tmp_path: Path, **overrides: Any) -> OktaClient:
    app = create_app(settings_for(tmp_path, **overrides), clock=FrozenClock())
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "t")
    return OktaClient(app.test_client(), token)


def test_reads_codes_sent_by_sms(tmp_path: Path) -> None:
    api = _client(tmp_path)
    user = api.post(
        "/api/v1/users?activate=true",
        json={
            "profile": {
                "login": "a@example.com",
                "email": "a@example.com",
                "firstName": "A",
                "lastName": "B",
            }
        },
    ).get_json()
    api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "sms", "profile": {"phoneNumber": "+1 505-269-4259"}},
    )
    r = api.get("/api/v1/dev/outbox?to=%2B15052694259")
    assert r.status_code == 200, r.get_json()
    (message,) = r.get_json()
    assert message["channel"] == "sms" and message["to"] == "+15052694259"
    assert message["sentAt"] == "2026-01-15T09:30:00.000Z" and message["extension"] == ""
    assert sorted(message) == [
        "body",
        "channel",
        "expiresAt",
        "extension",
        "sentAt",
        "subject",
        "to",
    ]
    # the code read over HTTP is the one the factor was sent: it activates it
    (factor,) = api.get(f"/api/v1/users/{user['id']}/factors").get_json()
    code = re.search(r"\b(\d{6})\b", message["body"]).group(1)  # type: ignore[union-attr]
    activated = api.post(
        f"/api/v1/users/{user['id']}/factors/{factor['id']}/lifecycle/activate",
        json={"passCode": code},
    )
    assert activated.status_code == 200 and activated.get_json()["status"] == "ACTIVE"
    # an unencoded "+" (as Postman sends it) is read as "+", not as a space
    assert api.get("/api/v1/dev/outbox?to=+15052694259").get_json() == [message]
    # newest first, capped by limit; e-mail addresses match in any case
    (newest,) = api.get("/api/v1/dev/outbox?limit=1").get_json()
    assert newest == message
    (welcome,) = api.get("/api/v1/dev/outbox?to=A@Example.com").get_json()
    assert welcome["channel"] == "email" and "/welcome/" in welcome["body"]


def test_needs_an_admin_token_and_a_valid_limit(tmp_path: Path) -> None:
    api = _client(tmp_path)
    anonymous = OktaClient(api.client, None).get("/api/v1/dev/outbox")
    assert anonymous.status_code == 401 and anonymous.get_json()["errorCode"] == "E0000011"
    wrong = OktaClient(api.client, "not-a-token").get("/api/v1/dev/outbox")
    assert wrong.status_code == 401 and wrong.get_json()["errorCode"] == "E0000011"
    for limit in ("0", "1001", "ten"):
        r = api.get(f"/api/v1/dev/outbox?limit={limit}")
        assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001", limit
    assert api.get("/api/v1/dev/outbox").get_json() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"dev_outbox_http": "false"},
        {
            "twilio_account_sid": "AC1",
            "twilio_auth_token": "x",
            "twilio_from_number": "+15005550006",
            "dev_outbox_http": "true",
        },
        {"smtp_host": "mail.example.com", "dev_outbox_http": "true"},
    ],
)
def test_absent_when_switched_off_or_when_messages_really_leave(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    api = _client(tmp_path, **overrides)
    r = api.get("/api/v1/dev/outbox")
    assert r.status_code == 404
    # the answer of any path no route serves
    assert r.get_json()["errorCode"] == "E0000007"
    assert r.get_json()["errorSummary"] == (
        "Not found: Resource not found: /api/v1/dev/outbox (Resource)"
    )
    assert "/api/v1/dev/outbox" not in api.get("/openapi.json").get_data(as_text=True)


def test_listed_in_the_openapi_document_when_on(tmp_path: Path) -> None:
    spec = _client(tmp_path).get("/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/dev/outbox"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"to", "limit"}


def test_auto_is_off_on_postgresql_and_real_redis() -> None:
    production = Settings(
        database_url="postgresql+psycopg://db/portcullis", redis_url="redis://cache:6379/0"
    )
    assert not production.dev_outbox_enabled
    assert Settings(database_url="sqlite:///x.db").dev_outbox_enabled
    with pytest.raises(ValueError, match="DEV_OUTBOX_HTTP"):
        _ = Settings(dev_outbox_http="maybe").dev_outbox_enabled
