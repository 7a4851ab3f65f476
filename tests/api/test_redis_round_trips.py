"""Redis round trips per /api/v1/authn call, with the rate limit on (issue 13),
and what a client over its limit can no longer do.

A round trip is one write to Redis and its answers: a command, a pipeline, a
script. They are counted where redis-py sends (``send_packed_command``), on
both backends. Each flow runs once before it is counted: the first call of a
script on a server loads it (``NOSCRIPT``, then ``SCRIPT LOAD``), once.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from redis.connection import AbstractConnection

from app.domain.policy import SignOnSettings
from app.services import credentials
from app.store.transactions import digest
from tests.api.test_authn import Policy, authn, enroll_active, sign_in, totp_now
from tests.api.test_authn import policy as policy  # the fixture
from tests.conftest import PASSWORD

LIMIT = 300  # the default RATE_LIMIT_AUTHN, which the app fixture keeps
#: The client's counter when it is at its limit (127.0.0.1, the test client's address).
AT_THE_LIMIT = ("ratelimit:300/60s:127.0.0.1", LIMIT)


class RoundTrips:
    """Counts what redis-py sends while a test runs."""

    def __init__(self) -> None:
        self.count = 0

    def during(self, call: Any) -> tuple[Any, int]:
        self.count = 0
        answer = call()
        return answer, self.count


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    counter = RoundTrips()
    send = AbstractConnection.send_packed_command

    def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        counter.count += 1
        send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    yield counter


def test_every_authn_call_makes_at_most_two_round_trips_with_the_rate_limit(
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    policy: Policy,
    clock: Any,
    trips: RoundTrips,
) -> None:
    make_user("no.mfa@example.com")
    totp = enroll_active(api, make_user(), "token:software:totp", outbox, clock)
    seen: dict[str, tuple[int, str]] = {}
    remaining: list[int] = []  # X-Rate-Limit-Remaining, call after call

    def count(name: str, call: Any) -> Any:
        answer, n = trips.during(call)
        seen[name] = (n, answer.get_json()["status"])  # the last round's stays
        remaining.append(int(answer.headers["X-Rate-Limit-Remaining"]))
        return answer

    for _ in range(2):  # the first round loads the scripts
        policy.set(sign_on=SignOnSettings())  # no MFA
        count("primary, SUCCESS", lambda: sign_in(anonymous, "no.mfa@example.com"))
        policy.require_mfa()
        clock.advance(seconds=60)  # a TOTP step not used yet
        token = count("primary, MFA_REQUIRED", lambda: sign_in(anonymous)).get_json()["stateToken"]
        count("read", lambda: authn(anonymous, stateToken=token))  # noqa: B023
        code = totp_now(totp["secret"], clock)
        verify = f"/factors/{totp['id']}/verify"
        verified = {"stateToken": token, "passCode": code}
        count("verify TOTP, SUCCESS", lambda: authn(anonymous, verify, **verified))  # noqa: B023
        cancelled = {"stateToken": sign_in(anonymous).get_json()["stateToken"]}
        count("cancel", lambda: authn(anonymous, "/cancel", **cancelled))  # noqa: B023

    assert seen == {
        "primary, SUCCESS": (2, "SUCCESS"),  # lockout slot + count; the SUCCESS writes
        "primary, MFA_REQUIRED": (2, "MFA_REQUIRED"),  # lockout slot + count; the transaction
        "read": (1, "MFA_REQUIRED"),  # the transaction + count
        "verify TOTP, SUCCESS": (2, "SUCCESS"),  # lease, slot + count; the save
        "cancel": (2, "UNAUTHENTICATED"),  # lease + count; the end
    }
    assert all(b < a for a, b in pairwise(remaining))  # each counted


# ---- over the limit: refused before anything is touched ----------------------------------


@pytest.fixture
def at_the_limit(ctx: Any) -> Any:
    """Make the test client's next /authn request its first over the limit."""

    def fill() -> None:
        key, count = AT_THE_LIMIT
        ctx.stores.redis.set(key, count, ex=60)

    return fill


def _refused(answer: Any) -> None:
    assert answer.status_code == 429, answer.get_json()
    assert answer.get_json()["errorCode"] == "E0000047"
    assert answer.headers["X-Rate-Limit-Remaining"] == "0"
    assert answer.headers["X-Rate-Limit-Limit"] == str(LIMIT)
    assert 0 < int(answer.headers["Retry-After"]) <= 60


def test_a_password_over_the_limit_takes_no_slot_and_is_never_hashed(
    anonymous: Any, make_user: Any, ctx: Any, at_the_limit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()
    hashed: list[str] = []
    monkeypatch.setattr(credentials, "verify_password", lambda *a: hashed.append("x") or True)
    monkeypatch.setattr(ctx.hasher, "verify_decoy", lambda *a: hashed.append("decoy"))
    at_the_limit()
    _refused(sign_in(anonymous, password="a guess"))
    _refused(sign_in(anonymous, "nobody@example.com", "a guess"))  # the decoy path too
    assert hashed == []
    assert ctx.stores.failed_attempts.count(user["id"]) == 0


def test_a_factor_guess_over_the_limit_takes_no_lease_and_no_slot(
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    policy: Policy,
    clock: Any,
    ctx: Any,
    at_the_limit: Any,
) -> None:
    user = make_user()
    totp = enroll_active(api, user, "token:software:totp", outbox, clock)
    policy.require_mfa()
    clock.advance(seconds=60)
    token = sign_in(anonymous).get_json()["stateToken"]
    at_the_limit()
    verify = f"/factors/{totp['id']}/verify"
    _refused(authn(anonymous, verify, stateToken=token, passCode="000000"))
    assert ctx.stores.failed_attempts.count(user["id"]) == 0
    assert not ctx.stores.redis.exists(f"authn:{{{digest(token)}}}:lease")
    ctx.stores.redis.delete(AT_THE_LIMIT[0])  # the window starts again
    code = totp_now(totp["secret"], clock)
    answer = authn(anonymous, verify, stateToken=token, passCode=code)
    assert answer.get_json()["status"] == "SUCCESS"  # the transaction was left as it was


def test_an_activation_token_over_the_limit_is_not_used_up(
    anonymous: Any, api: Any, make_user: Any, at_the_limit: Any, ctx: Any
) -> None:
    """The token is consumed by a plain command, not a script that counts:
    the count goes out alone before it, and the refusal stops it."""
    user = make_user(password=None, activate=False)
    token = api.post(f"/api/v1/users/{user['id']}/lifecycle/activate?sendEmail=false").get_json()[
        "activationToken"
    ]
    at_the_limit()
    _refused(authn(anonymous, token=token))
    ctx.stores.redis.delete(AT_THE_LIMIT[0])
    assert authn(anonymous, token=token).get_json()["status"] == "PASSWORD_RESET"


def test_a_request_that_reaches_no_store_is_counted_and_refused_too(
    anonymous: Any, ctx: Any, at_the_limit: Any
) -> None:
    first = authn(anonymous, username="")  # a 400 before any round trip
    assert first.status_code == 400
    assert first.headers["X-Rate-Limit-Remaining"] == str(LIMIT - 1)
    at_the_limit()
    _refused(authn(anonymous, username=""))


def test_the_counter_lives_one_window(anonymous: Any, ctx: Any) -> None:
    authn(anonymous, "/cancel", stateToken="00nope")
    key, _ = AT_THE_LIMIT
    assert ctx.stores.redis.get(key) == "1"
    assert 0 < ctx.stores.redis.ttl(key) <= 60


def test_a_counter_left_without_an_expiry_gets_one(anonymous: Any, ctx: Any) -> None:
    key, _ = AT_THE_LIMIT
    ctx.stores.redis.set(key, 5)  # never written so, but it must not refuse for ever
    authn(anonymous, "/cancel", stateToken="00nope")
    assert 0 < ctx.stores.redis.ttl(key) <= 60


def test_the_password_still_signs_in_after_a_refusal(
    anonymous: Any, make_user: Any, ctx: Any, at_the_limit: Any
) -> None:
    make_user()
    at_the_limit()
    _refused(sign_in(anonymous))
    ctx.stores.redis.delete(AT_THE_LIMIT[0])
    assert sign_in(anonymous, password=PASSWORD).get_json()["status"] == "SUCCESS"
