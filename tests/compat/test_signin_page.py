"""The /signin page that ships with the server, in a real headless Chromium.

(a) password, then Google Authenticator enrolment (QR code, secret, first
code); (b) password, then an SMS challenge with the code read from the
development outbox. Both must land on /app with a ``sid`` cookie and the
session shown. A screenshot of each final page is kept in ``artifacts/``.

Chromium is Debian's (``/usr/bin/chromium``, installed by
``scripts/ensure_services.sh``), driven by Python playwright without a
browser download.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.compat.conftest import bootstrap, embedded_env, free_port, gunicorn

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "Sup3r-Secret-Phrase"


class Admin:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"SSWS {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        message = "Debian chromium is not installed (scripts/ensure_services.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    instance = tmp_path_factory.mktemp("signin-page")
    env = embedded_env(instance, free_port())
    token = bootstrap(env)
    with gunicorn(env, instance / "server.log") as base:
        yield {"base": base, "admin": Admin(base, token)}


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def _user_in_group(admin: Admin, login: str, group_name: str) -> tuple[dict[str, Any], str]:
    group = admin("POST", "/api/v1/groups", {"profile": {"name": group_name}})
    user = admin(
        "POST",
        "/api/v1/users?activate=true",
        {
            "profile": {"login": login, "email": login, "firstName": "Dade", "lastName": "Murphy"},
            "credentials": {"password": {"value": PASSWORD}},
            "groupIds": [group["id"]],
        },
    )
    return user, group["id"]


def _sign_in(page: Any, base: str, login: str) -> None:
    page.goto(f"{base}/signin")
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _landed(page: Any, context: Any, base: str, login: str, shot: str) -> None:
    page.wait_for_url(f"{base}/app")
    page.get_by_text(login).wait_for()
    assert page.get_by_role("heading").inner_text() == "You're signed in"
    cookies = {c["name"]: c for c in context.cookies(base)}
    assert "sid" in cookies and cookies["sid"]["httpOnly"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)


def test_password_then_google_authenticator_enrolment(server: dict[str, Any], browser: Any) -> None:
    admin, base = server["admin"], server["base"]
    login = "dade.enrol@example.com"
    _, group_id = _user_in_group(admin, login, "Authenticator required")
    admin(
        "POST",
        "/api/v1/policies",
        {
            "type": "MFA_ENROLL",
            "name": "Google Authenticator required",
            "priority": 1,
            "conditions": {"people": {"groups": {"include": [group_id]}}},
            "settings": {"factors": {"google_otp": {"enroll": {"self": "REQUIRED"}}}},
        },
    )
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, base, login)
    page.get_by_role("heading", name="Set up a second factor").wait_for()
    page.get_by_role("button", name=re.compile("Google Authenticator")).click()
    page.get_by_role("heading", name="Set up Google Authenticator").wait_for()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    loaded = """img => img.complete && img.naturalWidth > 0 ? true : new Promise(done => {
        img.addEventListener('load', () => done(img.naturalWidth > 0));
        img.addEventListener('error', () => done(false));
    })"""
    assert qr.evaluate(loaded), "the QR code image did not load"
    secret = page.locator(".secret").inner_text().strip()
    page.get_by_label(re.compile("Code")).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    _landed(page, context, base, login, "signin-totp-enrolment.png")
    assert page.get_by_text("authenticator code").count() == 1
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/signin")
    assert "sid" not in {c["name"] for c in context.cookies(base)}
    context.close()


def test_password_then_sms_challenge(server: dict[str, Any], browser: Any) -> None:
    admin, base = server["admin"], server["base"]
    login = "dade.sms@example.com"
    user, group_id = _user_in_group(admin, login, "MFA at sign-in")
    admin(
        "POST",
        f"/api/v1/users/{user['id']}/factors?activate=true",
        {"factorType": "sms", "profile": {"phoneNumber": "+1 505 269 4261"}},
    )
    policy = admin(
        "POST",
        "/api/v1/policies",
        {
            "type": "OKTA_SIGN_ON",
            "name": "MFA at sign-in",
            "priority": 1,
            "conditions": {"people": {"groups": {"include": [group_id]}}},
        },
    )
    admin(
        "POST",
        f"/api/v1/policies/{policy['id']}/rules",
        {"name": "Require MFA", "priority": 1, "actions": {"signon": {"requireFactor": True}}},
    )
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, base, login)
    page.get_by_role("heading", name="Verify it's you").wait_for()
    page.get_by_role("button", name=re.compile("Text message")).click()
    page.get_by_role("button", name="Text me a code").click()
    page.get_by_role("heading", name="Enter your code").wait_for()
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("alert").get_by_text("Invalid Passcode/Answer").wait_for()
    (message,) = admin("GET", "/api/v1/dev/outbox?to=%2B15052694261&limit=1")
    code = re.search(r"\b(\d{6})\b", message["body"]).group(1)
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()
    _landed(page, context, base, login, "signin-sms-challenge.png")
    assert page.get_by_text("text message").count() == 1
    context.close()


def test_wrong_password_shows_the_error(server: dict[str, Any], browser: Any) -> None:
    base = server["base"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.get_by_label("Username").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.keyboard.press("Enter")  # keyboard submission works
    page.get_by_role("alert").get_by_text("Authentication failed").wait_for()
    assert "sid" not in {c["name"] for c in context.cookies(base)}
    context.close()
