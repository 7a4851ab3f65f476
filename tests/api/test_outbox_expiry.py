"""The development outbox forgets a message when the code or link in it expires.

A code still readable in the outbox (the Redis list, ``GET /api/v1/dev/outbox``,
``outbox.log`` and ``flask outbox``) after it expired is a leak: someone who
later reads the outbox or the file, say from a backup, must not find it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.delivery import OUTBOX_KEY

PHONE = "+15052694259"


def _enroll_sms(api: Any, user: dict[str, Any], outbox: Any) -> str:
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}},
    )
    assert r.status_code == 200, r.get_json()
    (message,) = outbox.messages(to=PHONE)
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match
    return match.group(1)


def _log(ctx: Any) -> Path:
    return Path(ctx.settings.instance_path) / "outbox.log"


def test_a_code_leaves_every_view_of_the_outbox_when_it_expires(
    api: Any, make_user: Any, ctx: Any, clock: Any, outbox: Any, app: Any
) -> None:
    user = make_user(login="a@example.com", password=None)  # an activation e-mail: 7 days
    code = _enroll_sms(api, user, outbox)
    lifetime = ctx.settings.otp_lifetime
    (listed, _) = outbox.messages()
    assert listed.expires_at > listed.sent_at and listed.valid_for == lifetime
    assert code in _log(ctx).read_text()

    clock.advance(seconds=lifetime - 1)
    assert [m.to for m in outbox.messages()] == [PHONE, "a@example.com"]

    clock.advance(seconds=2)  # the code has expired
    assert [m.to for m in outbox.messages()] == ["a@example.com"]
    if ctx.settings.dev_outbox_enabled:  # the HTTP view (embedded defaults only)
        listed = api.get("/api/v1/dev/outbox").get_json()
        assert [m["to"] for m in listed] == ["a@example.com"]
        assert listed[0]["expiresAt"] == "2026-01-22T09:30:00.000Z"
    raw = ctx.stores.redis.lrange(OUTBOX_KEY, 0, -1)
    assert all(code not in str(item) for item in raw)  # gone from Redis, not only hidden
    with app.app_context():
        printed = app.test_cli_runner().invoke(args=["outbox", "-n", "5"]).output
    assert code not in printed and "email to a@example.com" in printed
    assert code not in _log(ctx).read_text()  # the file was pruned on the way


def test_the_log_file_is_pruned_when_the_next_message_is_written(
    api: Any, make_user: Any, ctx: Any, clock: Any, outbox: Any
) -> None:
    user = make_user(login="a@example.com", password=None)
    code = _enroll_sms(api, user, outbox)
    clock.advance(seconds=ctx.settings.otp_lifetime + 1)
    make_user(login="b@example.com", password=None)  # another message: an activation e-mail
    text = _log(ctx).read_text()
    assert code not in text
    assert [json.loads(line)["to"] for line in text.splitlines()] == [
        "a@example.com",
        "b@example.com",
    ]


def test_a_link_lives_as_long_as_its_token(
    api: Any, make_user: Any, ctx: Any, clock: Any, outbox: Any
) -> None:
    make_user(login="a@example.com", password=None)
    (welcome,) = outbox.messages(to="a@example.com")
    assert "/welcome/" in welcome.body
    clock.advance(seconds=ctx.settings.activation_token_ttl - 1)
    assert outbox.messages(to="a@example.com") == [welcome]
    clock.advance(seconds=2)
    assert outbox.messages() == []
    assert ctx.stores.redis.lrange(OUTBOX_KEY, 0, -1) == []


def test_the_redis_list_expires_with_its_longest_lived_message(
    api: Any, make_user: Any, ctx: Any, outbox: Any
) -> None:
    user = make_user(login="a@example.com", password=None, activate=False)  # no e-mail yet
    _enroll_sms(api, user, outbox)
    ttl = ctx.stores.redis.ttl(OUTBOX_KEY)
    assert 0 < ttl <= ctx.settings.otp_lifetime
    api.post(f"/api/v1/users/{user['id']}/lifecycle/activate?sendEmail=true")
    assert ctx.settings.otp_lifetime < ctx.stores.redis.ttl(OUTBOX_KEY)
    assert ctx.stores.redis.ttl(OUTBOX_KEY) <= ctx.settings.activation_token_ttl


def test_entries_without_an_expiry_are_dropped_at_start(tmp_path: Path, clock: Any) -> None:
    """A file written before messages carried an expiry holds codes of unknown age."""
    from app import create_app
    from tests.conftest import settings_for

    settings = settings_for(tmp_path)
    log = settings.instance_path / "outbox.log"
    log.parent.mkdir(parents=True)
    old = {"channel": "sms", "to": PHONE, "subject": "s", "body": "code 123456", "sent_at": "x"}
    log.write_text(json.dumps(old) + "\n")
    create_app(settings, clock=clock)
    assert log.read_text() == ""
