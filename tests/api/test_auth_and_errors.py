"""SSWS authentication, the error object for every failure, health and OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from app.services import api_tokens, workos_mfa

ADMIN_ROUTES = [
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/00uanything"),
    ("POST", "/api/v1/users/00uanything/lifecycle/suspend"),
    ("GET", "/api/v1/groups"),
    ("DELETE", "/api/v1/groups/00ganything/users/00uanything"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize(
    "header",
    [None, "", "SSWS", "SSWS ", "Bearer 00abc", "SSWS not-a-token", "ssws lowercase"],
)
def test_admin_apis_need_a_valid_token(
    anonymous: Any, method: str, path: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    r = anonymous.request(method, path, headers=headers, json={})
    assert r.status_code == 401
    assert r.get_json()["errorCode"] == "E0000011"
    assert r.get_json()["errorSummary"] == "Invalid token provided"


def test_revoked_token_stops_working(app: Any, ctx: Any, anonymous: Any) -> None:
    token, value = api_tokens.create_token(ctx, "temp")
    headers = {"Authorization": f"SSWS {value}"}
    assert anonymous.get("/api/v1/users", headers=headers).status_code == 200
    assert api_tokens.revoke_token(ctx, token.id)
    r = anonymous.get("/api/v1/users", headers=headers)
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"


def _later(cache: Any, seconds: float) -> None:
    """Move a token cache's clock ``seconds`` on."""
    start = cache.clock()
    cache.clock = lambda: start + seconds


def test_a_token_revoked_by_another_process_is_refused_once_its_cache_entry_ends(
    ctx: Any, anonymous: Any
) -> None:
    """``flask revoke-token`` runs in a process of its own: a server process
    that found the token active trusts it API_TOKEN_CACHE_SECONDS at most."""
    token, value = api_tokens.create_token(ctx, "temp")
    headers = {"Authorization": f"SSWS {value}"}
    assert anonymous.get("/api/v1/users", headers=headers).status_code == 200
    with ctx.stores.unit_of_work() as uow:  # what the other process does
        assert uow.api_tokens.revoke(token.id, ctx.clock())
    cache = ctx.stores.api_token_cache
    assert cache.seconds == ctx.settings.api_token_cache_seconds == 2.0
    _later(cache, 1.9)
    assert anonymous.get("/api/v1/users", headers=headers).status_code == 200
    _later(cache, 2.0)
    r = anonymous.get("/api/v1/users", headers=headers)
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"


def test_a_workos_key_revoked_by_another_process_is_refused_once_its_cache_entry_ends(
    ctx: Any, anonymous: Any
) -> None:
    key, value = workos_mfa.create_api_key(ctx, "temp")
    headers = {"Authorization": f"Bearer {value}"}
    assert anonymous.get("/auth/factors/auth_factor_none", headers=headers).status_code == 404
    with ctx.stores.unit_of_work() as uow:
        assert uow.api_keys.revoke(key.id, ctx.clock())
    _later(ctx.stores.api_key_cache, 2.0)
    assert anonymous.get("/auth/factors/auth_factor_none", headers=headers).status_code == 401


def test_made_up_tokens_are_never_cached(ctx: Any, anonymous: Any) -> None:
    for i in range(20):
        headers = {"Authorization": f"SSWS 00made-up-{i}"}
        assert anonymous.get("/api/v1/users", headers=headers).status_code == 401
        headers = {"Authorization": f"Bearer sk_made_up_{i}"}
        assert anonymous.get("/auth/factors/auth_factor_x", headers=headers).status_code == 401
    assert len(ctx.stores.api_token_cache) == len(ctx.stores.api_key_cache) == 0


def test_token_use_is_recorded_and_listing_never_shows_the_secret(ctx: Any, api: Any) -> None:
    api.get("/api/v1/users")
    (token,) = api_tokens.list_tokens(ctx)
    assert token.last_used is not None
    assert api.token.endswith(token.token_window)
    assert not hasattr(token, "token_hash")


def test_wrong_method_is_405_e0000022(api: Any) -> None:
    r = api.request("PATCH", "/api/v1/users")
    assert r.status_code == 405
    assert r.get_json()["errorCode"] == "E0000022"


def test_unknown_path_is_json_404(api: Any) -> None:
    r = api.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.get_json()["errorCode"] == "E0000007"


def test_unexpected_errors_are_e0000009_json(app: Any, api: Any, monkeypatch: Any) -> None:
    from app.services import users

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(users, "get_user", boom)
    r = api.get("/api/v1/users/anyone")
    assert r.status_code == 500
    assert r.get_json()["errorCode"] == "E0000009"
    assert "kaboom" not in r.get_data(as_text=True)


def test_error_ids_are_unique(api: Any) -> None:
    a = api.get("/api/v1/users/00unope").get_json()["errorId"]
    b = api.get("/api/v1/users/00unope").get_json()["errorId"]
    assert a != b and a.startswith("oae")


def test_healthz_ok(anonymous: Any) -> None:
    r = anonymous.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_names_what_failed(anonymous: Any, ctx: Any, monkeypatch: Any) -> None:
    def down() -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ctx.stores.redis, "ping", down)
    r = anonymous.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["checks"] == {"database": "ok", "redis": "failed: ConnectionError"}


def test_openapi_and_swagger_ui(anonymous: Any) -> None:
    spec = anonymous.get("/openapi.json").get_json()
    assert spec["info"]["title"] == "Portcullis"
    paths = spec["paths"]
    for path in (
        "/api/v1/users",
        "/api/v1/users/{user_id}/lifecycle/suspend",
        "/api/v1/groups/{group_id}/users/{user_id}",
        "/healthz",
    ):
        assert path in paths
    assert spec["components"]["securitySchemes"]["SSWS"]["in"] == "header"
    ui = anonymous.get("/docs")
    assert ui.status_code == 200 and b"/docs/assets/swagger-ui-bundle.js" in ui.get_data()
    # the UI's assets are served by Portcullis itself, so /docs works offline
    bundle = anonymous.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.get_data()) > 100_000
    assert anonymous.get("/docs/assets/../../wsgi.py").status_code == 404


def test_healthz_reports_an_unmigrated_database(anonymous: Any, ctx: Any) -> None:
    from app.store import migrations

    migrations.downgrade(ctx.stores.database, "base")
    r = anonymous.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["database"].startswith("failed: schema at empty")


def test_the_openapi_document_declares_what_is_really_sent(anonymous: Any) -> None:
    """Validation is 400 on Okta's APIs (never webargs' 422), 422 in WorkOS's
    shape on /auth/*; public and cookie operations say so (issue 11)."""
    spec = anonymous.get("/openapi.json").get_json()
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    for path, method, op in operations:
        responses = op["responses"]
        if path.startswith("/auth/"):
            error = responses["422"]["content"]["application/json"]["schema"]["$ref"]
            assert error == "#/components/schemas/WorkOSError", (path, method)
            assert op["security"] == [{"WorkOSApiKey": []}], (path, method)
            continue
        assert "422" not in responses, (path, method)
        assert "400" in responses, (path, method)
        if method in ("post", "put", "patch"):
            assert "413" in responses, (path, method)
        public = op.get("security") == [] or path.startswith("/api/v1/sessions/me")
        if not public and path != "/api/v1/dev/outbox":
            assert "401" in responses, (path, method)
    by_path = {(path, method): op for path, method, op in operations}
    assert by_path[("/healthz", "get")]["security"] == []
    assert by_path[("/api/v1/sessions/me", "get")]["security"] == [{"sid": []}]
    assert by_path[("/api/v1/authn", "post")]["security"] == []
    assert by_path[("/api/v1/users", "get")].get("security") is None  # the global SSWS
    assert spec["security"] == [{"SSWS": []}]
    assert spec["components"]["securitySchemes"]["sid"]["in"] == "cookie"
