"""``/login/sessionCookieRedirect``: a ``sessionToken`` becomes a ``sid`` cookie.

The browser hand-off of the seed walkthrough: the sign-in page sends the
browser here with the one-time ``sessionToken`` and where to go next. The
redirect target must be this server or an active trusted origin with the
REDIRECT scope; anything else gets an error page, no cookie, and the token
is left unspent. Never an open redirect.
"""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from app.api.runtime import context
from app.api.sessions import set_cookie
from app.domain.errors import ApiError
from app.domain.origins import Scope
from app.services import sessions, trusted_origins

blp = Blueprint("login", __name__, url_prefix="/login")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in could not be completed</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f6fa;color:#1d2433;
display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}}
main{{background:#fff;border-radius:12px;box-shadow:0 4px 24px #0001;
padding:2rem 2.5rem;max-width:28rem}}
h1{{font-size:1.25rem;margin:0 0 .75rem}}
p{{line-height:1.5;margin:.5rem 0}} a{{color:#2855c5}}
</style></head>
<body><main role="alert"><h1>Sign-in could not be completed</h1>
<p>{message}</p><p><a href="/signin">Sign in again</a></p></main></body></html>
"""


def _error_page(message: str, status: int) -> Response:
    response = Response(PAGE.format(message=escape(message)), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/sessionCookieRedirect", methods=["GET"])
def session_cookie_redirect() -> BaseResponse:
    ctx = context()
    token = request.args.get("token", "")
    target = request.args.get("redirectUrl", "")
    if not target or not trusted_origins.allows(ctx, target, Scope.REDIRECT):
        return _error_page(
            "The page that sent you here asked to continue to an address this server "
            "does not trust.",
            403,
        )
    try:
        session = sessions.create(ctx, token)
    except ApiError:
        return _error_page(
            "This sign-in link has already been used or has expired. Please sign in again.",
            401,
        )
    response = redirect(target, code=302)
    assert session.cookie is not None
    set_cookie(ctx, response, session.cookie, session)
    response.headers["Cache-Control"] = "no-store"
    return response
