"""Outbound messages behind one small interface: ``send(Message)``.

- ``Outbox`` keeps messages in Redis (newest first, capped) and logs them,
  each only as long as the code or link it carries is valid: the default
  when nothing is configured, what ``flask outbox`` prints and what tests read.
- ``SmtpEmail`` sends e-mail through an SMTP relay (``SMTP_HOST``).
- ``TwilioMessages`` sends SMS and places voice calls through the official
  ``twilio`` SDK (``TWILIO_*``).
- ``ChannelRouter`` picks one of them per channel.

A delivery that fails raises ``DeliveryError``; callers turn it into an API
error and keep nothing half-done: a carrier that answered with a refusal is a
502, one that could not be reached or did not answer within
``DELIVERY_TIMEOUT`` (``unreachable``) a 503 with ``Retry-After``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import smtplib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import redis

from app.domain.clock import Clock, okta_timestamp, parse_timestamp, utc_now

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
    expires_at: str = ""  # set by the Outbox: sent_at + valid_for
    #: Seconds the code or link the message carries stays valid. Required: the
    #: outbox forgets the message then, as a code shown after it expired is a leak.
    valid_for: int = field(kw_only=True)


class DeliveryError(Exception):
    """The message could not be handed to its carrier.

    ``invalid_recipient``: the carrier says the address or number cannot
    receive (the caller's input is at fault). ``unreachable``: no answer at
    all (refused, reset, timed out): the carrier may be back in a moment, so
    the caller is told when to try again. Neither: the carrier answered with
    an error of its own. The message is for the log, never for a response:
    it carries the carrier's own words.
    """

    def __init__(
        self, message: str, *, invalid_recipient: bool = False, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.invalid_recipient = invalid_recipient
        self.unreachable = unreachable


class Delivery(Protocol):
    def send(self, message: Message) -> None: ...


def _live(record: str, now: datetime) -> Message | None:
    """The message a stored record holds, or None once it has expired (or is
    from before messages carried an expiry: those are dropped as expired)."""
    try:
        message = Message(**json.loads(record))
        return message if parse_timestamp(message.expires_at) > now else None
    except (TypeError, ValueError):
        return None


class Outbox:
    """Development and test delivery: nothing leaves the machine.

    Messages go to a Redis list (what tests and the server read) and, when a
    ``log_path`` is given, to a JSON-lines file (mode 0600: it holds live
    codes) that ``flask outbox`` prints from any process, fakeredis or not.

    Each message lives as long as the code or link it carries
    (``Message.valid_for``): an expired one is never shown, and is removed
    from the list and from the file at the next write or read of either
    (and from the file when the server starts), so neither keeps old
    secrets. The list's key also expires with its longest-lived message.
    """

    def __init__(
        self, client: redis.Redis, log_path: Path | None = None, *, clock: Clock = utc_now
    ) -> None:
        self.redis = client
        self.log_path = log_path
        self.clock = clock

    def send(self, message: Message) -> None:
        now = self.clock()
        message = replace(
            message,
            sent_at=okta_timestamp(now) or "",
            expires_at=okta_timestamp(now + timedelta(seconds=message.valid_for)) or "",
        )
        record = json.dumps(asdict(message))
        live = self._prune_list(now)
        remaining = [parse_timestamp(m.expires_at) - now for m in (message, *live)]
        pipe = self.redis.pipeline()
        pipe.lpush(OUTBOX_KEY, record)
        pipe.ltrim(OUTBOX_KEY, 0, OUTBOX_LIMIT - 1)
        pipe.expire(OUTBOX_KEY, max(1, math.ceil(max(remaining).total_seconds())))
        pipe.execute()
        if self.log_path is not None:
            _rewrite_log(self.log_path, now, append=record)
        log.info("outbox %s to %s: %s", message.channel, message.to, message.subject)

    def _prune_list(self, now: datetime) -> list[Message]:
        """Drop the expired records from the list; the live messages, newest first."""
        live: list[Message] = []
        expired: list[str] = []
        for item in self.redis.lrange(OUTBOX_KEY, 0, -1):  # type: ignore[union-attr]
            message = _live(str(item), now)
            if message is None:
                expired.append(str(item))
            else:
                live.append(message)
        if expired:
            pipe = self.redis.pipeline()
            for record in expired:
                pipe.lrem(OUTBOX_KEY, 0, record)
            pipe.execute()
        return live

    def prune_log(self) -> None:
        """Remove expired messages from the file (the server does it at start)."""
        if self.log_path is not None and self.log_path.exists():
            _rewrite_log(self.log_path, self.clock())

    @staticmethod
    def read_log(path: Path, limit: int, now: datetime) -> list[Message]:
        """The newest ``limit`` live messages of an outbox file, newest first
        (the expired ones are removed from the file on the way)."""
        if not path.exists():
            return []
        lines = _rewrite_log(path, now)
        messages = [_live(line, now) for line in reversed(lines)]
        return [m for m in messages if m is not None][:limit]

    def messages(self, to: str | None = None) -> list[Message]:
        """Live messages, newest first; only those addressed to ``to`` (compared
        without case) when given."""
        found = self._prune_list(self.clock())
        return [m for m in found if to is None or m.to.casefold() == to.casefold()]


def _rewrite_log(path: Path, now: datetime, append: str | None = None) -> list[str]:
    """Keep only the file's live lines (the newest OUTBOX_LIMIT), plus ``append``;
    returns the lines kept. Under an exclusive lock: several workers write it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        lines = [line for line in fh.read().splitlines() if _live(line, now) is not None]
        if append is not None:
            lines.append(append)
        lines = lines[-OUTBOX_LIMIT:]
        fh.seek(0)
        fh.truncate()
        fh.write("".join(line + "\n" for line in lines))
    return lines


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
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls
        self.timeout = timeout

    def send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.to, message.subject
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(str(exc), invalid_recipient=True) from exc
        # (SMTPException is an OSError: the order of these matters.)
        except smtplib.SMTPServerDisconnected as exc:  # hung up before taking the message
            raise DeliveryError(f"SMTP relay unreachable: {exc!r}", unreachable=True) from exc
        except smtplib.SMTPException as exc:  # it answered, and said no
            raise DeliveryError(f"SMTP relay refused the message: {exc!r}") from exc
        except OSError as exc:  # refused, reset, timed out
            raise DeliveryError(f"SMTP relay unreachable: {exc!r}", unreachable=True) from exc


class ChannelRouter:
    """Send each channel through its own carrier, the rest to ``fallback``."""

    def __init__(self, routes: Mapping[str, Delivery], fallback: Delivery) -> None:
        self.routes = dict(routes)
        self.fallback = fallback

    def send(self, message: Message) -> None:
        self.routes.get(message.channel, self.fallback).send(message)
