"""When the e-mail relay cannot take a message: never a 500, never a half change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.delivery import DeliveryError, Message
from app.services import api_tokens
from app.store import migrations
from tests.conftest import PASSWORD, OktaClient, profile, settings_for


class BrokenRelay:
    def __init__(self) -> None:
        self.attempts: list[Message] = []

    def send(self, message: Message) -> None:
        self.attempts.append(message)
        raise DeliveryError("relay refused the connection")


@pytest.fixture
def broken(tmp_path: Path) -> tuple[OktaClient, BrokenRelay]:
    relay = BrokenRelay()
    app = create_app(settings_for(tmp_path), delivery=relay)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "t")
    return OktaClient(app.test_client(), token), relay


def test_creating_a_user_succeeds_when_the_activation_email_fails(
    broken: tuple[OktaClient, BrokenRelay],
) -> None:
    api, relay = broken
    r = api.post("/api/v1/users?activate=true", json={"profile": profile()})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "PROVISIONED"
    assert len(relay.attempts) == 1
    # Nothing half-done: the user is there once, and can be sent a new link later.
    (found,) = api.get("/api/v1/users").get_json()
    assert found["id"] == r.get_json()["id"]


@pytest.mark.parametrize(
    ("path", "password"),
    [
        ("lifecycle/reactivate?sendEmail=true", None),
        ("lifecycle/reset_password?sendEmail=true", PASSWORD),
    ],
)
def test_sending_a_link_that_cannot_be_delivered_is_a_502(
    broken: tuple[OktaClient, BrokenRelay], path: str, password: Any
) -> None:
    api, _ = broken
    body: dict[str, Any] = {"profile": profile()}
    if password:
        body["credentials"] = {"password": {"value": password}}
    user = api.post("/api/v1/users?activate=true", json=body).get_json()
    r = api.post(f"/api/v1/users/{user['id']}/{path}")
    assert r.status_code == 502, r.get_json()
    assert r.get_json()["errorCode"] == "E0000009"
    assert "could not be delivered" in r.get_json()["errorSummary"]
