"""``/api/v1/groups``: Okta's Groups API and group membership."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.api import schemas
from app.api.admin_auth import require_api_token
from app.api.okta_render import group_json, link_headers, user_json
from app.api.runtime import context
from app.services import groups

blp = Blueprint(
    "groups", __name__, url_prefix="/api/v1/groups", description="Okta Groups API (SSWS)"
)
blp.before_request(require_api_token)


class GroupListQuery(schemas.Lenient):
    q = schemas.expression_field("prefix of the group name")
    filter = schemas.expression_field("an Okta filter expression")
    after = schemas.cursor_field()
    limit = fields.Integer(load_default=10000, validate=validate.Range(min=1))


class MemberListQuery(schemas.Lenient):
    after = schemas.cursor_field()
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1))


@blp.route("", methods=["POST"])
@blp.arguments(schemas.GroupSchemaIn)
@blp.response(200, schemas.GroupSchema)
def create_group(body: dict[str, Any]) -> dict[str, Any]:
    ctx = context()
    return group_json(ctx, groups.create_group(ctx, body["profile"]))


@blp.route("", methods=["GET"])
@blp.arguments(GroupListQuery, location="query")
@blp.response(200, schemas.GroupSchema(many=True))
def list_groups(query: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """List groups: ``q`` (name prefix), ``filter``, ``limit``, ``after``."""
    ctx = context()
    page = groups.list_groups(
        ctx,
        q=query.get("q"),
        filter_=query.get("filter"),
        after=query.get("after"),
        limit=query["limit"],
    )
    header = link_headers(ctx, "/api/v1/groups", query, page)
    return [group_json(ctx, g) for g in page.items], header


@blp.route("/<string:group_id>", methods=["GET"])
@blp.response(200, schemas.GroupSchema)
def get_group(group_id: str) -> dict[str, Any]:
    ctx = context()
    return group_json(ctx, groups.get_group(ctx, group_id))


@blp.route("/<string:group_id>", methods=["PUT"])
@blp.arguments(schemas.GroupSchemaIn)
@blp.response(200, schemas.GroupSchema)
def update_group(body: dict[str, Any], group_id: str) -> dict[str, Any]:
    ctx = context()
    return group_json(ctx, groups.update_group(ctx, group_id, body["profile"]))


@blp.route("/<string:group_id>", methods=["DELETE"])
@blp.response(204)
def delete_group(group_id: str) -> tuple[str, int]:
    groups.delete_group(context(), group_id)
    return "", 204


@blp.route("/<string:group_id>/users", methods=["GET"])
@blp.arguments(MemberListQuery, location="query")
@blp.response(200, schemas.UserSchema(many=True))
def list_members(
    query: dict[str, Any], group_id: str
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    ctx = context()
    page = groups.list_members(ctx, group_id, after=query.get("after"), limit=query["limit"])
    header = link_headers(ctx, f"/api/v1/groups/{group_id}/users", query, page)
    return [user_json(ctx, u, in_collection=True) for u in page.items], header


@blp.route("/<string:group_id>/users/<string:user_id>", methods=["PUT"])
@blp.response(204)
def add_member(group_id: str, user_id: str) -> tuple[str, int]:
    groups.add_member(context(), group_id, user_id)
    return "", 204


@blp.route("/<string:group_id>/users/<string:user_id>", methods=["DELETE"])
@blp.response(204)
def remove_member(group_id: str, user_id: str) -> tuple[str, int]:
    groups.remove_member(context(), group_id, user_id)
    return "", 204
