"""Outbound messages behind one small interface: ``send(Message)``.

- ``Outbox`` keeps messages in Redis (newest first, capped) and logs them:
  the default when nothing is configured, what ``flask outbox`` prints and
  what tests read.
- ``SmtpEmail`` sends e-mail through an SMTP relay (``SMTP_HOST``).
- ``TwilioMessages`` sends SMS and places voice calls through the official
  ``twilio`` SDK (``TWILIO_*``).
- ``ChannelRouter`` picks one of them per channel.

A delivery that fails raises ``DeliveryError``; callers turn it into an API
error and keep nothing half-done.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import redis

from app.domain.clock import Clock, okta_timestamp, utc_now

log = logging.getLogger("portcullis.delivery")

OUTBOX_KEY = "outbox"
OUTBOX_LIMIT = 1000


@dataclass(frozen=True)
class Message:
    channel: str  # "email", "sms" or "call"
    to: str
    subject: str
    body: str  # for "call", the words to speak
    extension: str = ""  # for "call": digits to dial once the line answers
    sent_at: str = ""  # set by the Outbox when it keeps the message (Okta timestamp, UTC)


class DeliveryError(Exception):
    """The message could not be handed to its carrier."""

    def __init__(self, message: str, *, invalid_recipient: bool = False) -> None:
        super().__init__(message)
        self.invalid_recipient = invalid_recipient


class Delivery(Protocol):
    def send(self, message: Message) -> None: ...


class Outbox:
    """Development and test delivery: nothing leaves the machine.

    Messages go to a Redis list (what tests and the server read) and, when a
    ``log_path`` is given, to a JSON-lines file (mode 0600: it holds live
    codes) that ``flask outbox`` prints from any process, fakeredis or not.
    """

    def __init__(
        self, client: redis.Redis, log_path: Path | None = None, *, clock: Clock = utc_now
    ) -> None:
        self.redis = client
        self.log_path = log_path
        self.clock = clock

    def send(self, message: Message) -> None:
        if not message.sent_at:
            message = replace(message, sent_at=okta_timestamp(self.clock()) or "")
        record = json.dumps(asdict(message))
        pipe = self.redis.pipeline()
        pipe.lpush(OUTBOX_KEY, record)
        pipe.ltrim(OUTBOX_KEY, 0, OUTBOX_LIMIT - 1)
        pipe.execute()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as fh:
                fh.write(record + "\n")
        log.info("outbox %s to %s: %s", message.channel, message.to, message.subject)

    @staticmethod
    def read_log(path: Path, limit: int) -> list[Message]:
        """The newest ``limit`` messages of an outbox file, newest first."""
        if not path.exists():
            return []
        lines = path.read_text().splitlines()[-limit:]
        return [Message(**json.loads(line)) for line in reversed(lines) if line.strip()]

    def messages(self, to: str | None = None) -> list[Message]:
        """Newest first; only those addressed to ``to`` (compared without case) when given."""
        raw = self.redis.lrange(OUTBOX_KEY, 0, -1)
        found = [Message(**json.loads(str(item))) for item in raw]  # type: ignore[union-attr]
        return [m for m in found if to is None or m.to.casefold() == to.casefold()]


class SmtpEmail:
    """E-mail through an SMTP relay."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = False,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.to, message.subject
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(str(exc), invalid_recipient=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed: {exc}") from exc


class ChannelRouter:
    """Send each channel through its own carrier, the rest to ``fallback``."""

    def __init__(self, routes: Mapping[str, Delivery], fallback: Delivery) -> None:
        self.routes = dict(routes)
        self.fallback = fallback

    def send(self, message: Message) -> None:
        self.routes.get(message.channel, self.fallback).send(message)
