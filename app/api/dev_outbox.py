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


class Recipient(fields.String):
    """An e-mail address or E.164 number. An unencoded ``+`` in a query string
    arrives as a space (``?to=+15052694259``, as Postman sends it): read it as ``+``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs))
        if text.startswith(" ") and text[1:].isdigit():
            return "+" + text[1:]
        return text.strip()


class OutboxQuery(schemas.Lenient):
    to = Recipient(
        metadata={"description": "only messages to this e-mail address (any case) or E.164 number"}
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=1000))


class MessageSchema(schemas.Lenient):
    channel = fields.String(metadata={"description": "email, sms or call"})
    to = fields.String(metadata={"description": "e-mail address or E.164 number"})
    subject = fields.String()
    body = fields.String(metadata={"description": "for a call, the words spoken"})
    extension = fields.String(metadata={"description": "for a call: digits dialled, or empty"})
    sent_at = fields.String(
        data_key="sentAt", metadata={"description": "when the outbox kept it (UTC)"}
    )
    expires_at = fields.String(
        data_key="expiresAt",
        metadata={"description": "when the code or link it carries expires; then it is gone"},
    )


@blp.route("", methods=["GET"])
@blp.arguments(OutboxQuery, location="query")
@blp.response(200, MessageSchema(many=True))
def read_outbox(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The newest messages first (SMS, voice-call scripts, e-mails), at most ``limit``
    (1 to 1000, default 20), only those to ``to`` when given. A message is listed
    only until the code or link it carries expires."""
    ctx = context()
    outbox = Outbox(ctx.stores.redis, clock=ctx.clock)
    return [asdict(m) for m in outbox.messages(to=query.get("to"))[: query["limit"]]]
