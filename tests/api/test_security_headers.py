"""HSTS: sent on every answer when BASE_URL is https, never over plain http.

Without it, a user who once typed the host without ``https://`` (or an
attacker on the network who strips TLS) gets an http page, and the ``sid``
cookie or a token can be read on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.store import migrations
from tests.conftest import settings_for

HSTS = "Strict-Transport-Security"
PATHS = ["/api/v1/health", "/api/v1/no-such-path", "/signin", "/api/v1/users"]


def _app(tmp_path: Path, clock: Any, **settings: Any) -> Flask:
    tmp_path.mkdir(exist_ok=True)
    application = create_app(settings_for(tmp_path, **settings), clock=clock)
    migrations.upgrade(application.extensions["portcullis"].stores.database)
    return application


@pytest.mark.parametrize("path", PATHS)
def test_https_base_url_sends_hsts_on_every_answer(tmp_path: Path, clock: Any, path: str) -> None:
    client = _app(tmp_path, clock, base_url="https://id.example.com").test_client()
    assert client.get(path).headers[HSTS] == "max-age=31536000"
    r = client.post("/api/v1/authn", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401 and r.headers[HSTS] == "max-age=31536000"


@pytest.mark.parametrize("path", PATHS)
def test_http_base_url_sends_no_hsts(tmp_path: Path, clock: Any, path: str) -> None:
    client = _app(tmp_path, clock, base_url="http://127.0.0.1:8080").test_client()
    assert HSTS not in client.get(path).headers


def test_hsts_max_age_is_a_setting_and_zero_switches_it_off(tmp_path: Path, clock: Any) -> None:
    short = _app(tmp_path / "a", clock, base_url="https://id.example.com", hsts_max_age=300)
    assert short.test_client().get("/signin").headers[HSTS] == "max-age=300"
    off = _app(tmp_path / "b", clock, base_url="https://id.example.com", hsts_max_age=0)
    assert HSTS not in off.test_client().get("/signin").headers
