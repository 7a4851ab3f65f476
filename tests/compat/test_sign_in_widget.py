"""The Okta Sign-In Widget (``@okta/okta-signin-widget``, pinned in
package.json; classic engine, no OIDC) against a live Portcullis, in
headless Chromium.

The widget is embedded in a small application page (``tests/compat/widget/``)
served from another origin, with the widget's JS and CSS from
``node_modules``; that origin is a trusted origin (CORS and REDIRECT) of the
server. A user whose sign-on policy requires MFA signs in with password and
a Google Authenticator code (a wrong one first: the widget shows the
server's error cause); the widget's ``session.setCookieAndRedirect``
goes through ``/login/sessionCookieRedirect`` to the application's landing
page, which reads ``/api/v1/sessions/me`` across origins with the ``sid``
cookie. Screenshots of the widget's MFA step and of the final page are
kept in ``artifacts/``.

Chromium is Debian's (``/usr/bin/chromium``, installed by
``scripts/ensure_services.sh``), driven by Python playwright without a
browser download.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pyotp
import pytest
from playwright.sync_api import expect

from tests.compat.conftest import (
    PASSWORD,
    ROOT,
    Admin,
    LiveServer,
    bootstrap,
    embedded_env,
    free_port,
    gunicorn,
    missing_tool,
    virtual_authenticator,
)

pytestmark = pytest.mark.integration
PAGES = Path(__file__).parent / "widget"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class _Pages(SimpleHTTPRequestHandler):
    """The application's pages; ``/dist/…`` is the widget's ``dist`` folder."""

    def __init__(self, *args: Any, dist: Path, **kwargs: Any) -> None:
        self.dist = dist
        super().__init__(*args, directory=str(PAGES), **kwargs)

    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        if route.startswith("/dist/"):
            self.directory = str(self.dist)
            path = route.removeprefix("/dist")
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pages(node_packages: Path) -> Iterator[str]:
    dist = node_packages / "@okta" / "okta-signin-widget" / "dist"
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(_Pages, dist=dist))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing_tool("Debian chromium is not installed (scripts/ensure_services.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def _wrong_code(totp: pyotp.TOTP) -> str:
    """Six digits the server would not accept now (it allows one step of skew)."""
    now = time.time()
    valid = {totp.at(now + 30 * skew) for skew in (-2, -1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


def test_password_and_google_authenticator_to_a_session_cookie(
    live_server: LiveServer, pages: str, browser: Any
) -> None:
    admin, base = live_server.admin, live_server.base
    admin(
        "POST",
        "/api/v1/trustedOrigins",
        {
            "name": "Acme (Sign-In Widget)",
            "origin": pages,
            "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}],
        },
    )
    login = "zero.cool@example.com"
    group_id = admin.group("Widget users")
    admin.require_mfa(group_id)
    user = admin.user(login, group_id)
    factor = admin.active_totp(user["id"])

    context = browser.new_context()
    page = context.new_page()
    traffic: list[str] = []
    page.on("console", lambda message: traffic.append(f"console {message.type}: {message.text}"))
    page.on(
        "response",
        lambda response: traffic.append(
            f"{response.request.method} {response.url} -> {response.status}"
        ),
    )
    page.on("requestfailed", lambda request: traffic.append(f"FAILED {request.url}"))
    try:
        page.goto(f"{pages}/index.html?baseUrl={quote(base, safe='')}")
        page.get_by_label("Username").fill(login)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.get_by_text("Google Authenticator").first.wait_for()
        totp = pyotp.TOTP(factor["secret"])
        _enter_code(page, _wrong_code(totp))
        page.get_by_role("button", name="Verify").click()
        # The widget shows the first errorCauses summary of the 403 E0000068.
        page.get_by_text("Your passcode doesn't match our records. Please try again.").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign-in-widget-wrong-code.png"))
        _enter_code(page, totp.now())
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(f"{pages}/landed.html*")
        page.get_by_role("heading", name="You're signed in").wait_for()
    except Exception as error:
        log = "\n".join(traffic)
        shown = page.locator("body").inner_text(timeout=2000)
        log += f"\n--- the page shows ({page.url}) ---\n{shown}"
        raise AssertionError(f"{error}\n--- browser traffic ---\n{log}") from None
    assert page.locator("#login").inner_text() == login
    assert page.locator("#amr").inner_text() == "pwd, otp, mfa"
    cookies = {c["name"]: c for c in context.cookies(base)}
    assert "sid" in cookies and cookies["sid"]["httpOnly"]
    assert any("/login/sessionCookieRedirect" in line and "-> 302" in line for line in traffic)
    page.screenshot(path=str(ARTIFACTS / "sign-in-widget.png"), full_page=True)
    context.close()


def _enter_code(page: Any, code: str) -> None:
    """Type the code and see it in the field before submitting: on a loaded
    machine the widget can still be rendering its form when the factor's name
    shows, and a re-render would empty the field (a submit then sends nothing)."""
    field = page.get_by_label("Enter Code")
    expect(field).to_be_editable()
    field.fill(code)
    expect(field).to_have_value(code)


# ---- WebAuthn: the widget on another origin enrols a key, then signs in with it ----------


@pytest.fixture(scope="module")
def webauthn_server(tmp_path_factory: pytest.TempPathFactory, pages: str) -> Iterator[LiveServer]:
    """A server for WebAuthn: browsers refuse a bare IP as an RP ID, so both it
    and the widget's page are on ``localhost`` (different ports: two origins),
    and the page's origin is one of ``WEBAUTHN_ORIGINS``, as
    docs/factors/webauthn.md sets the widget up."""
    instance = tmp_path_factory.mktemp("portcullis-webauthn")
    port = free_port()
    base = f"http://localhost:{port}"
    env = embedded_env(instance, port, BASE_URL=base, WEBAUTHN_ORIGINS=_on_localhost(pages))
    token = bootstrap(env)
    with gunicorn(env, instance / "server.log"):
        yield LiveServer(base=base, admin=Admin(base, token), instance=instance)


def _on_localhost(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def test_webauthn_enrolment_then_sign_in(
    webauthn_server: LiveServer, pages: str, browser: Any
) -> None:
    admin, base = webauthn_server.admin, webauthn_server.base
    app = _on_localhost(pages)
    admin(
        "POST",
        "/api/v1/trustedOrigins",
        {"name": "Acme", "origin": app, "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}]},
    )
    login = "acid.burn@example.com"
    group_id = admin.group("Widget passkeys")
    user = admin.user(login, group_id)
    admin.require_webauthn(group_id)
    context = browser.new_context()
    page = context.new_page()
    cdp, authenticator = virtual_authenticator(context, page)
    traffic: list[str] = []
    page.on("console", lambda message: traffic.append(f"console {message.type}: {message.text}"))
    page.on(
        "response",
        lambda response: traffic.append(
            f"{response.request.method} {response.url} -> {response.status}"
        ),
    )
    widget = f"{app}/index.html?baseUrl={quote(base, safe='')}"
    try:
        page.goto(widget)
        page.get_by_label("Username").fill(login)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.get_by_text("Security Key or Biometric Authenticator").first.wait_for()
        page.get_by_text("Configure factor").click()  # the one required factor
        page.locator(".enroll-webauthn-form").wait_for()
        enrol = page.locator(".enroll-webauthn-form").get_by_role("button")
        if enrol.count():  # autoSave may have started the ceremony already
            enrol.first.click()
        page.wait_for_url(f"{app}/landed.html*")
        page.get_by_role("heading", name="You're signed in").wait_for()
        assert page.locator("#amr").inner_text() == "pwd, hwk, mfa"
        (factor,) = admin("GET", f"/api/v1/users/{user['id']}/factors")
        assert (factor["factorType"], factor["status"]) == ("webauthn", "ACTIVE")

        admin.require_mfa(group_id)  # the next sign-in proves the key
        page.goto(widget)
        page.get_by_label("Username").fill(login)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.locator(".verify-webauthn-form").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign-in-widget-webauthn.png"))
        button = page.locator(".verify-webauthn-form").get_by_role("button", name="Verify")
        if button.count():  # autoSave may have started the ceremony already
            button.click()
        page.wait_for_url(f"{app}/landed.html*")
        page.get_by_role("heading", name="You're signed in").wait_for()
    except Exception as error:
        log = "\n".join(traffic)
        shown = page.locator("body").inner_text(timeout=2000)
        log += f"\n--- the page shows ({page.url}) ---\n{shown}"
        page.screenshot(path=str(ARTIFACTS / "sign-in-widget-webauthn-failed.png"))
        raise AssertionError(f"{error}\n--- browser traffic ---\n{log}") from None
    assert page.locator("#amr").inner_text() == "pwd, hwk, mfa"
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    assert credential["rpId"] == "localhost" and credential["signCount"] >= 2
    context.close()
