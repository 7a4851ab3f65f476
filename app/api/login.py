"""``/login/sessionCookieRedirect``: a ``sessionToken`` becomes a session cookie.

The browser hand-off of the seed walkthrough: the sign-in page sends the
browser here with the one-time ``sessionToken`` and where to go next, in the
query string (Okta's GET, what okta-auth-js and the Sign-In Widget do) or in a
POSTed form (keeps the token out of URLs; ``SESSION_COOKIE_REDIRECT_GET=false``
leaves only this one). The redirect target must be this server or an active
trusted origin with the REDIRECT scope; anything else gets an error page, no
cookie, and the token is left unspent. Never an open redirect.
"""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response, redirect, request
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response as BaseResponse

from app.api.runtime import context
from app.api.schemas import NON_BLANK
from app.api.sessions import set_cookie
from app.domain.errors import ApiError, ValidationFailed
from app.domain.origins import Scope
from app.services import sessions, trusted_origins
from app.services.context import Context

blp = Blueprint("login", __name__, url_prefix="/login")
#: What an HTML form posts.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

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
    # The URL of this page may hold an unspent token (a refused redirect).
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _form_field(name: str) -> str:
    """One text field of the form body; 400 E0000001 when it is missing or repeated."""
    values = request.form.getlist(name)
    if len(values) > 1:
        raise ValidationFailed(name, [f"{name}: must be given exactly once"])
    if not values or not values[0].strip():
        raise ValidationFailed(name, [f"{name}: The field cannot be left blank"])
    return values[0]


def _post_form() -> tuple[str, str]:
    """``token`` and ``redirectUrl`` from a form body, the way an HTML form posts them."""
    if request.mimetype not in FORM_TYPES:
        raise ValidationFailed(
            "sessionCookieRedirect",
            [
                "The body must be a form (application/x-www-form-urlencoded) with token and "
                "redirectUrl"
            ],
        )
    return _form_field("token"), _form_field("redirectUrl")


@blp.route("/sessionCookieRedirect", methods=["GET", "POST"])
def session_cookie_redirect() -> BaseResponse:
    """Okta's GET (``?token=&redirectUrl=``), or the same fields as a POSTed form,
    which keeps the one-time ``sessionToken`` out of URLs (ASVS 3.1.1)."""
    ctx = context()
    if request.method == "POST":
        token, target = _post_form()
    elif not ctx.settings.session_cookie_redirect_get:
        raise ApiError(
            "E0000022",
            summary="The endpoint does not support the provided HTTP method: this server "
            "takes the sessionToken only in a POSTed form (SESSION_COOKIE_REDIRECT_GET=false).",
            headers={"Allow": "POST"},
        )
    else:
        token, target = request.args.get("token", ""), request.args.get("redirectUrl", "")
    return _hand_off(ctx, token, target)


#: The longest redirect target taken (what browsers and proxies reliably carry).
REDIRECT_URL_MAX_LENGTH = 2048


def _well_formed(target: str) -> bool:
    """A URL a ``Location`` header can carry: no control characters or spaces
    (a newline would split the header), and not absurdly long."""
    return len(target) <= REDIRECT_URL_MAX_LENGTH and all(" " < ch != "\x7f" for ch in target)


def _hand_off(ctx: Context, token: str, target: str) -> BaseResponse:
    # The target is checked, and the redirect built, before the token is
    # touched: a refused or malformed redirect leaves the token unspent, and
    # there is never an open redirect.
    if not _well_formed(target):
        return _error_page("The address to continue to is not a valid URL.", 400)
    if not trusted_origins.allows(ctx, target, Scope.REDIRECT):
        return _error_page(
            "The page that sent you here asked to continue to an address this server "
            "does not trust.",
            403,
        )
    response = redirect(iri_to_uri(target), code=302)  # Location is ASCII on the wire
    try:
        session = sessions.create(ctx, token)
    except ApiError:
        return _error_page(
            "This sign-in link has already been used or has expired. Please sign in again.",
            401,
        )
    assert session.cookie is not None
    set_cookie(ctx, response, session.cookie, session)
    response.headers["Cache-Control"] = "no-store"
    return response


#: The OpenAPI description of both forms (the blueprint is plain Flask: its
#: answers are a redirect and HTML pages, not JSON; app/api/__init__.py adds it).
_FORM_FIELDS = {
    "token": {
        "type": "string",
        **NON_BLANK,
        "description": "The one-time sessionToken of a SUCCESS answer",
    },
    "redirectUrl": {
        "type": "string",
        "format": "uri",
        "maxLength": REDIRECT_URL_MAX_LENGTH,
        "description": "Where to send the browser: this server's origin or an active trusted "
        "origin with the REDIRECT scope",
    },
}
_ANSWERS = {
    "400": {
        "description": "HTML error page: redirectUrl is not a URL a Location header can carry "
        "(a control character or space, or over 2048 characters); the token is not spent. "
        "A NUL in either field is 400 E0000001 (JSON), from the request-decoding step",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    "302": {
        "description": "The session cookie is set (sid, or SESSION_COOKIE_NAME); Location is "
        "redirectUrl",
    },
    "401": {
        "description": "HTML error page: the sessionToken is unknown, used or expired",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    "403": {
        "description": "HTML error page: redirectUrl is not trusted (the token is not spent)",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
}
OPENAPI_PATH = {
    "get": {
        "tags": ["login"],
        "summary": "Exchange a sessionToken for the session cookie (Okta's form, token in the URL)",
        "description": "Okta's browser hand-off. Answers 405 E0000022 when "
        "SESSION_COOKIE_REDIRECT_GET is false.",
        "security": [],
        "parameters": [
            {"in": "query", "name": name, "required": True, "schema": schema}
            for name, schema in _FORM_FIELDS.items()
        ],
        "responses": {
            **_ANSWERS,
            "405": {
                "description": "The GET form is switched off (E0000022); use POST",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/OktaError"}}
                },
            },
        },
    },
    "post": {
        "tags": ["login"],
        "summary": "Exchange a sessionToken for the session cookie (a form body, not the URL)",
        "description": "The same hand-off as GET with the fields in an HTML form's body, so "
        "the one-time sessionToken is not in a URL (server logs, history). Not in Okta's API.",
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["token", "redirectUrl"],
                        "properties": _FORM_FIELDS,
                    }
                }
            },
        },
        "responses": {
            **_ANSWERS,
            "400": {
                "description": "E0000001 (JSON): not a form, or token or redirectUrl missing or "
                "repeated. HTML error page: redirectUrl is not a URL a Location header can carry",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/OktaError"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            },
        },
    },
}
