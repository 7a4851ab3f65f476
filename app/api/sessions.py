"""``/api/v1/sessions``: Okta's Sessions API.

Admin operations (by session id) need ``SSWS``; ``/api/v1/sessions/me``
works with the session cookie (``sid``, or ``SESSION_COOKIE_NAME``) a browser
got from ``/login/sessionCookieRedirect``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, after_this_request, request
from flask_smorest import Blueprint
from marshmallow import fields
from werkzeug.wrappers import Response as BaseResponse

from app.api import schemas
from app.api.admin_auth import require_api_token
from app.api.okta_render import hinted
from app.api.runtime import context
from app.domain.clock import okta_timestamp
from app.services import sessions
from app.services.context import Context
from app.services.sessions import Session

blp = Blueprint(
    "sessions", __name__, url_prefix="/api/v1/sessions", description="Okta Sessions API (SSWS)"
)
blp.before_request(require_api_token)

me_blp = Blueprint(
    "sessions_me",
    __name__,
    url_prefix="/api/v1/sessions/me",
    description="The caller's own session, by its sid cookie (no API token)",
)

user_sessions_blp = Blueprint(
    "user_sessions",
    __name__,
    url_prefix="/api/v1/users/<string:user_id>/sessions",
    description="End all of a user's sessions (SSWS)",
)
user_sessions_blp.before_request(require_api_token)


class CreateSessionSchema(schemas.Lenient):
    sessionToken = fields.String(required=True)


class SessionSchema(schemas.Lenient):
    id = fields.String()
    userId = fields.String()
    login = fields.String()
    createdAt = fields.String()
    expiresAt = fields.String()
    status = fields.String()
    lastPasswordVerification = fields.String(allow_none=True)
    lastFactorVerification = fields.String(allow_none=True)
    amr = fields.List(fields.String())
    idp = fields.Dict()
    mfaActive = fields.Boolean()
    links = fields.Dict(data_key="_links", attribute="_links")


def session_json(ctx: Context, session: Session, *, me: bool = False) -> dict[str, Any]:
    record = session.record
    base = ctx.url("/api/v1/sessions/me" if me else f"/api/v1/sessions/{session.id}")
    return {
        "id": session.id,
        "userId": record["user_id"],
        "login": record["login"],
        "createdAt": record["created_at"],
        "expiresAt": okta_timestamp(session.expires_at),
        "status": "ACTIVE",
        "lastPasswordVerification": record.get("last_password_verification"),
        "lastFactorVerification": record.get("last_factor_verification"),
        "amr": record.get("amr", []),
        "idp": {"id": sessions.idp_id(ctx), "type": "OKTA"},
        "mfaActive": bool(record.get("mfa_active")),
        "_links": {
            "self": hinted(base, "GET", "DELETE"),
            "refresh": hinted(f"{base}/lifecycle/refresh", "POST"),
            "user": {
                "name": record.get("name") or record["login"],
                **hinted(ctx.url(f"/api/v1/users/{record['user_id']}"), "GET"),
            },
        },
    }


# ---- admin: by session id ------------------------------------------------------------------


@blp.route("", methods=["POST"])
@blp.arguments(CreateSessionSchema)
@blp.response(200, SessionSchema)
def create_session(body: dict[str, Any]) -> dict[str, Any]:
    """Redeem a one-time sessionToken for a session (server-side apps)."""
    ctx = context()
    return session_json(ctx, sessions.create(ctx, body["sessionToken"]))


@blp.route("/<string:session_id>", methods=["GET"])
@blp.response(200, SessionSchema)
def get_session(session_id: str) -> dict[str, Any]:
    ctx = context()
    return session_json(ctx, sessions.get(ctx, session_id))


@blp.route("/<string:session_id>", methods=["DELETE"])
@blp.response(204)
def end_session(session_id: str) -> tuple[str, int]:
    ctx = context()
    sessions.end(ctx, sessions.get(ctx, session_id))
    return "", 204


@blp.route("/<string:session_id>/lifecycle/refresh", methods=["POST"])
@blp.response(200, SessionSchema)
def refresh_session(session_id: str) -> dict[str, Any]:
    """Extend the idle timeout (never past the absolute lifetime)."""
    ctx = context()
    return session_json(ctx, sessions.refresh(ctx, sessions.get(ctx, session_id)))


@user_sessions_blp.route("", methods=["DELETE"])
@user_sessions_blp.response(204)
def end_user_sessions(user_id: str) -> tuple[str, int]:
    """End every session of the user."""
    from app.services.users import get_user

    ctx = context()
    user = get_user(ctx, user_id)  # 404 for an unknown user
    sessions.end_all_for_user(ctx, user.id)
    return "", 204


# ---- the caller's own session, by cookie ---------------------------------------------------


@me_blp.route("", methods=["GET"])
@me_blp.doc(security=[])
@me_blp.response(200, SessionSchema)
def get_my_session() -> dict[str, Any]:
    """The session of the ``sid`` cookie; 404 E0000007 without one."""
    ctx = context()
    return session_json(ctx, sessions.me(ctx, session_cookie(ctx)), me=True)


@me_blp.route("", methods=["DELETE"])
@me_blp.doc(security=[])
@me_blp.response(204)
def end_my_session() -> Response:
    """Sign out: end the session and clear the cookie."""
    ctx = context()
    sessions.end(ctx, sessions.me(ctx, session_cookie(ctx)))
    response = Response(status=204)
    clear_cookie(ctx, response)
    return response


@me_blp.route("/lifecycle/refresh", methods=["POST"])
@me_blp.doc(security=[])
@me_blp.response(200, SessionSchema)
def refresh_my_session() -> dict[str, Any]:
    ctx = context()
    cookie = session_cookie(ctx)
    session = sessions.refresh(ctx, sessions.me(ctx, cookie))
    if cookie and session.record.get("persistent_cookie"):  # its expiry moves too

        @after_this_request
        def extend(response: Response) -> Response:
            set_cookie(ctx, response, cookie, session)
            return response

    return session_json(ctx, session, me=True)


# ---- the cookie ------------------------------------------------------------------------------


def session_cookie(ctx: Context) -> str | None:
    """The session cookie the browser sent (``SESSION_COOKIE_NAME``, ``sid`` by default).

    Every place that sets, reads or clears the cookie goes through this module,
    so a renamed cookie (``__Host-sid``) is honoured everywhere."""
    return request.cookies.get(ctx.settings.session_cookie_name)


def set_cookie(
    ctx: Context, response: BaseResponse, value: str, session: sessions.Session | None = None
) -> None:
    """``sid`` (or ``SESSION_COOKIE_NAME``): HttpOnly, Secure on https, SameSite
    as configured, Path=/, no Domain (what a ``__Host-`` name needs). A
    browser-session cookie, unless the sign-on rule asked for a persistent
    one (``usePersistentCookie``): then it expires with the session."""
    max_age = None
    if session is not None and session.record.get("persistent_cookie"):
        max_age = max(int((session.expires_at - ctx.clock()).total_seconds()), 1)
    response.set_cookie(
        ctx.settings.session_cookie_name,
        value,
        max_age=max_age,
        httponly=True,
        secure=ctx.settings.base_url.startswith("https://"),
        samesite=ctx.settings.session_cookie_samesite,
        path="/",
    )


def clear_cookie(ctx: Context, response: BaseResponse) -> None:
    response.delete_cookie(
        ctx.settings.session_cookie_name,
        path="/",
        httponly=True,
        secure=ctx.settings.base_url.startswith("https://"),
        samesite=ctx.settings.session_cookie_samesite,
    )
