"""SUCCESS is written to both stores or to neither (issue 12, item 5).

A sign-in's SUCCESS changes Redis (the transaction ends, a sessionToken, the
lockout count cleared, a remembered device) and the database (``lastLogin``,
the factors enrolled in the flow made active). Here the database's commit
fails at the last moment, as when PostgreSQL dies mid-request: the answer is
503, and nothing in Redis stands for a sign-in the database does not record
(no sessionToken, no remembered device), and no factor was activated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import event

from app.domain.policy import Enrollment
from tests.api.test_authn import Policy, authn, enroll_active, sign_in, totp_now
from tests.api.test_authn import policy as policy  # the fixture


@pytest.fixture
def dying_commit(ctx: Any) -> Iterator[list[str]]:
    """The database goes away between SUCCESS's writes and their commit: the
    commit of a transaction that wrote ``lastLogin`` fails, as a COMMIT does
    when PostgreSQL dies under it."""
    died: list[str] = []
    engine = ctx.stores.database.engine

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE USERS") and "last_login" in statement:
            conn.info["dies_on_commit"] = True

    def die(conn: Any) -> None:
        if conn.info.pop("dies_on_commit", False):
            died.append("COMMIT")
            raise sqlalchemy.exc.OperationalError("COMMIT", {}, Exception("server closed"))

    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", die)
    yield died
    event.remove(engine, "before_cursor_execute", note)
    event.remove(engine, "commit", die)


def _session_tokens(ctx: Any) -> list[str]:
    return list(ctx.stores.redis.scan_iter(match="sessiontoken:*"))


def _last_login(api: Any, user: dict[str, Any]) -> Any:
    return api.get(f"/api/v1/users/{user['id']}").get_json()["lastLogin"]


def _refused_whole(r: Any, ctx: Any, api: Any, user: dict[str, Any], dying: list[str]) -> None:
    """The commit was reached and failed: 503 with Retry-After, and neither
    half written (no sessionToken in Redis, no lastLogin in the database)."""
    assert dying, "the commit was reached"
    assert r.status_code == 503 and r.get_json()["errorCode"] == "E0000010", r.get_json()
    assert r.headers["Retry-After"]
    assert _session_tokens(ctx) == []
    assert _last_login(api, user) is None


def test_an_mfa_verify_whose_commit_fails_leaves_no_session_behind(
    anonymous: Any,
    api: Any,
    make_user: Any,
    policy: Policy,
    clock: Any,
    ctx: Any,
    dying_commit: list[str],
) -> None:
    user = make_user()
    totp = enroll_active(api, user, "token:software:totp", None, clock)
    policy.require_mfa()
    clock.advance(seconds=30)
    token = sign_in(anonymous, context={"deviceToken": "a-device-token-0001"}).get_json()[
        "stateToken"
    ]
    code = totp_now(totp["secret"], clock)
    r = authn(
        anonymous,
        f"/factors/{totp['id']}/verify",
        stateToken=token,
        passCode=code,
        rememberDevice=True,
    )
    _refused_whole(r, ctx, api, user, dying_commit)
    assert list(ctx.stores.redis.scan_iter(match="device:*")) == []
    # The transaction was spent (its code too): the user signs in again.
    assert authn(anonymous, stateToken=token).status_code == 401


def test_an_in_flow_enrolment_whose_commit_fails_activates_nothing(
    anonymous: Any,
    api: Any,
    make_user: Any,
    policy: Policy,
    clock: Any,
    ctx: Any,
    dying_commit: list[str],
) -> None:
    user = make_user()
    policy.enrollment(google_otp=Enrollment.REQUIRED)
    token = sign_in(anonymous).get_json()["stateToken"]
    r = authn(
        anonymous, "/factors", stateToken=token, factorType="token:software:totp", provider="GOOGLE"
    )
    factor = r.get_json()["_embedded"]["factor"]
    code = totp_now(factor["_embedded"]["activation"]["sharedSecret"], clock)
    r = authn(
        anonymous, f"/factors/{factor['id']}/lifecycle/activate", stateToken=token, passCode=code
    )
    _refused_whole(r, ctx, api, user, dying_commit)
    statuses = [f["status"] for f in api.get(f"/api/v1/users/{user['id']}/factors").get_json()]
    assert "ACTIVE" not in statuses


def test_a_password_sign_in_whose_commit_fails_leaves_no_session_behind(
    anonymous: Any, api: Any, make_user: Any, ctx: Any, dying_commit: list[str]
) -> None:
    user = make_user()
    _refused_whole(sign_in(anonymous), ctx, api, user, dying_commit)


def test_without_a_failure_both_halves_are_written(
    anonymous: Any, api: Any, make_user: Any, ctx: Any
) -> None:
    """The control: the same sign-in, the database answering."""
    user = make_user()
    body = sign_in(anonymous).get_json()
    assert body["status"] == "SUCCESS"
    assert len(_session_tokens(ctx)) == 1
    assert _last_login(api, user) is not None
