"""Hostile input at the edge (issue 11, part 1): never a 5xx, never a write.

What someone who knows nothing, not even a username, could send to any
endpoint: NUL characters (which PostgreSQL's text columns cannot hold), lone
UTF-16 surrogates (which cannot be encoded, so cannot be hashed or looked
up), JSON nested a thousand levels deep, a header-splitting redirect target.
Each gets ``400 E0000001`` naming where it was (the WorkOS shape on
``/auth/*``), before authentication and before anything is read or written.
Every test here runs on SQLite + fakeredis and on PostgreSQL + Redis; the
NUL and surrogate cases gave 500s on PostgreSQL before the decoding step.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.services import workos_mfa
from tests.api.test_authn import LOGIN, sign_in
from tests.api.test_workos_mfa import WorkosClient
from tests.conftest import PASSWORD

NUL = "\u0000"
SURROGATE = "\ud800"


def _raw(client: Any, method: str, path: str, text: str, **kwargs: Any) -> Any:
    """Send ``text`` as the JSON body, exactly (json.dumps would escape it anyway)."""
    return client.request(
        method, path, data=text.encode("utf-8"), content_type="application/json", **kwargs
    )


def _json_with(value_json: str, field: str = "username", **others: str) -> str:
    """A body whose ``field`` is the raw JSON ``value_json`` (escapes kept as sent)."""
    parts = [f'"{field}": {value_json}'] + [f'"{k}": {json.dumps(v)}' for k, v in others.items()]
    return "{" + ", ".join(parts) + "}"


def _okta_400(r: Any, where: str | None = None) -> None:
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert body["errorCode"] == "E0000001", body
    if where is not None:
        assert body["errorSummary"] == f"Api validation failed: {where}", body
        assert body["errorCauses"][0]["errorSummary"].startswith(f"{where}: "), body


# ---- NUL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/users/%00",
        "/api/v1/users/abc%00def/factors",
        "/api/v1/groups/%00",
        "/api/v1/policies/%00/rules",
        "/api/v1/trustedOrigins/%00",
        "/api/v1/users/%00/factors/questions",  # reachable without a token
    ],
)
def test_a_nul_in_a_path_id_is_400(api: Any, anonymous: Any, path: str) -> None:
    _okta_400(api.get(path), "path")
    _okta_400(anonymous.get(path), "path")  # before authentication too


@pytest.mark.parametrize("query", ["q=a%00b", "filter=status%20eq%20%22%00%22", "after=%00"])
def test_a_nul_in_the_query_is_400(api: Any, query: str) -> None:
    name = query.split("=", 1)[0]
    _okta_400(api.get(f"/api/v1/users?{query}"), f"query.{name}")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/authn",
        "/api/v1/authn/recovery/password",
        "/api/v1/authn/recovery/unlock",
    ],
)
def test_a_nul_in_an_unauthenticated_body_is_400(anonymous: Any, path: str) -> None:
    r = _raw(anonymous, "POST", path, _json_with('"alice\\u0000@example.com"', password="x"))
    _okta_400(r, "username")


def test_a_nul_deep_in_a_body_is_400_and_writes_nothing(api: Any) -> None:
    before = api.get("/api/v1/users").get_json()
    body = (
        '{"profile": {"firstName": "Ada\\u0000", "lastName": "L", '
        '"email": "ada@example.com", "login": "ada@example.com"}}'
    )
    _okta_400(_raw(api, "POST", "/api/v1/users?activate=false", body), "profile.firstName")
    nested = '{"profile": {"login": "x@example.com", "tags": [["ok", "b\\u0000d"]]}}'
    _okta_400(_raw(api, "POST", "/api/v1/users", nested), "profile.tags[0][1]")
    assert api.get("/api/v1/users").get_json() == before


def test_a_nul_in_a_key_is_400(anonymous: Any) -> None:
    r = _raw(anonymous, "POST", "/api/v1/authn", '{"user\\u0000name": "a", "password": "b"}')
    _okta_400(r, "requestBody")
    assert "\x00" not in r.get_data(as_text=True)  # the cause does not echo it raw


def test_a_nul_in_a_form_field_is_400(anonymous: Any) -> None:
    r = anonymous.post(
        "/login/sessionCookieRedirect",
        data={"token": "abc\x00", "redirectUrl": "http://portcullis.test/app"},
    )
    _okta_400(r, "token")


# ---- lone surrogates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/authn", "username"),
        ("/api/v1/authn", "password"),
        ("/api/v1/authn", "stateToken"),
        ("/api/v1/authn/factors/abc/verify", "stateToken"),
        ("/api/v1/authn/cancel", "stateToken"),
        ("/api/v1/authn/recovery/token", "recoveryToken"),
        ("/api/v1/authn/recovery/password", "username"),
        ("/api/v1/sessions", "sessionToken"),
    ],
)
def test_a_lone_surrogate_is_400_not_a_crash(
    anonymous: Any, api: Any, path: str, field: str
) -> None:
    client = api if path == "/api/v1/sessions" else anonymous
    others = {"password": PASSWORD} if field == "username" else {}
    if field == "password":
        others = {"username": LOGIN}
    r = _raw(client, "POST", path, _json_with('"ab\\ud800cd"', field, **others))
    _okta_400(r, field)


def test_a_surrogate_pair_is_a_character_and_passes(anonymous: Any, make_user: Any) -> None:
    make_user()
    body = _json_with('"\\ud83d\\ude00"', "password", username=LOGIN)  # an emoji, escaped
    r = _raw(anonymous, "POST", "/api/v1/authn", body)
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000004", r.get_json()


# ---- numbers JSON cannot carry back ------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_number_json_cannot_carry_is_400_and_writes_nothing(api: Any, number: str) -> None:
    before = api.get("/api/v1/users").get_json()
    body = (
        '{"profile": {"firstName": "A", "lastName": "B", "email": "nan@example.com", '
        f'"login": "nan@example.com", "score": {number}}}}}'
    )
    _okta_400(_raw(api, "POST", "/api/v1/users?activate=false", body), "profile.score")
    assert api.get("/api/v1/users").get_json() == before


# ---- depth ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("path", ["/api/v1/authn", "/api/v1/users/abc", "/api/v1/no-such"])
def test_json_nested_a_thousand_levels_is_400_before_authentication(
    anonymous: Any, method: str, path: str
) -> None:
    deep = "[" * 1100 + "]" * 1100  # 2.2 KB
    _okta_400(_raw(anonymous, method, path, deep), "requestBody")
    object_deep = '{"a": ' * 40 + "1" + "}" * 40
    _okta_400(_raw(anonymous, method, path, object_deep), "requestBody")


def test_ordinary_nesting_is_untouched(api: Any) -> None:
    body = {"profile": {"login": "x@example.com"}, "credentials": {"password": {"value": "p"}}}
    r = api.post("/api/v1/users", json=body)
    assert r.status_code == 400  # refused by the schema (no names), not by the depth
    assert "requestBody" not in r.get_json()["errorSummary"]


# ---- WorkOS shape ----------------------------------------------------------------------


@pytest.fixture
def mfa(app: Any, ctx: Any) -> WorkosClient:
    _, key = workos_mfa.create_api_key(ctx, "tests")
    return WorkosClient(app.test_client(), key)


def test_the_workos_api_answers_in_its_own_shape(mfa: WorkosClient) -> None:
    text = '{"type": "totp", "totp_issuer": "Acme\\u0000", "totp_user": "a@example.com"}'
    r = mfa.post("/auth/factors/enroll", data=text, content_type="application/json")
    assert r.status_code == 422, r.get_data(as_text=True)
    body = r.get_json()
    assert body["code"] == "invalid_request_parameters"
    assert body["errors"][0]["field"] == "totp_issuer"
    r = mfa.request("GET", "/auth/factors/auth_factor_%00")
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "path"


# ---- the session cookie hand-off ---------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://portcullis.test/app\r\nSet-Cookie: evil=1",
        "http://portcullis.test/app\nx",
        "http://portcullis.test/a b",
        "http://portcullis.test/" + "a" * 3000,
    ],
)
def test_a_malformed_redirect_target_spends_nothing(
    anonymous: Any, make_user: Any, target: str
) -> None:
    make_user()
    token = sign_in(anonymous).get_json()["sessionToken"]
    r = anonymous.get(
        "/login/sessionCookieRedirect", query_string={"token": token, "redirectUrl": target}
    )
    assert r.status_code == 400 and r.mimetype == "text/html"
    assert "Set-Cookie" not in r.headers
    # The token was not spent: it still works with a good target.
    r = anonymous.get(
        "/login/sessionCookieRedirect",
        query_string={"token": token, "redirectUrl": "http://portcullis.test/app"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:200]


def test_a_non_ascii_redirect_target_is_sent_percent_encoded(
    anonymous: Any, make_user: Any
) -> None:
    make_user()
    token = sign_in(anonymous).get_json()["sessionToken"]
    r = anonymous.get(
        "/login/sessionCookieRedirect",
        query_string={"token": token, "redirectUrl": "http://portcullis.test/caf\u00e9?q=\u2603"},
    )
    assert r.status_code == 302
    assert r.headers["Location"] == "http://portcullis.test/caf%C3%A9?q=%E2%98%83"


# ---- SSWS as Okta's own SDK sends it ------------------------------------------------------


def test_ssws_without_a_space_is_accepted_as_okta_does(app: Any, admin_token: str) -> None:
    client = app.test_client()
    r = client.get("/api/v1/users", headers={"Authorization": f"SSWS{admin_token}"})
    assert r.status_code == 200, r.get_json()
    for header in ("SSWS", "SSWS ", "SSWSnot-a-token", f"Bearer {admin_token}", admin_token):
        r = client.get("/api/v1/users", headers={"Authorization": header})
        assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011", header


# ---- 405 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/authn", "OPTIONS, POST"),
        ("PATCH", "/api/v1/users", "GET, HEAD, OPTIONS, POST"),
        ("PUT", "/auth/challenges/abc/verify", "OPTIONS, POST"),
    ],
)
def test_a_405_says_which_methods_are_allowed(
    api: Any, method: str, path: str, allowed: str
) -> None:
    r = api.request(method, path)
    assert r.status_code == 405
    assert r.headers["Allow"] == allowed
    body = r.get_json()
    assert body.get("errorCode", "E0000022") == "E0000022"
