"""``/api/v1/users``: Okta's Users, User Lifecycle and User Credentials APIs."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.api import schemas
from app.api.admin_auth import require_api_token
from app.api.okta_render import group_json, link_headers, user_json
from app.api.runtime import context
from app.domain.errors import ValidationFailed
from app.services import groups, lifecycle, users

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Okta Users API (SSWS)")
blp.before_request(require_api_token)


@blp.route("", methods=["POST"])
@blp.arguments(schemas.CreateUserQuery, location="query", as_kwargs=True)
@blp.arguments(schemas.CreateUserSchema)
@blp.response(200, schemas.UserSchema)
def create_user(body: dict[str, Any], **query: Any) -> dict[str, Any]:
    """Create a user (``?activate=true|false``, ``nextLogin=changePassword``)."""
    ctx = context()
    user, _token = users.create_user(
        ctx,
        body["profile"],
        body.get("credentials"),
        body.get("groupIds", []),
        activate=query["activate"],
        next_login=query.get("nextLogin"),
    )
    return user_json(ctx, user)


@blp.route("", methods=["GET"])
@blp.arguments(schemas.ListQuery, location="query")
@blp.response(200, schemas.UserSchema(many=True))
def list_users(query: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """List users: ``q``, ``filter``, ``search``, ``limit`` and an ``after`` cursor."""
    ctx = context()
    page = users.list_users(
        ctx,
        q=query.get("q"),
        filter_=query.get("filter"),
        search=query.get("search"),
        after=query.get("after"),
        limit=query["limit"],
    )
    header = link_headers(ctx, "/api/v1/users", query, page)
    return [user_json(ctx, u, in_collection=True) for u in page.items], header


@blp.route("/<string:user_id>", methods=["GET"])
@blp.response(200, schemas.UserSchema)
def get_user(user_id: str) -> dict[str, Any]:
    """Get a user by id, login or login short name."""
    ctx = context()
    return user_json(ctx, users.get_user(ctx, user_id))


@blp.route("/<string:user_id>", methods=["POST"])
@blp.arguments(schemas.UpdateUserSchema, required=False)
@blp.response(200, schemas.UserSchema)
def update_user_partial(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Partial update: only the attributes given change."""
    ctx = context()
    return user_json(ctx, users.update_user(ctx, user_id, body, replace=False))


@blp.route("/<string:user_id>", methods=["PUT"])
@blp.arguments(schemas.ReplaceUserSchema)
@blp.response(200, schemas.UserSchema)
def update_user_full(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Full update: the profile is replaced."""
    ctx = context()
    return user_json(ctx, users.update_user(ctx, user_id, body, replace=True))


@blp.route("/<string:user_id>", methods=["DELETE"])
@blp.response(204)
def delete_user(user_id: str) -> tuple[str, int]:
    """First call deactivates; a second call on a DEPROVISIONED user deletes it."""
    lifecycle.delete(context(), user_id)
    return "", 204


@blp.route("/<string:user_id>/groups", methods=["GET"])
@blp.response(200, schemas.GroupSchema(many=True))
def user_groups(user_id: str) -> list[dict[str, Any]]:
    """The groups a user belongs to (always including Everyone)."""
    ctx = context()
    return [group_json(ctx, g) for g in groups.groups_of_user(ctx, user_id)]


# ---- lifecycle --------------------------------------------------------------


@blp.route("/<string:user_id>/lifecycle/activate", methods=["POST"])
@blp.arguments(schemas.SendEmailQuery, location="query")
@blp.response(200, schemas.LifecycleResultSchema)
def activate(query: dict[str, Any], user_id: str) -> dict[str, Any]:
    """STAGED/DEPROVISIONED → ACTIVE or PROVISIONED; ``sendEmail=false`` returns the token."""
    return lifecycle.activate(context(), user_id, send_email=query["sendEmail"])


@blp.route("/<string:user_id>/lifecycle/reactivate", methods=["POST"])
@blp.arguments(schemas.SendEmailQuery, location="query")
@blp.response(200, schemas.LifecycleResultSchema)
def reactivate(query: dict[str, Any], user_id: str) -> dict[str, Any]:
    """PROVISIONED: a new activation token."""
    return lifecycle.reactivate(context(), user_id, send_email=query["sendEmail"])


@blp.route("/<string:user_id>/lifecycle/deactivate", methods=["POST"])
@blp.response(200, schemas.LifecycleResultSchema)
def deactivate(user_id: str) -> dict[str, Any]:
    return lifecycle.deactivate(context(), user_id)


@blp.route("/<string:user_id>/lifecycle/suspend", methods=["POST"])
@blp.response(200, schemas.LifecycleResultSchema)
def suspend(user_id: str) -> dict[str, Any]:
    return lifecycle.suspend(context(), user_id)


@blp.route("/<string:user_id>/lifecycle/unsuspend", methods=["POST"])
@blp.response(200, schemas.LifecycleResultSchema)
def unsuspend(user_id: str) -> dict[str, Any]:
    return lifecycle.unsuspend(context(), user_id)


@blp.route("/<string:user_id>/lifecycle/unlock", methods=["POST"])
@blp.response(200, schemas.LifecycleResultSchema)
def unlock(user_id: str) -> dict[str, Any]:
    return lifecycle.unlock(context(), user_id)


@blp.route("/<string:user_id>/lifecycle/expire_password", methods=["POST"])
@blp.arguments(schemas.ExpirePasswordQuery, location="query")
@blp.response(200, schemas.ExpirePasswordResultSchema)
def expire_password(query: dict[str, Any], user_id: str) -> dict[str, Any]:
    """→ PASSWORD_EXPIRED; ``tempPassword=true`` answers ``{"tempPassword": …}``."""
    ctx = context()
    result = lifecycle.expire_password(ctx, user_id, temp_password=query["tempPassword"])
    if isinstance(result, str):
        return {"tempPassword": result}
    return user_json(ctx, result)


@blp.route("/<string:user_id>/lifecycle/reset_password", methods=["POST"])
@blp.arguments(schemas.SendEmailQuery, location="query")
@blp.response(200, schemas.LifecycleResultSchema)
def reset_password(query: dict[str, Any], user_id: str) -> dict[str, Any]:
    """→ RECOVERY; ``sendEmail=false`` returns ``resetPasswordUrl``."""
    return lifecycle.reset_password(context(), user_id, send_email=query["sendEmail"])


@blp.route("/<string:user_id>/lifecycle/reset_factors", methods=["POST"])
@blp.response(200, schemas.LifecycleResultSchema)
def reset_factors(user_id: str) -> dict[str, Any]:
    return lifecycle.reset_factors(context(), user_id)


# ---- credentials ------------------------------------------------------------


@blp.route("/<string:user_id>/credentials/change_password", methods=["POST"])
@blp.arguments(schemas.ChangePasswordSchema)
@blp.response(200, schemas.CredentialsSchema)
def change_password(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    return lifecycle.change_password(
        context(), user_id, body["oldPassword"]["value"], body["newPassword"]["value"]
    )


@blp.route("/<string:user_id>/credentials/change_recovery_question", methods=["POST"])
@blp.arguments(schemas.ChangeRecoveryQuestionSchema)
@blp.response(200, schemas.CredentialsSchema)
def change_recovery_question(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    question = body["recovery_question"]
    return lifecycle.change_recovery_question(
        context(), user_id, body["password"]["value"], question["question"], question["answer"]
    )


@blp.route("/<string:user_id>/credentials/forgot_password", methods=["POST"])
@blp.arguments(schemas.SendEmailQuery, location="query")
@blp.doc(requestBody={"content": {"application/json": {"schema": schemas.FORGOT_PASSWORD_SHAPES}}})
@blp.arguments(schemas.ForgotPasswordSchema, required=False)
@blp.response(200, schemas.ForgotPasswordResultSchema)
def forgot_password(query: dict[str, Any], body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Without a body: a recovery token (``resetPasswordUrl`` with ``sendEmail=false``).
    With ``password`` and ``recovery_question.answer``: set the password directly."""
    ctx = context()
    if body.get("password") or body.get("recovery_question"):
        if not (body.get("password") and body.get("recovery_question")):
            raise ValidationFailed(
                "recovery_question",
                ["recovery_question: Both password and recovery_question.answer are required"],
            )
        return lifecycle.forgot_password_with_answer(
            ctx, user_id, body["recovery_question"]["answer"], body["password"]["value"]
        )
    return lifecycle.forgot_password(ctx, user_id, send_email=query["sendEmail"])
