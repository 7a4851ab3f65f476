"""The OWASP ASVS 4.0.3 settings of docs/security.md: the session cookie's name
(``SESSION_COOKIE_NAME``, 3.4.4), the POST form of /login/sessionCookieRedirect
and ``SESSION_COOKIE_REDIRECT_GET`` (3.1.1), and the policy documents the page
tells an administrator to PUT (2.1.9, 2.1.10, 2.5.2)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.config import Settings
from app.services import api_tokens
from app.store import migrations
from tests.conftest import PASSWORD, OktaClient, profile, settings_for

LOGIN = "isaac.brock@example.com"
HTTPS = "https://id.example.com"
APP = "https://app.example.com"
HANDOFF = "/login/sessionCookieRedirect"


def session_token(client: Any, login: str = LOGIN) -> str:
    r = client.post("/api/v1/authn", json={"username": login, "password": PASSWORD})
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    return str(r.get_json()["sessionToken"])


def post_form(client: Any, token: str, target: str, **kwargs: Any) -> Any:
    return client.post(HANDOFF, data={"token": token, "redirectUrl": target}, **kwargs)


def set_cookie_headers(response: Any) -> list[str]:
    return list(response.headers.getlist("Set-Cookie"))


def cookie_value(header: str, name: str) -> str:
    match = re.match(rf"{re.escape(name)}=([^;]*)", header)
    assert match, header
    return match.group(1)


@pytest.fixture
def make_app(tmp_path: Path, clock: Any) -> Iterator[Any]:
    """``make_app(**settings)``: an app on the embedded backends with one user and
    an admin client; returns (app, admin, ctx)."""
    made: list[Any] = []

    def build(**overrides: Any) -> tuple[Flask, OktaClient, Any]:
        folder = tmp_path / str(len(made))
        folder.mkdir()
        application = create_app(settings_for(folder, **overrides), clock=clock)
        ctx = application.extensions["portcullis"]
        made.append(ctx)
        migrations.upgrade(ctx.stores.database)
        _, token = api_tokens.create_token(ctx, "t")
        admin = OktaClient(application.test_client(), token)
        r = admin.post(
            "/api/v1/users?activate=true",
            json={"profile": profile(LOGIN), "credentials": {"password": {"value": PASSWORD}}},
        )
        assert r.status_code == 200, r.get_json()
        return application, admin, ctx

    yield build
    for ctx in made:
        ctx.stores.database.dispose()


# ---- SESSION_COOKIE_NAME (ASVS 3.4.4) ------------------------------------------------------


def test_the_default_cookie_is_oktas_sid() -> None:
    settings = Settings()
    assert settings.session_cookie_name == "sid"
    assert settings.session_cookie_redirect_get is True


def test_settings_read_both_variables(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PORTCULLIS_INSTANCE": str(tmp_path),
            "SECRET_KEY": "s",
            "ENCRYPTION_KEY": "e",
            "BASE_URL": HTTPS,
            "SESSION_COOKIE_NAME": "__Host-sid",
            "SESSION_COOKIE_REDIRECT_GET": "false",
        }
    )
    assert settings.session_cookie_name == "__Host-sid"
    assert settings.session_cookie_redirect_get is False


@pytest.mark.parametrize("name", ["__Host-sid", "__host-sid", "__Secure-sid"])
@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080", "http://id.example.com"])
def test_a_prefixed_cookie_needs_https_or_the_server_does_not_start(
    tmp_path: Path, name: str, base_url: str
) -> None:
    env = {
        "PORTCULLIS_INSTANCE": str(tmp_path),
        "SECRET_KEY": "s",
        "ENCRYPTION_KEY": "e",
        "BASE_URL": base_url,
        "SESSION_COOKIE_NAME": name,
    }
    with pytest.raises(ValueError, match=r"SESSION_COOKIE_NAME .* needs an https BASE_URL"):
        Settings.from_env(env)
    with pytest.raises(ValueError, match="https"):
        settings_for(tmp_path, base_url=base_url, session_cookie_name=name)


@pytest.mark.parametrize("name", ["s id", "sid;", "sid=x", "", "séance", "a,b"])
def test_a_cookie_name_that_is_no_cookie_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="SESSION_COOKIE_NAME must be a cookie name"):
        settings_for(tmp_path, session_cookie_name=name)


def test_a_renamed_cookie_is_set_read_refreshed_and_cleared_under_its_name(
    make_app: Any,
) -> None:
    """Every place that touches the session cookie uses SESSION_COOKIE_NAME."""
    application, admin, _ = make_app(base_url=HTTPS, session_cookie_name="__Host-sid")
    browser = application.test_client()
    # Persistent cookie, so that a refresh sets it again.
    sign_on = admin.get("/api/v1/policies?type=OKTA_SIGN_ON").get_json()[0]
    (rule,) = admin.get(f"/api/v1/policies/{sign_on['id']}/rules").get_json()
    rule["actions"]["signon"]["session"]["usePersistentCookie"] = True
    r = admin.put(f"/api/v1/policies/{sign_on['id']}/rules/{rule['id']}", json=rule)
    assert r.status_code == 200, r.get_json()

    r = post_form(browser, session_token(browser), f"{HTTPS}/app")
    assert r.status_code == 302, r.data
    (header,) = set_cookie_headers(r)
    assert header.startswith("__Host-sid=")
    # What a browser demands of a __Host- cookie: Secure, Path=/, no Domain.
    assert "Secure" in header and "Path=/" in header and "Domain" not in header
    assert "HttpOnly" in header
    value = cookie_value(header, "__Host-sid")

    # Read: /api/v1/sessions/me by the new name only.
    browser.set_cookie("__Host-sid", value, domain="localhost")
    me = browser.get("/api/v1/sessions/me")
    assert me.status_code == 200, me.get_json()
    stranger = application.test_client()
    stranger.set_cookie("sid", value, domain="localhost")  # the right value, the old name
    assert stranger.get("/api/v1/sessions/me").status_code == 404
    # Refresh: the persistent cookie is written again under its name.
    refreshed = browser.post("/api/v1/sessions/me/lifecycle/refresh")
    assert refreshed.status_code == 200
    assert [h.split("=")[0] for h in set_cookie_headers(refreshed)] == ["__Host-sid"]
    # Sign-out clears it under its name.
    out = browser.delete("/api/v1/sessions/me")
    assert out.status_code == 204
    (cleared,) = set_cookie_headers(out)
    assert cleared.startswith("__Host-sid=;") and "Secure" in cleared and "Path=/" in cleared
    assert browser.get("/api/v1/sessions/me").status_code == 404


def test_factor_prompt_mode_session_reads_the_renamed_cookie(make_app: Any) -> None:
    """/api/v1/authn's factorPromptMode SESSION check finds the session by the
    configured name, and only by it."""
    application, admin, ctx = make_app(base_url=HTTPS, session_cookie_name="__Host-sid")
    user = admin.get(f"/api/v1/users/{LOGIN}").get_json()
    sign_on = admin.get("/api/v1/policies?type=OKTA_SIGN_ON").get_json()[0]
    (rule,) = admin.get(f"/api/v1/policies/{sign_on['id']}/rules").get_json()
    rule["actions"]["signon"].update(requireFactor=True, factorPromptMode="SESSION")
    assert (
        admin.put(f"/api/v1/policies/{sign_on['id']}/rules/{rule['id']}", json=rule).status_code
        == 200
    )
    # A live session of this user in which a factor was verified.
    record = {
        "user_id": user["id"],
        "login": LOGIN,
        "amr": ["pwd", "kba", "mfa"],
        "expires_at": "2026-01-15T11:30:00.000Z",
        "idle_seconds": 7200,
    }
    _, cookie = ctx.stores.sessions.create(record, 7200)
    body = {"username": LOGIN, "password": PASSWORD}

    renamed = application.test_client()
    renamed.set_cookie("__Host-sid", cookie, domain="localhost")
    assert renamed.post("/api/v1/authn", json=body).get_json()["status"] == "SUCCESS"
    old_name = application.test_client()
    old_name.set_cookie("sid", cookie, domain="localhost")
    assert old_name.post("/api/v1/authn", json=body).get_json()["status"] == "MFA_ENROLL"


# ---- POST /login/sessionCookieRedirect (ASVS 3.1.1) --------------------------------------


def test_the_post_form_sets_the_cookie_and_spends_the_token_once(
    app: Flask, make_user: Any
) -> None:
    make_user()
    browser = app.test_client()
    token = session_token(browser)
    r = post_form(browser, token, "http://portcullis.test/app?x=1")
    assert r.status_code == 302, r.data
    assert r.headers["Location"] == "http://portcullis.test/app?x=1"
    assert r.headers["Cache-Control"] == "no-store"
    (header,) = set_cookie_headers(r)
    assert header.startswith("sid=") and "HttpOnly" in header and "SameSite=Lax" in header
    assert browser.get("/api/v1/sessions/me").get_json()["login"] == LOGIN
    # Replayed by POST or by GET: refused, no cookie.
    again = post_form(browser, token, "http://portcullis.test/app")
    assert again.status_code == 401 and not set_cookie_headers(again)
    assert b"already been used" in again.data
    by_get = browser.get(
        HANDOFF, query_string={"token": token, "redirectUrl": "http://portcullis.test/"}
    )
    assert by_get.status_code == 401 and not set_cookie_headers(by_get)


def test_a_token_spent_by_get_cannot_be_replayed_by_post(app: Flask, make_user: Any) -> None:
    """Someone who copied the token out of a URL (a log, the history) after the
    browser used it gets nothing from the POST form either."""
    make_user()
    browser = app.test_client()
    token = session_token(browser)
    target = "http://portcullis.test/app"
    used = browser.get(HANDOFF, query_string={"token": token, "redirectUrl": target})
    assert used.status_code == 302
    thief = app.test_client()
    r = post_form(thief, token, target)
    assert r.status_code == 401 and not set_cookie_headers(r)
    assert thief.get("/api/v1/sessions/me").status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/",
        "javascript:alert(1)",
        "https://app.example.com.evil.com/",
        "/relative/path",
        "https://user:pass@portcullis.test/",
    ],
)
def test_the_post_form_refuses_untrusted_redirects_like_the_get(
    api: Any, app: Flask, make_user: Any, ctx: Any, target: str
) -> None:
    make_user()
    r = api.post(
        "/api/v1/trustedOrigins",
        json={"name": "App", "origin": APP, "scopes": [{"type": "CORS"}]},  # no REDIRECT
    )
    assert r.status_code == 200
    browser = app.test_client()
    token = session_token(browser)
    refused = post_form(browser, token, target)
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    assert "Location" not in refused.headers and not set_cookie_headers(refused)
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    # The refused hand-off did not spend the token.
    assert ctx.stores.session_tokens.consume(token) is not None


def test_the_post_form_redirects_to_a_redirect_trusted_origin(
    api: Any, app: Flask, make_user: Any
) -> None:
    make_user()
    body = {"name": "App", "origin": APP, "scopes": [{"type": "REDIRECT"}]}
    assert api.post("/api/v1/trustedOrigins", json=body).status_code == 200
    browser = app.test_client()
    r = post_form(browser, session_token(browser), f"{APP}/home")
    assert r.status_code == 302 and r.headers["Location"] == f"{APP}/home"


@pytest.mark.parametrize(
    ("kwargs", "cause"),
    [
        (
            {"data": {"redirectUrl": "http://portcullis.test/"}},
            "token: The field cannot be left blank",
        ),
        ({"data": {"token": "20111x"}}, "redirectUrl: The field cannot be left blank"),
        ({"data": {"token": " ", "redirectUrl": "http://portcullis.test/"}}, "token: The field"),
        (
            {"data": {"token": ["a", "b"], "redirectUrl": "http://portcullis.test/"}},
            "token: must be given exactly once",
        ),
        ({"json": {"token": "a", "redirectUrl": "http://portcullis.test/"}}, "must be a form"),
        ({"data": "{not json", "content_type": "application/json"}, "must be a form"),
        ({"data": "token=a", "content_type": "text/plain"}, "must be a form"),
        ({}, "must be a form"),
    ],
)
def test_a_post_that_is_not_the_form_is_a_400(
    app: Flask, kwargs: dict[str, Any], cause: str
) -> None:
    r = app.test_client().post(HANDOFF, **kwargs)
    assert r.status_code == 400, r.data
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert cause in body["errorCauses"][0]["errorSummary"]
    assert not set_cookie_headers(r)


def test_an_unknown_token_in_the_form_gets_the_401_page(app: Flask) -> None:
    r = post_form(app.test_client(), "20111" + "x" * 43, "http://portcullis.test/")
    assert r.status_code == 401 and r.mimetype == "text/html" and not set_cookie_headers(r)


def test_a_multipart_form_works_too(app: Flask, make_user: Any) -> None:
    make_user()
    browser = app.test_client()
    r = browser.post(
        HANDOFF,
        data={"token": session_token(browser), "redirectUrl": "http://portcullis.test/app"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.data


# ---- SESSION_COOKIE_REDIRECT_GET=false --------------------------------------------------


def test_get_switched_off_is_okta_405_and_leaves_the_token_unspent(make_app: Any) -> None:
    application, _, ctx = make_app(session_cookie_redirect_get=False)
    browser = application.test_client()
    token = session_token(browser)
    target = "http://portcullis.test/app"
    for method in ("GET", "HEAD"):
        r = browser.open(
            HANDOFF, method=method, query_string={"token": token, "redirectUrl": target}
        )
        assert r.status_code == 405, r.data
        assert r.headers["Allow"] == "POST"
        assert not set_cookie_headers(r)
    body = browser.get(HANDOFF, query_string={"token": token, "redirectUrl": target}).get_json()
    assert body["errorCode"] == "E0000022"
    assert body["errorSummary"].startswith("The endpoint does not support the provided HTTP method")
    # The token in that refused URL was not spent: the POST form still takes it, once.
    r = post_form(browser, token, target)
    assert r.status_code == 302 and set_cookie_headers(r)[0].startswith("sid=")
    assert ctx.stores.session_tokens.consume(token) is None


def test_get_is_served_by_default(app: Flask, make_user: Any) -> None:
    make_user()
    browser = app.test_client()
    r = browser.get(
        HANDOFF,
        query_string={"token": session_token(browser), "redirectUrl": "http://portcullis.test/"},
    )
    assert r.status_code == 302


def test_the_openapi_document_describes_both_forms(anonymous: Any) -> None:
    spec = anonymous.get("/openapi.json").get_json()
    path = spec["paths"]["/login/sessionCookieRedirect"]
    assert {p["name"] for p in path["get"]["parameters"]} == {"token", "redirectUrl"}
    assert "405" in path["get"]["responses"]
    form = path["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert form["schema"]["required"] == ["token", "redirectUrl"]
    assert {"302", "400", "401", "403"} <= set(path["post"]["responses"])
    assert path["post"]["security"] == []


# ---- the shipped /signin page hands the token over in a form ------------------------------


def test_signin_page_posts_the_token_and_allows_the_form_to_its_target(make_app: Any) -> None:
    application, _, _ = make_app(signin_redirect_url=f"{APP}/home")
    page = application.test_client().get("/signin")
    csp = page.headers["Content-Security-Policy"]
    # The form goes to this server, which redirects to SIGNIN_REDIRECT_URL: the
    # browser checks form-action on that redirect too.
    assert csp.endswith(f"form-action 'self' {APP}")
    script = application.test_client().get("/signin/assets/signin.js").get_data(as_text=True)
    assert 'method = "POST"' in script and 'searchParams.set("token"' not in script


def test_signin_page_form_action_is_self_for_the_default_target(anonymous: Any) -> None:
    csp = anonymous.get("/signin").headers["Content-Security-Policy"]
    assert csp.endswith("form-action 'self'")


# ---- the policy documents docs/security.md gives (ASVS 2.1.9, 2.1.10, 2.5.2) ---------------


DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def documented_json(marker: str) -> dict[str, Any]:
    """The JSON body that follows ``marker`` in docs/security.md (the page is the test input)."""
    text = DOC.read_text()
    start = text.index(marker)
    block = text[start:].split("```json\n", 1)[1].split("```", 1)[0]
    return dict(json.loads(block))


def default_policy(api: Any, kind: str) -> dict[str, Any]:
    (policy,) = [p for p in api.get(f"/api/v1/policies?type={kind}").get_json() if p["system"]]
    return dict(policy)


def test_the_documented_password_policy_lifts_composition_and_history(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    user = make_user()
    password_policy = default_policy(api, "PASSWORD")
    body = documented_json("<!-- asvs-password-policy -->")
    r = api.put(f"/api/v1/policies/{password_policy['id']}", json=body)
    assert r.status_code == 200, r.get_json()
    change = f"/api/v1/users/{user['id']}/credentials/change_password"

    def change_to(old: str, new: str) -> Any:
        return api.post(change, json={"oldPassword": {"value": old}, "newPassword": {"value": new}})

    # 2.1.9: no character classes, a long lower-case passphrase is fine.
    phrase = "purple lantern under quiet rivers"
    assert change_to(PASSWORD, phrase).status_code == 200
    # 2.1.10: no history, the previous password may come back.
    assert change_to(phrase, PASSWORD).status_code == 200
    # What stays: 12 characters (2.1.1) and no common password (2.1.7).
    short = change_to(PASSWORD, "abcdefghijk")
    assert short.status_code == 400
    common = change_to(PASSWORD, "password1234")
    assert common.status_code == 400
    # No periodic expiry: the password never expires, so sign-in succeeds.
    r = anonymous.post("/api/v1/authn", json={"username": LOGIN, "password": PASSWORD})
    assert r.get_json()["status"] == "SUCCESS"


def test_the_documented_policies_leave_no_security_question(
    api: Any, anonymous: Any, make_user: Any, outbox: Any
) -> None:
    """2.5.2: no recovery question in recovery, and no security-question factor
    offered for enrolment."""
    user = make_user()
    r = api.put(
        f"/api/v1/users/{user['id']}",
        json={
            "profile": profile(LOGIN),
            "credentials": {
                "recovery_question": {"question": "Who's a major player?", "answer": "Cowboy Dan"}
            },
        },
    )
    assert r.status_code == 200, r.get_json()
    password_policy = default_policy(api, "PASSWORD")
    body = documented_json("<!-- asvs-password-policy -->")
    assert api.put(f"/api/v1/policies/{password_policy['id']}", json=body).status_code == 200
    enroll_policy = default_policy(api, "MFA_ENROLL")
    body = documented_json("<!-- asvs-enroll-policy -->")
    assert api.put(f"/api/v1/policies/{enroll_policy['id']}", json=body).status_code == 200
    sign_on = default_policy(api, "OKTA_SIGN_ON")
    (rule,) = api.get(f"/api/v1/policies/{sign_on['id']}/rules").get_json()
    rule["actions"]["signon"]["requireFactor"] = True
    assert (
        api.put(f"/api/v1/policies/{sign_on['id']}/rules/{rule['id']}", json=rule).status_code
        == 200
    )

    # Enrolment at sign-in: the question is neither offered nor accepted.
    tx = anonymous.post("/api/v1/authn", json={"username": LOGIN, "password": PASSWORD})
    tx = tx.get_json()
    assert tx["status"] == "MFA_ENROLL"
    offered = {f["factorType"] for f in tx["_embedded"]["factors"]}
    assert "question" not in offered and "token:software:totp" in offered
    r = anonymous.post(
        "/api/v1/authn/factors",
        json={
            "stateToken": tx["stateToken"],
            "factorType": "question",
            "provider": "OKTA",
            "profile": {"question": "name_of_first_plush_toy", "answer": "Mr Bunny Rabbit"},
        },
    )
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001"

    # Forgot password by e-mail: the link leads straight to PASSWORD_RESET,
    # though the user has a recovery question.
    r = anonymous.post(
        "/api/v1/authn/recovery/password", json={"username": LOGIN, "factorType": "EMAIL"}
    )
    assert r.status_code == 200, r.get_json()
    (mail,) = outbox.messages(to=LOGIN)
    match = re.search(r"/signin/reset-password/([A-Za-z0-9_-]+)", mail.body)
    assert match
    r = anonymous.post("/api/v1/authn/recovery/token", json={"recoveryToken": match.group(1)})
    assert r.get_json()["status"] == "PASSWORD_RESET", r.get_json()
