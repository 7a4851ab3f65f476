"""``/api/v1/trustedOrigins``: Okta's Trusted Origins API (SSWS)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.api import schemas
from app.api.admin_auth import require_api_token
from app.api.okta_render import hinted, link_headers
from app.api.runtime import context
from app.domain import lengths
from app.domain.clock import okta_timestamp
from app.domain.origins import OriginStatus, TrustedOrigin
from app.services import trusted_origins
from app.services.context import Context
from app.services.users import Page

blp = Blueprint(
    "trusted_origins",
    __name__,
    url_prefix="/api/v1/trustedOrigins",
    description="Okta Trusted Origins API (SSWS): CORS and REDIRECT scopes",
)
blp.before_request(require_api_token)


class ScopeSchema(schemas.Lenient):
    type = fields.String(required=True, validate=validate.OneOf(["CORS", "REDIRECT"]))


class TrustedOriginIn(schemas.Lenient):
    name = schemas.bounded_string(lengths.TRUSTED_ORIGIN_NAME, metadata=schemas.NON_BLANK)
    origin = schemas.bounded_string(lengths.TRUSTED_ORIGIN, metadata=schemas.NON_BLANK)
    scopes = fields.List(fields.Dict())


class TrustedOriginSchema(schemas.Lenient):
    id = fields.String()
    name = fields.String()
    origin = fields.String()
    scopes = fields.List(fields.Nested(ScopeSchema))
    status = fields.String()
    created = fields.String()
    createdBy = fields.String()
    lastUpdated = fields.String()
    lastUpdatedBy = fields.String()
    links = fields.Dict(data_key="_links", attribute="_links")


class ListQuery(schemas.Lenient):
    after = schemas.cursor_field()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


def _actor() -> str:
    token = getattr(g, "api_token", None)
    return str(getattr(token, "id", "")) or "unknown"


def origin_json(ctx: Context, origin: TrustedOrigin) -> dict[str, Any]:
    base = ctx.url(f"/api/v1/trustedOrigins/{origin.id}")
    links: dict[str, Any] = {"self": hinted(base, "GET", "PUT", "DELETE")}
    if origin.active:
        links["deactivate"] = hinted(f"{base}/lifecycle/deactivate", "POST")
    else:
        links["activate"] = hinted(f"{base}/lifecycle/activate", "POST")
    return {
        "id": origin.id,
        "name": origin.name,
        "origin": origin.origin,
        "scopes": [{"type": s.value} for s in origin.scopes],
        "status": origin.status.value,
        "created": okta_timestamp(origin.created),
        "createdBy": origin.created_by,
        "lastUpdated": okta_timestamp(origin.last_updated),
        "lastUpdatedBy": origin.last_updated_by,
        "_links": links,
    }


@blp.route("", methods=["POST"])
@blp.arguments(TrustedOriginIn)
@blp.response(200, TrustedOriginSchema)
def create(body: dict[str, Any]) -> dict[str, Any]:
    """Trust an origin for CORS, REDIRECT or both."""
    ctx = context()
    return origin_json(ctx, trusted_origins.create(ctx, body, _actor()))


@blp.route("", methods=["GET"])
@blp.arguments(ListQuery, location="query")
@blp.response(200, TrustedOriginSchema(many=True))
def list_origins(query: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    ctx = context()
    found = trusted_origins.list_origins(ctx, query.get("after"), query["limit"])
    after = str(found[-1].seq) if len(found) == query["limit"] else None
    page = Page(items=found, next_after=after, limit=query["limit"])
    params = {"limit": query["limit"], "after": query.get("after")}
    headers = link_headers(ctx, "/api/v1/trustedOrigins", params, page)
    return [origin_json(ctx, o) for o in found], headers


@blp.route("/<string:origin_id>", methods=["GET"])
@blp.response(200, TrustedOriginSchema)
def get(origin_id: str) -> dict[str, Any]:
    ctx = context()
    return origin_json(ctx, trusted_origins.get(ctx, origin_id))


@blp.route("/<string:origin_id>", methods=["PUT"])
@blp.arguments(TrustedOriginIn)
@blp.response(200, TrustedOriginSchema)
def update(body: dict[str, Any], origin_id: str) -> dict[str, Any]:
    ctx = context()
    return origin_json(ctx, trusted_origins.update(ctx, origin_id, body, _actor()))


@blp.route("/<string:origin_id>", methods=["DELETE"])
@blp.response(204)
def delete(origin_id: str) -> tuple[str, int]:
    trusted_origins.delete(context(), origin_id)
    return "", 204


@blp.route("/<string:origin_id>/lifecycle/activate", methods=["POST"])
@blp.response(200, TrustedOriginSchema)
def activate(origin_id: str) -> dict[str, Any]:
    ctx = context()
    return origin_json(
        ctx, trusted_origins.set_status(ctx, origin_id, OriginStatus.ACTIVE, _actor())
    )


@blp.route("/<string:origin_id>/lifecycle/deactivate", methods=["POST"])
@blp.response(200, TrustedOriginSchema)
def deactivate(origin_id: str) -> dict[str, Any]:
    ctx = context()
    return origin_json(
        ctx, trusted_origins.set_status(ctx, origin_id, OriginStatus.INACTIVE, _actor())
    )
