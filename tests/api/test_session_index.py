"""Sessions in Redis: one key per session, and a mark per user whose sessions
were all ended (app.store.sessions).

There used to be three keys per session: the record, ``sid:<sha256>`` for
the cookie and a ``user-sessions:<user>`` set so that "end all of a user's
sessions" could find them (1,334 bytes of Redis per session). Now the cookie
names its session (``<id>.<secret>``) and ending a user's sessions writes one
mark that every read checks, so a session is one key.
"""

from __future__ import annotations

import json
from typing import Any

from app.store.transactions import digest

USER = "00uindexuser"
OTHER = "00uotheruser"


def _record(user_id: str = USER) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "login": "a@example.com",
        "name": "Ada Lovelace",
        "created_at": "2026-12-02T07:00:00.000Z",
        "last_password_verification": "2026-12-02T07:00:00.000Z",
        "last_factor_verification": None,
        "amr": ["pwd"],
        "mfa_active": False,
        "idle_seconds": 7200,
        "absolute_expires_at": None,
        "persistent_cookie": False,
        "expires_at": "2026-12-02T09:00:00.000Z",
    }


def test_a_session_is_one_key_and_its_cookie_names_it(ctx: Any) -> None:
    sessions, redis = ctx.stores.sessions, ctx.stores.redis
    session_id, cookie = sessions.create(_record(), 7200)
    assert cookie.startswith(session_id + ".")
    assert sorted(redis.keys("*")) == sorted([f"session:{session_id}", "sessions:longest"])
    record = sessions.by_cookie(cookie)
    assert record is not None and record["id"] == session_id
    assert {k: record[k] for k in _record()} == _record()  # every field as it was written
    assert secret_free(redis.get(f"session:{session_id}"), cookie)


def secret_free(stored: str, cookie: str) -> bool:
    """Redis holds a hash of the cookie's secret, never the secret."""
    return cookie.split(".", 1)[1] not in stored


def test_a_cookie_with_the_wrong_secret_or_another_sessions_id_is_refused(ctx: Any) -> None:
    sessions = ctx.stores.sessions
    first, cookie = sessions.create(_record(), 7200)
    second, _ = sessions.create(_record(), 7200)
    secret = cookie.split(".", 1)[1]
    assert sessions.by_cookie(f"{first}.{secret[:-1]}A") is None
    assert sessions.by_cookie(f"{second}.{secret}") is None  # a session id is public
    assert sessions.by_cookie(f"{first}.") is None
    assert sessions.by_cookie(first) is None
    assert sessions.by_cookie(f"102nosuchsession.{secret}") is None


def test_ending_all_of_a_users_sessions_ends_those_made_before_and_none_after(ctx: Any) -> None:
    sessions = ctx.stores.sessions
    first, first_cookie = sessions.create(_record(), 7200)
    second, _ = sessions.create(_record(), 100)
    other, _ = sessions.create(_record(OTHER), 7200)
    sessions.delete_for_user(USER)
    assert sessions.get(first) is None and sessions.get(second) is None
    assert sessions.by_cookie(first_cookie) is None
    assert sessions.get(other) is not None  # another user's: untouched
    _, later_cookie = sessions.create(_record(), 7200)
    assert sessions.by_cookie(later_cookie) is not None
    # A refresh cannot bring an ended session back.
    sessions.save({**_record(), "id": first, "secret_hash": "x"}, 7200)
    assert sessions.get(first) is None


def test_the_mark_lasts_as_long_as_the_longest_session_could_and_no_longer(ctx: Any) -> None:
    sessions, redis = ctx.stores.sessions, ctx.stores.redis
    sessions.delete_for_user(USER)  # no session anywhere: nothing to mark
    assert not redis.exists(f"sessions-ended:{USER}")
    short, _ = sessions.create(_record(), 100)
    assert 0 < redis.ttl("sessions:longest") <= 100
    sessions.create(_record(OTHER), 7200)
    assert 7100 < redis.ttl("sessions:longest") <= 7200
    record = sessions.get(short)
    sessions.save(record, 50)  # a refresh never shortens it
    assert 7100 < redis.ttl("sessions:longest") <= 7200
    sessions.save(record, 9000)  # and one past the longest extends it
    assert 8900 < redis.ttl("sessions:longest") <= 9000
    sessions.delete_for_user(USER)
    assert 8900 < redis.ttl(f"sessions-ended:{USER}") <= 9000


def test_a_session_made_after_the_mark_keeps_it_alive_as_long_as_itself(ctx: Any) -> None:
    """Else the mark would expire first, and the session, made under its value,
    would read as ended."""
    sessions, redis = ctx.stores.sessions, ctx.stores.redis
    sessions.create(_record(), 100)
    sessions.delete_for_user(USER)
    assert 0 < redis.ttl(f"sessions-ended:{USER}") <= 100
    later, cookie = sessions.create(_record(), 7200)
    assert 7100 < redis.ttl(f"sessions-ended:{USER}") <= 7200
    sessions.save(sessions.get(later), 9000)
    assert 8900 < redis.ttl(f"sessions-ended:{USER}") <= 9000
    assert sessions.by_cookie(cookie) is not None


def test_a_session_made_at_once_after_ending_them_all_lives(ctx: Any) -> None:
    """No clock: even in the same millisecond as the end, the next session is live."""
    sessions = ctx.stores.sessions
    for _ in range(20):
        old, _ = sessions.create(_record(), 7200)
        sessions.delete_for_user(USER)
        new, cookie = sessions.create(_record(), 7200)
        assert sessions.get(old) is None
        assert sessions.by_cookie(cookie) is not None and sessions.get(new) is not None


def test_a_session_from_before_the_compact_layout_still_works_and_ends(ctx: Any) -> None:
    """Stored by the previous version: a full JSON record with its id and the
    cookie's digest, ``sid:<digest>`` and the user's set."""
    sessions, redis = ctx.stores.sessions, ctx.stores.redis
    cookie = "an-old-cookie-value-without-a-dot"
    record = {**_record(), "id": "102oldsession", "cookie": digest(cookie)}
    redis.set("session:102oldsession", json.dumps(record), ex=7200)
    redis.set(f"sid:{digest(cookie)}", "102oldsession", ex=7200)
    redis.sadd(f"user-sessions:{USER}", "102oldsession")
    assert sessions.by_cookie(cookie) == record
    sessions.save({**record, "amr": ["pwd", "mfa"]}, 3600)
    assert sessions.get("102oldsession")["amr"] == ["pwd", "mfa"]
    assert 3500 < redis.ttl(f"sid:{digest(cookie)}") <= 3600
    sessions.delete_for_user(USER)
    assert sessions.by_cookie(cookie) is None
    old_keys = ("session:102oldsession", f"sid:{digest(cookie)}", f"user-sessions:{USER}")
    assert not redis.exists(*old_keys)


def test_the_api_leaves_one_key_per_session(
    api: Any, anonymous: Any, make_user: Any, ctx: Any
) -> None:
    from tests.api.test_sessions import session_token

    user = make_user()
    made = []
    for _ in range(3):
        r = api.post("/api/v1/sessions", json={"sessionToken": session_token(anonymous)})
        assert r.status_code == 200, r.get_json()
        made.append(f"session:{r.get_json()['id']}")
    redis = ctx.stores.redis
    assert sorted(redis.keys("session:*")) == sorted(made)
    assert not redis.keys("sid:*") and not redis.exists(f"user-sessions:{user['id']}")
    r = api.delete(f"/api/v1/users/{user['id']}/sessions")
    assert r.status_code == 204
    for key in made:
        assert api.get(f"/api/v1/sessions/{key.removeprefix('session:')}").status_code == 404
