"""GET /api/v1/dev/outbox: on with the embedded defaults only, never with real delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.config import Settings
from app.services import api_tokens
from app.store import migrations
from tests.conftest import OktaClient, settings_for


def _client(tmp_path: Path, **overrides: Any) -> OktaClient:
    app = create_app(settings_for(tmp_path, **overrides))
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
    assert any(ch.isdigit() for ch in message["body"])
    everything = api.get("/api/v1/dev/outbox?limit=1").get_json()
    assert len(everything) == 1  # newest first, capped
    assert OktaClient(api.client, None).get("/api/v1/dev/outbox").status_code == 401


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
    assert "/api/v1/dev/outbox" not in api.get("/openapi.json").get_data(as_text=True)


def test_auto_is_off_on_postgresql_and_real_redis() -> None:
    production = Settings(
        database_url="postgresql+psycopg://db/portcullis", redis_url="redis://cache:6379/0"
    )
    assert not production.dev_outbox_enabled
    assert Settings(database_url="sqlite:///x.db").dev_outbox_enabled
    with pytest.raises(ValueError, match="DEV_OUTBOX_HTTP"):
        _ = Settings(dev_outbox_http="maybe").dev_outbox_enabled
