"""The sign-in page that ships with the server: ``/signin`` and the pages the
e-mailed links open (``/welcome/{token}``, ``/signin/reset-password/{token}``,
``/signin/unlock/{token}``), and ``/app``, a landing page showing the session.

Plain HTML and JavaScript from ``app/static/signin`` (no build step). The
page is a client of ``/api/v1/authn`` like any other; the only thing the
server adds is a small JSON configuration block.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

from app.api.runtime import context
from app.domain.origins import origin_of

ASSETS = Path(__file__).resolve().parent.parent / "static" / "signin"
ASSET_FILES = frozenset({"signin.js", "signin.css", "app.js"})
#: Tokens travel in these URLs: no referrer leaves the page, nothing frames it.
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action {form_action}"
)


def _form_action(redirect_url: str, base_url: str) -> str:
    """``form-action``: the sign-in page posts the sessionToken to
    /login/sessionCookieRedirect (this origin), which redirects to the
    configured target; browsers hold that redirect to form-action too, so a
    target on another origin is named beside 'self'."""
    target = origin_of(redirect_url)
    if target is None or target == origin_of(base_url):
        return "'self'"
    return f"'self' {target}"


blp = Blueprint("signin", __name__)


def _page(name: str, mode: str = "signin", token: str | None = None) -> Response:
    ctx = context()
    settings = ctx.settings
    redirect_url = settings.signin_redirect_url or settings.base_url + "/app"
    config = {
        "orgName": settings.org_name,
        "redirectUrl": redirect_url,
        "mode": mode,
        "token": token,
        # navigator.credentials.get needs the RP ID when it is a parent domain.
        "webauthnRpId": settings.webauthn_rp,
    }
    # JSON inside <script>: "<" escaped so no value can close the element.
    block = json.dumps(config).replace("<", "\\u003c")
    html = (ASSETS / name).read_text().replace("__CONFIG__", block)
    csp = CSP.format(form_action=_form_action(redirect_url, settings.base_url))
    headers = {**HEADERS, "Content-Security-Policy": csp}
    return Response(html, mimetype="text/html", headers=headers)


@blp.route("/signin", methods=["GET"])
def signin() -> Response:
    return _page("index.html")


@blp.route("/signin/reset-password/<string:token>", methods=["GET"])
@blp.route("/signin/unlock/<string:token>", methods=["GET"])
def recovery_link(token: str) -> Response:
    return _page("index.html", "recovery", token)


@blp.route("/welcome/<string:token>", methods=["GET"])
def activation_link(token: str) -> Response:
    return _page("index.html", "activation", token)


@blp.route("/app", methods=["GET"])
def landing() -> Response:
    return _page("app.html")


@blp.route("/signin/assets/<string:name>", methods=["GET"])
def asset(name: str) -> Response:
    if name not in ASSET_FILES:
        abort(404)
    response = send_from_directory(ASSETS, name, max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
