"""Per-client rate limit on /api/v1/authn*: Okta's headers, 429 E0000047."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.store import migrations
from tests.conftest import settings_for

WRONG = {"username": "nobody@example.com", "password": "not the password"}


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        folder = tmp_path / str(len(apps))
        folder.mkdir()
        app = create_app(replace(settings_for(folder), **overrides))
        migrations.upgrade(app.extensions["portcullis"].stores.database)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["portcullis"].stores.database.dispose()


def test_authn_answers_carry_okta_rate_limit_headers(make_app: Callable[..., Flask]) -> None:
    client = make_app(rate_limit_authn="5 per minute").test_client()
    first = client.post("/api/v1/authn", json=WRONG)
    assert first.status_code == 401
    assert first.headers["X-Rate-Limit-Limit"] == "5"
    assert first.headers["X-Rate-Limit-Remaining"] == "4"
    assert int(first.headers["X-Rate-Limit-Reset"]) > 1_700_000_000  # epoch seconds
    assert "Retry-After" not in first.headers  # only on a refusal, as Okta
    second = client.post("/api/v1/authn/cancel", json={"stateToken": "nope"})
    assert second.headers["X-Rate-Limit-Remaining"] == "3"  # one count for all /authn paths


def test_over_the_limit_is_429_e0000047_until_the_window_ends(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(rate_limit_authn="3 per minute").test_client()
    answers = [client.post("/api/v1/authn", json=WRONG) for _ in range(4)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429]
    refused = answers[-1]
    body = refused.get_json()
    assert body["errorCode"] == "E0000047"
    assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_each_client_address_has_its_own_count(make_app: Callable[..., Flask]) -> None:
    client = make_app(rate_limit_authn="1 per minute").test_client()
    assert client.post("/api/v1/authn", json=WRONG).status_code == 401
    assert client.post("/api/v1/authn", json=WRONG).status_code == 429
    elsewhere = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.post("/api/v1/authn", json=WRONG, environ_base=elsewhere).status_code == 401
    # Without a trusted proxy, X-Forwarded-For is the client's own say-so: ignored.
    spoofed = {"X-Forwarded-For": "198.51.100.1"}
    assert client.post("/api/v1/authn", json=WRONG, headers=spoofed).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(rate_limit_authn="1 per minute", trusted_proxy_count=1).test_client()

    def from_(address: str) -> int:
        headers = {"X-Forwarded-For": address}
        return int(client.post("/api/v1/authn", json=WRONG, headers=headers).status_code)

    assert [from_("198.51.100.1"), from_("198.51.100.1"), from_("198.51.100.2")] == [401, 429, 401]


def test_other_paths_and_preflights_are_not_limited(make_app: Callable[..., Flask]) -> None:
    client = make_app(rate_limit_authn="1 per minute").test_client()
    for _ in range(3):
        preflight = client.options(
            "/api/v1/authn",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code in (200, 204)
        health = client.get("/healthz")
        assert health.status_code == 200 and "X-Rate-Limit-Limit" not in health.headers
        users = client.get("/api/v1/users")
        assert users.status_code == 401 and "X-Rate-Limit-Limit" not in users.headers
    assert client.post("/api/v1/authn", json=WRONG).status_code == 401  # still its first


def test_off_switches_the_limit_off(make_app: Callable[..., Flask]) -> None:
    client = make_app(rate_limit_authn="off").test_client()
    answers = [client.post("/api/v1/authn", json=WRONG) for _ in range(5)]
    assert {r.status_code for r in answers} == {401}
    assert "X-Rate-Limit-Limit" not in answers[-1].headers


def test_a_malformed_limit_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_AUTHN"):
        create_app(replace(settings_for(tmp_path), rate_limit_authn="lots"))


def test_the_openapi_document_lists_the_429(make_app: Callable[..., Flask]) -> None:
    spec = make_app().test_client().get("/openapi.json").get_json()
    authn_posts = [item["post"] for path, item in spec["paths"].items() if "/api/v1/authn" in path]
    assert len(authn_posts) >= 17
    for operation in authn_posts:
        refused = operation["responses"]["429"]
        assert set(refused["headers"]) == {
            "X-Rate-Limit-Limit",
            "X-Rate-Limit-Remaining",
            "X-Rate-Limit-Reset",
            "Retry-After",
        }


def test_several_windows_each_count_and_the_shortest_shows(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(rate_limit_authn="3 per hour;2 per minute").test_client()
    answers = [client.post("/api/v1/authn", json=WRONG) for _ in range(3)]
    assert [r.status_code for r in answers] == [401, 401, 429]
    assert [r.headers["X-Rate-Limit-Limit"] for r in answers] == ["2", "2", "2"]
    assert [r.headers["X-Rate-Limit-Remaining"] for r in answers] == ["1", "0", "0"]
