"""The shipped /signin page enrols a passkey and signs in with it, in headless
Chromium with the DevTools Protocol's virtual authenticator (ctap2, internal
transport, user verification): the browser's own navigator.credentials
create and get, against a live server.

The server's BASE_URL is http://localhost:<port>: browsers refuse a bare IP
address as a WebAuthn RP ID, and localhost is a secure context over http.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import (
    Admin,
    bootstrap,
    embedded_env,
    free_port,
    gunicorn,
    missing_tool,
    virtual_authenticator,
)
from tests.compat.test_sign_in_widget import browser as browser  # the fixture
from tests.compat.test_signin_page import CHROMIUM, PASSWORD, _landed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        missing_tool("Debian chromium is not installed (scripts/ensure_services.sh installs it)")
    instance = tmp_path_factory.mktemp("signin-webauthn")
    port = free_port()
    base = f"http://localhost:{port}"
    env = embedded_env(instance, port, BASE_URL=base)
    token = bootstrap(env)
    with gunicorn(env, instance / "server.log"):
        yield {"base": base, "admin": Admin(base, token)}


def _sign_in(page: Any, base: str, login: str) -> None:
    page.goto(f"{base}/signin")
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_passkey_is_enrolled_then_signs_in(server: dict[str, Any], browser: Any) -> None:
    admin, base = server["admin"], server["base"]
    login = "kate.passkey@example.com"
    group_id = admin.group("Passkeys")
    user = admin.user(login, group_id)
    admin.require_webauthn(group_id)
    context = browser.new_context()
    page = context.new_page()
    cdp, authenticator = virtual_authenticator(context, page)

    _sign_in(page, base, login)
    page.get_by_role("heading", name="Set up a second factor").wait_for()
    page.get_by_role("button", name=re.compile("Security key or passkey")).click()
    page.get_by_role("heading", name="Set up a security key or passkey").wait_for()
    page.get_by_role("button", name="Register").click()
    _landed(page, context, base, login, "signin-webauthn-enrolment.png")
    assert page.get_by_text("security key or passkey").count() == 1
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    (factor,) = admin("GET", f"/api/v1/users/{user['id']}/factors")
    assert (factor["factorType"], factor["status"]) == ("webauthn", "ACTIVE")
    assert factor["profile"]["credentialId"] == credential["credentialId"].rstrip("=").replace(
        "+", "-"
    ).replace("/", "_")
    assert credential["rpId"] == "localhost"

    # Signing in again: the sign-on rule now asks for the factor.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/signin")
    admin.require_mfa(group_id)
    _sign_in(page, base, login)
    page.get_by_role("heading", name="Verify it's you").wait_for()
    page.get_by_role("button", name=re.compile("Security key or passkey")).click()
    page.get_by_role("button", name="Use my security key").click()
    page.get_by_role("heading", name="Use your security key").wait_for()
    page.get_by_role("button", name="Continue").click()
    _landed(page, context, base, login, "signin-webauthn-verify.png")
    after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert after["credentials"][0]["signCount"] > credential["signCount"]
    context.close()


def test_a_cancelled_ceremony_shows_the_error_and_changes_nothing(
    server: dict[str, Any], browser: Any
) -> None:
    admin, base = server["admin"], server["base"]
    login = "kate.cancel@example.com"
    group_id = admin.group("Passkeys, cancelled")
    user = admin.user(login, group_id)
    admin.require_webauthn(group_id)
    context = browser.new_context()
    page = context.new_page()
    cdp, authenticator = virtual_authenticator(context, page)
    # The user does not touch the key: the browser's ceremony fails.
    cdp.send(
        "WebAuthn.setAutomaticPresenceSimulation",
        {"authenticatorId": authenticator, "enabled": False},
    )
    _sign_in(page, base, login)
    page.get_by_role("button", name=re.compile("Security key or passkey")).click()
    page.get_by_role("button", name="Register").click()
    page.get_by_role("alert").get_by_text("did not answer").wait_for(timeout=90_000)
    (factor,) = admin("GET", f"/api/v1/users/{user['id']}/factors")
    assert factor["status"] == "PENDING_ACTIVATION"
    context.close()
