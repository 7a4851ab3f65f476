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
        raise DeliveryError("relay rejected the message")


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


class SwitchableRelay(BrokenRelay):
    """Refuses only while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def send(self, message: Message) -> None:
        if self.down:
            super().send(message)


@pytest.mark.parametrize(
    ("first", "again", "use"),
    [
        # An activation link, then a reactivation whose e-mail fails.
        (
            "lifecycle/activate?sendEmail=false",
            "lifecycle/reactivate?sendEmail=true",
            {"token": "{token}"},
        ),
        # A reset link, then a forgot-password e-mail that fails.
        (
            "credentials/forgot_password?sendEmail=false",
            "credentials/forgot_password?sendEmail=true",
            {"recoveryToken": "{token}"},
        ),
    ],
)
def test_a_new_link_that_cannot_be_sent_leaves_the_last_one_working(
    tmp_path: Path, first: str, again: str, use: dict[str, str]
) -> None:
    relay = SwitchableRelay()
    app = create_app(settings_for(tmp_path), delivery=relay)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, admin_token = api_tokens.create_token(ctx, "t")
    api = OktaClient(app.test_client(), admin_token)
    body: dict[str, Any] = {"profile": profile()}
    if "recoveryToken" in use:
        body["credentials"] = {"password": {"value": PASSWORD}}
    user = api.post(f"/api/v1/users?activate={'recoveryToken' in use}", json=body).get_json()
    r = api.post(f"/api/v1/users/{user['id']}/{first}")
    assert r.status_code == 200, r.get_json()
    link = r.get_json().get("activationUrl") or r.get_json()["resetPasswordUrl"]
    token = link.rsplit("/", 1)[1]
    relay.down = True
    refused = api.post(f"/api/v1/users/{user['id']}/{again}")
    assert refused.status_code == 502, refused.get_json()
    relay.down = False
    path = "/api/v1/authn" + ("/recovery/token" if "recoveryToken" in use else "")
    payload = {name: value.format(token=token) for name, value in use.items()}
    answer = app.test_client().post(path, json=payload)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] in ("PASSWORD_RESET", "SUCCESS")
