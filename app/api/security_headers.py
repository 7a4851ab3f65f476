"""Headers every response carries: HSTS when the server is served over https.

``Strict-Transport-Security`` tells a browser to use https only for this
host from now on, so a later visit cannot be downgraded to http and have its
``sid`` cookie or tokens read on the way. It is sent only when ``BASE_URL``
is https (over http a browser ignores it, and a development server on
``http://127.0.0.1`` must not be pinned), for ``HSTS_MAX_AGE`` seconds
(0 switches it off, e.g. when the TLS proxy in front already sends it).
"""

from __future__ import annotations

from flask import Flask, Response

from app.config import Settings

HSTS = "Strict-Transport-Security"


def register(app: Flask, settings: Settings) -> None:
    if not settings.base_url.lower().startswith("https://") or settings.hsts_max_age <= 0:
        return
    value = f"max-age={settings.hsts_max_age}"

    def add_hsts(response: Response) -> Response:
        response.headers.setdefault(HSTS, value)
        return response

    app.after_request(add_hsts)
