"""``user-sessions:<uid>``: the per-user index of sessions does not outlive them.

It used to gain an id per sign-in and never lose the ids of sessions that
ended by expiring, and never expired itself: one set per user, growing
forever. Now it is pruned when a session is added and expires no sooner than
its longest-lived session, so "end all of a user's sessions" still finds
every live one.
"""

from __future__ import annotations

from typing import Any

USER = "00uindexuser"


def _record() -> dict[str, Any]:
    return {"user_id": USER, "login": "a@example.com", "amr": ["pwd"]}


def _members(ctx: Any) -> set[str]:
    return {str(m) for m in ctx.stores.redis.smembers(f"user-sessions:{USER}")}


def test_the_set_expires_with_its_longest_session_and_never_sooner(ctx: Any) -> None:
    sessions, redis = ctx.stores.sessions, ctx.stores.redis
    short_id, _ = sessions.create(_record(), 100)
    assert 0 < redis.ttl(f"user-sessions:{USER}") <= 100
    long_id, _ = sessions.create(_record(), 7200)
    assert 7100 < redis.ttl(f"user-sessions:{USER}") <= 7200
    short = sessions.get(short_id)
    sessions.save(short, 50)  # refreshing the short one must not shorten the set
    assert 7100 < redis.ttl(f"user-sessions:{USER}") <= 7200
    sessions.save(short, 9000)  # and a refresh past the longest extends it
    assert 8900 < redis.ttl(f"user-sessions:{USER}") <= 9000
    assert _members(ctx) == {short_id, long_id}


def test_ended_sessions_are_pruned_from_the_set(ctx: Any) -> None:
    sessions, redis = ctx.stores.sessions, ctx.stores.redis
    first, _ = sessions.create(_record(), 100)
    second, _ = sessions.create(_record(), 100)
    redis.delete(f"session:{first}")  # what its expiry does
    third, _ = sessions.create(_record(), 100)
    assert _members(ctx) == {second, third}
    assert sessions.delete_for_user(USER) == 2
    assert not redis.exists(f"user-sessions:{USER}")


def test_the_api_keeps_the_index_bounded(
    api: Any, anonymous: Any, make_user: Any, ctx: Any
) -> None:
    from tests.api.test_sessions import session_token

    user = make_user()
    key = f"user-sessions:{user['id']}"
    for _ in range(3):
        r = api.post("/api/v1/sessions", json={"sessionToken": session_token(anonymous)})
        assert r.status_code == 200, r.get_json()
        ctx.stores.redis.delete(f"session:{r.get_json()['id']}")  # it expired
    assert ctx.stores.redis.scard(key) == 1  # only the last one; the others were pruned
    assert ctx.stores.redis.ttl(key) > 0
