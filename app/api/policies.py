"""``/api/v1/policies``: Okta's Policy API for PASSWORD, MFA_ENROLL and
OKTA_SIGN_ON policies and their rules (SSWS)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.api import schemas
from app.api.admin_auth import require_api_token
from app.api.okta_render import hinted
from app.api.runtime import context
from app.domain import lengths
from app.domain.clock import okta_timestamp
from app.domain.policy import PolicyDoc, PolicyType, RuleDoc
from app.services import policies
from app.services.context import Context

blp = Blueprint(
    "policies",
    __name__,
    url_prefix="/api/v1/policies",
    description="Okta Policy API (SSWS): password, MFA enrollment and sign-on policies",
)
blp.before_request(require_api_token)


POLICY_TYPES = [t.value for t in PolicyType]
#: ``priority``: the service checks it (a whole number from 1; null: last).
PRIORITY_DOC: dict[str, Any] = {"type": "integer", "minimum": 1, "nullable": True}


class ListQuery(schemas.Lenient):
    type = fields.String(
        required=True,
        error_messages={"required": "The type query parameter is required"},
        metadata={"description": "PASSWORD, MFA_ENROLL or OKTA_SIGN_ON", "enum": POLICY_TYPES},
    )
    status = fields.String(validate=validate.OneOf(["ACTIVE", "INACTIVE"]))


class ExpandQuery(schemas.Lenient):
    expand = fields.String(validate=validate.OneOf(["rules"]))


class ActivateQuery(schemas.Lenient):
    activate = fields.Boolean(load_default=True)


class PolicyIn(schemas.Lenient):
    type = fields.String(metadata={"enum": POLICY_TYPES})
    name = schemas.bounded_string(lengths.POLICY_NAME, metadata=schemas.NON_BLANK)
    description = fields.String(allow_none=True)
    priority = fields.Raw(allow_none=True, metadata=PRIORITY_DOC)
    conditions = fields.Raw(allow_none=True)
    settings = fields.Raw(allow_none=True)


class RuleIn(schemas.Lenient):
    type = fields.String()
    name = schemas.bounded_string(lengths.POLICY_NAME, metadata=schemas.NON_BLANK)
    priority = fields.Raw(allow_none=True, metadata=PRIORITY_DOC)
    conditions = fields.Raw(allow_none=True)
    actions = fields.Raw(allow_none=True)


class PolicySchema(schemas.Lenient):
    id = fields.String()
    type = fields.String()
    status = fields.String()
    name = fields.String()
    description = fields.String()
    priority = fields.Integer()
    system = fields.Boolean()
    conditions = fields.Dict()
    settings = fields.Dict()
    created = fields.String()
    lastUpdated = fields.String()
    links = fields.Dict(data_key="_links", attribute="_links")
    embedded = fields.Dict(data_key="_embedded", attribute="_embedded")


class RuleSchema(schemas.Lenient):
    id = fields.String()
    type = fields.String()
    status = fields.String()
    name = fields.String()
    priority = fields.Integer()
    system = fields.Boolean()
    conditions = fields.Dict()
    actions = fields.Dict()
    created = fields.String()
    lastUpdated = fields.String()
    links = fields.Dict(data_key="_links", attribute="_links")


def _lifecycle_links(base: str, status: str, system: bool) -> dict[str, Any]:
    """``self`` plus ``activate`` or ``deactivate``. A system policy or rule can
    be neither deleted nor deactivated, so its links offer neither."""
    if system:
        return {"self": hinted(base, "GET", "PUT")}
    links = {"self": hinted(base, "GET", "PUT", "DELETE")}
    if status == "ACTIVE":
        links["deactivate"] = hinted(f"{base}/lifecycle/deactivate", "POST")
    else:
        links["activate"] = hinted(f"{base}/lifecycle/activate", "POST")
    return links


def policy_json(
    ctx: Context, policy: PolicyDoc, rules: list[RuleDoc] | None = None
) -> dict[str, Any]:
    """A policy in the shape of Okta's Policy object; ``rules`` (for
    ``?expand=rules``) go in ``_embedded.rules``."""
    base = ctx.url(f"/api/v1/policies/{policy.id}")
    links = _lifecycle_links(base, policy.status, policy.system)
    links["rules"] = hinted(f"{base}/rules", "GET", "POST")
    body: dict[str, Any] = {
        "id": policy.id,
        "status": policy.status,
        "name": policy.name,
        "description": policy.description,
        "priority": policy.priority,
        "system": policy.system,
        "conditions": policy.conditions,
        "created": okta_timestamp(policy.created),
        "lastUpdated": okta_timestamp(policy.last_updated),
        "settings": policy.settings,
        "_links": links,
        "type": policy.type.value,
    }
    if rules is not None:
        body["_embedded"] = {"rules": [rule_json(ctx, r) for r in rules]}
    return body


def rule_json(ctx: Context, rule: RuleDoc) -> dict[str, Any]:
    """A rule in the shape of Okta's Rules object."""
    base = ctx.url(f"/api/v1/policies/{rule.policy_id}/rules/{rule.id}")
    return {
        "id": rule.id,
        "status": rule.status,
        "name": rule.name,
        "priority": rule.priority,
        "created": okta_timestamp(rule.created),
        "lastUpdated": okta_timestamp(rule.last_updated),
        "system": rule.system,
        "conditions": rule.conditions,
        "actions": rule.actions,
        "_links": _lifecycle_links(base, rule.status, rule.system),
        "type": rule.type,
    }


@blp.route("", methods=["GET"])
@blp.arguments(ListQuery, location="query")
@blp.response(200, PolicySchema(many=True))
def list_policies(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The policies of one type (``type`` is required), by priority."""
    ctx = context()
    found = policies.list_policies(ctx, query.get("type"), query.get("status"))
    return [policy_json(ctx, p) for p in found]


@blp.route("", methods=["POST"])
@blp.arguments(ActivateQuery, location="query")
@blp.arguments(PolicyIn)
@blp.response(200, PolicySchema)
def create_policy(query: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    ctx = context()
    return policy_json(ctx, policies.create_policy(ctx, body, activate=query["activate"]))


@blp.route("/<string:policy_id>", methods=["GET"])
@blp.arguments(ExpandQuery, location="query")
@blp.response(200, PolicySchema)
def get_policy(query: dict[str, Any], policy_id: str) -> dict[str, Any]:
    """A policy; with ``?expand=rules`` its rules too, in ``_embedded.rules``."""
    ctx = context()
    if query.get("expand") == "rules":
        policy, rules = policies.list_rules(ctx, policy_id)
        return policy_json(ctx, policy, rules)
    return policy_json(ctx, policies.get_policy(ctx, policy_id))


@blp.route("/<string:policy_id>", methods=["PUT"])
@blp.arguments(PolicyIn)
@blp.response(200, PolicySchema)
def update_policy(body: dict[str, Any], policy_id: str) -> dict[str, Any]:
    ctx = context()
    return policy_json(ctx, policies.update_policy(ctx, policy_id, body))


@blp.route("/<string:policy_id>", methods=["DELETE"])
@blp.response(204)
def delete_policy(policy_id: str) -> tuple[str, int]:
    policies.delete_policy(context(), policy_id)
    return "", 204


@blp.route("/<string:policy_id>/lifecycle/activate", methods=["POST"])
@blp.response(204)
def activate_policy(policy_id: str) -> tuple[str, int]:
    policies.set_policy_status(context(), policy_id, "ACTIVE")
    return "", 204


@blp.route("/<string:policy_id>/lifecycle/deactivate", methods=["POST"])
@blp.response(204)
def deactivate_policy(policy_id: str) -> tuple[str, int]:
    policies.set_policy_status(context(), policy_id, "INACTIVE")
    return "", 204


@blp.route("/<string:policy_id>/rules", methods=["GET"])
@blp.response(200, RuleSchema(many=True))
def list_rules(policy_id: str) -> list[dict[str, Any]]:
    ctx = context()
    _, rules = policies.list_rules(ctx, policy_id)
    return [rule_json(ctx, r) for r in rules]


@blp.route("/<string:policy_id>/rules", methods=["POST"])
@blp.arguments(ActivateQuery, location="query")
@blp.arguments(RuleIn)
@blp.response(200, RuleSchema)
def create_rule(query: dict[str, Any], body: dict[str, Any], policy_id: str) -> dict[str, Any]:
    ctx = context()
    return rule_json(ctx, policies.create_rule(ctx, policy_id, body, activate=query["activate"]))


@blp.route("/<string:policy_id>/rules/<string:rule_id>", methods=["GET"])
@blp.response(200, RuleSchema)
def get_rule(policy_id: str, rule_id: str) -> dict[str, Any]:
    ctx = context()
    return rule_json(ctx, policies.get_rule(ctx, policy_id, rule_id))


@blp.route("/<string:policy_id>/rules/<string:rule_id>", methods=["PUT"])
@blp.arguments(RuleIn)
@blp.response(200, RuleSchema)
def update_rule(body: dict[str, Any], policy_id: str, rule_id: str) -> dict[str, Any]:
    ctx = context()
    return rule_json(ctx, policies.update_rule(ctx, policy_id, rule_id, body))


@blp.route("/<string:policy_id>/rules/<string:rule_id>", methods=["DELETE"])
@blp.response(204)
def delete_rule(policy_id: str, rule_id: str) -> tuple[str, int]:
    policies.delete_rule(context(), policy_id, rule_id)
    return "", 204


@blp.route("/<string:policy_id>/rules/<string:rule_id>/lifecycle/activate", methods=["POST"])
@blp.response(204)
def activate_rule(policy_id: str, rule_id: str) -> tuple[str, int]:
    policies.set_rule_status(context(), policy_id, rule_id, "ACTIVE")
    return "", 204


@blp.route("/<string:policy_id>/rules/<string:rule_id>/lifecycle/deactivate", methods=["POST"])
@blp.response(204)
def deactivate_rule(policy_id: str, rule_id: str) -> tuple[str, int]:
    policies.set_rule_status(context(), policy_id, rule_id, "INACTIVE")
    return "", 204
