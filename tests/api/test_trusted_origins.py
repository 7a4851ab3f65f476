"""Trusted origins, the CORS grant they drive, and /login/sessionCookieRedirect."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD

LOGIN = "isaac.brock@example.com"
APP = "https://app.example.com"


def trust(api: Any, origin: str = APP, *scopes: str, name: str = "App") -> dict[str, Any]:
    body = {
        "name": name,
        "origin": origin,
        "scopes": [{"type": s} for s in scopes or ("CORS", "REDIRECT")],
    }
    r = api.post("/api/v1/trustedOrigins", json=body)
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def session_token(client: Any) -> str:
    r = client.post("/api/v1/authn", json={"username": LOGIN, "password": PASSWORD})
    return str(r.get_json()["sessionToken"])


# ---- the Trusted Origins API ---------------------------------------------------------------


def test_create_get_update_lifecycle_delete(api: Any, admin_token: str) -> None:
    created = trust(api, "HTTPS://App.Example.com:443/")
    assert created["id"].startswith("tos")
    assert created["origin"] == APP  # canonical form
    assert created["scopes"] == [{"type": "CORS"}, {"type": "REDIRECT"}]
    assert created["status"] == "ACTIVE"
    assert created["createdBy"] and created["lastUpdatedBy"] == created["createdBy"]
    base = f"http://portcullis.test/api/v1/trustedOrigins/{created['id']}"
    assert created["_links"] == {
        "self": {"href": base, "hints": {"allow": ["GET", "PUT", "DELETE"]}},
        "deactivate": {"href": f"{base}/lifecycle/deactivate", "hints": {"allow": ["POST"]}},
    }
    assert api.get(f"/api/v1/trustedOrigins/{created['id']}").get_json() == created
    r = api.put(
        f"/api/v1/trustedOrigins/{created['id']}",
        json={"name": "Renamed", "origin": "http://localhost:3000", "scopes": [{"type": "CORS"}]},
    )
    assert r.status_code == 200
    assert r.get_json()["origin"] == "http://localhost:3000"
    assert r.get_json()["scopes"] == [{"type": "CORS"}]
    off = api.post(f"/api/v1/trustedOrigins/{created['id']}/lifecycle/deactivate").get_json()
    assert off["status"] == "INACTIVE" and "activate" in off["_links"]
    on = api.post(f"/api/v1/trustedOrigins/{created['id']}/lifecycle/activate").get_json()
    assert on["status"] == "ACTIVE"
    assert [o["id"] for o in api.get("/api/v1/trustedOrigins").get_json()] == [created["id"]]
    assert api.delete(f"/api/v1/trustedOrigins/{created['id']}").status_code == 204
    missing = api.get(f"/api/v1/trustedOrigins/{created['id']}")
    assert missing.status_code == 404 and missing.get_json()["errorCode"] == "E0000007"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "origin": "https://a.example.com/path", "scopes": [{"type": "CORS"}]},
        {"name": "x", "origin": "ftp://a.example.com", "scopes": [{"type": "CORS"}]},
        {"name": "x", "origin": "https://user:pw@a.example.com", "scopes": [{"type": "CORS"}]},
        {"name": "x", "origin": "https://a.example.com", "scopes": []},
        {"name": "x", "origin": "https://a.example.com", "scopes": [{"type": "IFRAME"}]},
        {"name": "", "origin": "https://a.example.com", "scopes": [{"type": "CORS"}]},
        {"name": "x", "scopes": [{"type": "CORS"}]},
        {"name": "x", "origin": "https://a.example.com:99999", "scopes": [{"type": "CORS"}]},
    ],
)
def test_bad_origins_are_refused(api: Any, body: dict[str, Any]) -> None:
    r = api.post("/api/v1/trustedOrigins", json=body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["errorCode"] == "E0000001"
    assert r.get_json()["errorCauses"]
    assert api.get("/api/v1/trustedOrigins").get_json() == []


def test_duplicate_origin_is_refused(api: Any) -> None:
    trust(api)
    r = api.post(
        "/api/v1/trustedOrigins",
        json={"name": "again", "origin": "https://APP.example.com", "scopes": [{"type": "CORS"}]},
    )
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001"


def test_trusted_origins_api_needs_a_token(anonymous: Any) -> None:
    assert anonymous.get("/api/v1/trustedOrigins").status_code == 401


# ---- CORS ----------------------------------------------------------------------------------


def preflight(
    client: Any, origin: str, headers: str = "content-type, x-okta-user-agent-extended"
) -> Any:
    return client.options(
        "/api/v1/authn",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_cors_only_for_active_cors_scoped_origins(api: Any, app: Any, make_user: Any) -> None:
    make_user()
    trust(api, APP, "CORS")
    redirect_only = trust(api, "https://other.example.com", "REDIRECT", name="Other")
    browser = app.test_client()
    ok = preflight(browser, APP)
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == APP
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert "x-okta-user-agent-extended" in ok.headers["Access-Control-Allow-Headers"]
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    r = browser.post(
        "/api/v1/authn", json={"username": LOGIN, "password": PASSWORD}, headers={"Origin": APP}
    )
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in r.headers["Vary"]
    # The page may read the rate limit's headers (and Retry-After when refused).
    exposed = {h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "Retry-After"} <= exposed
    assert r.headers["X-Rate-Limit-Remaining"].isdigit()
    for stranger in ("https://evil.example.com", redirect_only["origin"], "null"):
        denied = preflight(browser, stranger)
        assert "Access-Control-Allow-Origin" not in denied.headers
        r = browser.post(
            "/api/v1/authn",
            json={"username": LOGIN, "password": PASSWORD},
            headers={"Origin": stranger},
        )
        assert "Access-Control-Allow-Origin" not in r.headers
    odd = preflight(browser, APP, headers="x-something-else")
    assert "Access-Control-Allow-Origin" not in odd.headers
    # Inactive origins lose the grant.
    origin_id = api.get("/api/v1/trustedOrigins").get_json()[0]["id"]
    api.post(f"/api/v1/trustedOrigins/{origin_id}/lifecycle/deactivate")
    assert "Access-Control-Allow-Origin" not in preflight(browser, APP).headers


def test_admin_apis_get_no_cors_grant(api: Any, app: Any) -> None:
    trust(api, APP, "CORS")
    r = app.test_client().options(
        "/api/v1/users", headers={"Origin": APP, "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in r.headers


# ---- /login/sessionCookieRedirect ------------------------------------------------------------


def test_session_cookie_redirect_sets_sid_and_redirects(api: Any, app: Any, make_user: Any) -> None:
    make_user()
    trust(api, APP, "REDIRECT")
    browser = app.test_client()
    token = session_token(browser)
    r = browser.get(
        "/login/sessionCookieRedirect",
        query_string={"token": token, "redirectUrl": f"{APP}/home?x=1"},
    )
    assert r.status_code == 302
    assert r.headers["Location"] == f"{APP}/home?x=1"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("sid=")
    assert "HttpOnly" in cookie and "Path=/" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # BASE_URL is http in tests
    me = browser.get("/api/v1/sessions/me")
    assert me.status_code == 200, me.get_json()
    assert me.get_json()["login"] == LOGIN
    # The token was one-time.
    again = browser.get(
        "/login/sessionCookieRedirect", query_string={"token": token, "redirectUrl": APP}
    )
    assert again.status_code == 401 and "Set-Cookie" not in again.headers
    assert b"already been used" in again.data


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/",
        "javascript:alert(1)",
        "https://app.example.com.evil.com/",
        "",
        "/relative/path",
    ],
)
def test_untrusted_redirects_get_an_error_page_and_keep_the_token(
    api: Any, app: Any, make_user: Any, ctx: Any, target: str
) -> None:
    make_user()
    trust(api, APP, "CORS")  # CORS scope alone does not allow redirects
    browser = app.test_client()
    token = session_token(browser)
    r = browser.get(
        "/login/sessionCookieRedirect", query_string={"token": token, "redirectUrl": target}
    )
    assert r.status_code == 403
    assert "Location" not in r.headers and "Set-Cookie" not in r.headers
    assert r.mimetype == "text/html"
    # The refused hand-off did not spend the token.
    assert ctx.stores.session_tokens.consume(token) is not None


def test_redirect_to_this_server_is_allowed(app: Any, make_user: Any) -> None:
    make_user()
    browser = app.test_client()
    token = session_token(browser)
    r = browser.get(
        "/login/sessionCookieRedirect",
        query_string={"token": token, "redirectUrl": "http://portcullis.test/signin/done"},
    )
    assert r.status_code == 302


def test_https_base_url_makes_the_cookie_secure(tmp_path: Any, clock: Any) -> None:
    from app import create_app
    from app.services import api_tokens
    from app.store import migrations
    from tests.conftest import OktaClient, profile, settings_for

    application = create_app(settings_for(tmp_path, base_url="https://id.example.com"), clock=clock)
    ctx = application.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "t")
    admin = OktaClient(application.test_client(), token)
    admin.post(
        "/api/v1/users?activate=true",
        json={"profile": profile(LOGIN), "credentials": {"password": {"value": PASSWORD}}},
    )
    browser = application.test_client()
    r = browser.get(
        "/login/sessionCookieRedirect",
        query_string={"token": session_token(browser), "redirectUrl": "https://id.example.com/"},
    )
    assert r.status_code == 302
    assert "Secure" in r.headers["Set-Cookie"]
    ctx.stores.database.dispose()
