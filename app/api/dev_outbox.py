"""``GET /api/v1/dev/outbox``: the development outbox over HTTP.

While nothing is configured to deliver messages (no Twilio, no SMTP), the
codes and links Portcullis "sends" land in a local outbox. This route lets a
Postman collection or a browser test read them. It exists only when
``Settings.dev_outbox_enabled`` (the embedded defaults, or
``DEV_OUTBOX_HTTP=true`` without Twilio/SMTP); otherwise the path answers
404 like any unknown path. It needs an SSWS token like the admin APIs.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.api import schemas
from app.api.admin_auth import require_api_token
from app.api.runtime import context
from app.delivery import Outbox

blp = Blueprint(
    "dev_outbox",
    __name__,
    url_prefix="/api/v1/dev/outbox",
    description="Development only: messages kept in the local outbox (SSWS)",
)
blp.before_request(require_api_token)


class OutboxQuery(schemas.Lenient):
    to = fields.String(metadata={"description": "only messages to this address or E.164 number"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=1000))


class MessageSchema(schemas.Lenient):
    channel = fields.String()
    to = fields.String()
    subject = fields.String()
    body = fields.String()


@blp.route("", methods=["GET"])
@blp.arguments(OutboxQuery, location="query")
@blp.response(200, MessageSchema(many=True))
def read_outbox(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The newest messages first (SMS, voice-call scripts, e-mails)."""
    outbox = Outbox(context().stores.redis)
    return [asdict(m) for m in outbox.messages(to=query.get("to"))[: query["limit"]]]
