"""The sign-in page's routes: the HTML shell, its configuration and headers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest


def _config(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="config" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return dict(json.loads(match.group(1)))


@pytest.mark.parametrize(
    ("path", "mode", "token"),
    [
        ("/signin", "signin", None),
        ("/signin/reset-password/abc123", "recovery", "abc123"),
        ("/signin/unlock/xyz", "recovery", "xyz"),
        ("/welcome/tok-1", "activation", "tok-1"),
    ],
)
def test_pages_carry_their_mode_and_token(anonymous: Any, path: str, mode: str, token: Any) -> None:
    r = anonymous.get(path)
    assert r.status_code == 200 and r.mimetype == "text/html"
    config = _config(r.get_data(as_text=True))
    assert config["mode"] == mode and config["token"] == token
    assert config["redirectUrl"] == "http://portcullis.test/app"
    assert r.headers["Referrer-Policy"] == "no-referrer"  # tokens ride in these URLs
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"


def test_a_token_cannot_break_out_of_the_config_block(anonymous: Any) -> None:
    r = anonymous.get("/signin/reset-password/%3C!--%3Cscript%3Ealert(1)")
    html = r.get_data(as_text=True)
    assert "<!--<script>alert(1)" not in html  # every "<" of a value is escaped
    assert _config(html)["token"] == "<!--<script>alert(1)"


def test_assets_and_landing_page(anonymous: Any) -> None:
    for name, kind in (
        ("signin.js", "javascript"),
        ("signin.css", "css"),
        ("app.js", "javascript"),
    ):
        r = anonymous.get(f"/signin/assets/{name}")
        assert r.status_code == 200 and kind in r.mimetype
    assert anonymous.get("/signin/assets/index.html").status_code == 404
    assert anonymous.get("/signin/assets/..%2F..%2Fconfig.py").status_code == 404
    landing = anonymous.get("/app")
    assert landing.status_code == 200 and "You're signed in" in landing.get_data(as_text=True)
