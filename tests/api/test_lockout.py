"""Lockout under concurrency: an attempt is counted before it is judged, and a
lock ends the sign-in transactions opened before it.

Concurrency is simulated here by pre-filling a user's counter (what attempts
still in flight elsewhere would have left); tests/integration/test_lockout_real.py
races two real server processes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyotp
import pytest

from app.domain.policy import Lockout, PasswordSettings
from app.services import credentials, factor_verification
from app.services.authn import transaction as authn_service
from tests.api.test_authn import (
    E164,
    LOCKED_OUT,
    LOGIN,
    PHONE,
    Policy,
    _recovery_policy,
    _with_question,
    authn,
    code_for,
    enroll_active,
    sign_in,
)

WRONG = "Wrong-Password-1"


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> Policy:
    holder = Policy()
    monkeypatch.setattr(authn_service, "effective_for", lambda ctx, uow, user: holder.value)
    return holder


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many passwords, codes and answers the server actually checked."""
    seen: Counter[str] = Counter()
    verify_password, prepare = credentials.verify_password, factor_verification.prepare

    def counting_password(*args: Any, **kwargs: Any) -> Any:
        seen["password"] += 1
        return verify_password(*args, **kwargs)

    def counting_prepare(*args: Any, **kwargs: Any) -> Any:
        seen["factor"] += 1
        return prepare(*args, **kwargs)

    monkeypatch.setattr(credentials, "verify_password", counting_password)
    monkeypatch.setattr(factor_verification, "prepare", counting_prepare)
    return seen


def _lockout(policy: Policy, *, show: bool, mfa: bool = False, **extra: Any) -> None:
    policy.set(
        password=PasswordSettings(
            lockout=Lockout(max_attempts=3, show_lockout_failures=show), **extra
        )
    )
    if mfa:
        policy.require_mfa()


def _totp_user(api: Any, make_user: Any, outbox: Any, clock: Any) -> tuple[dict[str, Any], Any]:
    user = make_user()
    factor = enroll_active(api, user, "token:software:totp", outbox, clock)
    clock.advance(seconds=30)  # the activation used this step's code
    return user, factor


def _fill(ctx: Any, user: dict[str, Any], count: int) -> None:
    """The count that ``count`` attempts still in flight elsewhere leave behind."""
    ctx.stores.redis.set(f"lockout:{user['id']}", count)


def _count(ctx: Any, user: dict[str, Any]) -> int:
    return int(ctx.stores.redis.get(f"lockout:{user['id']}") or 0)


def _answer(response: Any) -> tuple[int, Any]:
    """Status and body, less the errorId that differs on every error."""
    body = dict(response.get_json())
    body.pop("errorId", None)
    return response.status_code, body


# ---- a lock ends the transactions opened before it ----------


@pytest.mark.parametrize("show", [True, False], ids=["showLockoutFailures", "hidden"])
def test_a_lock_ends_older_transactions_whatever_the_code(
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    policy: Policy,
    clock: Any,
    ctx: Any,
    judged: Counter[str],
    show: bool,
) -> None:
    user, factor = _totp_user(api, make_user, outbox, clock)
    _lockout(policy, show=show, mfa=True)
    older = [sign_in(anonymous).get_json()["stateToken"] for _ in range(3)]
    for _ in range(3):  # someone else locks the user meanwhile
        sign_in(anonymous, password=WRONG)
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    judged.clear()

    path = f"/api/v1/authn/factors/{factor['id']}/verify"
    right = pyotp.TOTP(factor["secret"]).at(clock())
    with_right = anonymous.post(path, json={"stateToken": older[0], "passCode": right})
    with_wrong = anonymous.post(path, json={"stateToken": older[1], "passCode": "000000"})
    read = authn(anonymous, stateToken=older[2])
    # No oracle: the right code, a wrong one and a plain read answer alike.
    assert _answer(with_right) == _answer(with_wrong) == _answer(read)
    if show:
        assert _answer(with_right) == (200, LOCKED_OUT)
    else:
        assert with_right.status_code == 401
        assert with_right.get_json()["errorCode"] == "E0000011"
    assert judged == Counter()  # nothing was checked
    assert _count(ctx, user) == 0  # nor counted
    # The transactions are over, and stay over after the unlock.
    assert api.post(f"/api/v1/users/{user['id']}/lifecycle/unlock").status_code == 200
    for token in older:
        r = anonymous.post(path, json={"stateToken": token, "passCode": right})
        assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"
    # The right code was never spent: a fresh sign-in can use it.
    token = sign_in(anonymous).get_json()["stateToken"]
    r = anonymous.post(path, json={"stateToken": token, "passCode": right})
    assert r.get_json()["status"] == "SUCCESS", r.get_json()


def test_recovery_transactions_live_on_for_a_locked_user(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    _with_question(api, user)
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _recovery_policy(policy, lockout=Lockout(max_attempts=3, show_lockout_failures=True))
    clock.advance(seconds=31)
    body = authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS").get_json()
    token = body["stateToken"]
    for _ in range(3):  # locked after the recovery began
        sign_in(anonymous, password=WRONG)
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    code = code_for(outbox, E164)
    r = authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code)
    assert r.get_json()["status"] == "RECOVERY", r.get_json()
    r = authn(anonymous, "/recovery/answer", stateToken=token, answer="Annie Oakley")
    assert r.get_json()["status"] == "PASSWORD_RESET", r.get_json()
    r = authn(anonymous, "/credentials/reset_password", stateToken=token, newPassword="New-Pass-7x")
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"


# ---- a slot beyond maxAttempts is refused unjudged ----------


@pytest.mark.parametrize("show", [True, False], ids=["showLockoutFailures", "hidden"])
def test_a_password_beyond_the_last_slot_is_not_judged(
    anonymous: Any,
    api: Any,
    make_user: Any,
    policy: Policy,
    ctx: Any,
    judged: Counter[str],
    show: bool,
) -> None:
    user = make_user()
    _lockout(policy, show=show)
    _fill(ctx, user, 3)  # three attempts taken elsewhere, not yet judged
    right = sign_in(anonymous)
    wrong = sign_in(anonymous, password=WRONG)
    # The right password answers exactly as a wrong one, and as a locked user.
    assert _answer(right) == _answer(wrong)
    if show:
        assert _answer(right) == (200, LOCKED_OUT)
    else:
        assert right.status_code == 401 and right.get_json()["errorCode"] == "E0000004"
    assert judged["password"] == 0
    # More than maxAttempts came at once: the user is locked.
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"


def test_the_last_slot_is_judged_and_locks_when_wrong(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, ctx: Any, judged: Counter[str]
) -> None:
    user = make_user()
    _lockout(policy, show=True)
    _fill(ctx, user, 2)
    assert sign_in(anonymous, password=WRONG).get_json() == LOCKED_OUT
    assert judged["password"] == 1
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    assert _count(ctx, user) == 0  # the lock holds now


def test_a_code_beyond_the_last_slot_is_not_judged(
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    policy: Policy,
    clock: Any,
    ctx: Any,
    judged: Counter[str],
) -> None:
    user, factor = _totp_user(api, make_user, outbox, clock)
    _lockout(policy, show=True, mfa=True)
    token = sign_in(anonymous).get_json()["stateToken"]
    _fill(ctx, user, 3)
    judged.clear()
    path = f"/api/v1/authn/factors/{factor['id']}/verify"
    right = pyotp.TOTP(factor["secret"]).at(clock())
    r = anonymous.post(path, json={"stateToken": token, "passCode": right})
    assert _answer(r) == (200, LOCKED_OUT)
    assert judged["factor"] == 0
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"
    assert authn(anonymous, stateToken=token).status_code == 401  # the transaction ended


def test_a_recovery_answer_beyond_the_last_slot_is_not_judged(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    _with_question(api, user)
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _recovery_policy(policy, lockout=Lockout(max_attempts=3))
    clock.advance(seconds=31)
    token = authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS").get_json()[
        "stateToken"
    ]
    code = code_for(outbox, E164)
    r = authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code)
    assert r.get_json()["status"] == "RECOVERY"
    _fill(ctx, user, 3)
    r = authn(anonymous, "/recovery/answer", stateToken=token, answer="Annie Oakley")
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000087"
    assert authn(anonymous, stateToken=token).status_code == 401  # the transaction ended


# ---- counting ----------


def test_success_resets_the_count(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user, factor = _totp_user(api, make_user, outbox, clock)
    _lockout(policy, show=False, mfa=True)
    sign_in(anonymous, password=WRONG)
    assert _count(ctx, user) == 1
    token = sign_in(anonymous).get_json()["stateToken"]
    assert _count(ctx, user) == 1  # a right password gives back only its own slot
    path = f"/api/v1/authn/factors/{factor['id']}/verify"
    anonymous.post(path, json={"stateToken": token, "passCode": "000000"})
    assert _count(ctx, user) == 2
    right = pyotp.TOTP(factor["secret"]).at(clock())
    r = anonymous.post(path, json={"stateToken": token, "passCode": right})
    assert r.get_json()["status"] == "SUCCESS"
    assert _count(ctx, user) == 0
    # Two more failures, and a third, do not lock on top of the old ones.
    for _ in range(2):
        sign_in(anonymous, password=WRONG)
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "ACTIVE"


def test_a_right_password_leaves_no_counter_behind(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    """A sign-in abandoned at MFA_REQUIRED gives its slot back by deleting the
    counter, not by leaving a "0" without an expiry for every user who ever
    signed in (found by make soak); a wrong code still counts afterwards."""
    user, factor = _totp_user(api, make_user, outbox, clock)
    _lockout(policy, show=False, mfa=True)
    token = sign_in(anonymous).get_json()["stateToken"]
    assert not ctx.stores.redis.exists(f"lockout:{user['id']}")
    sign_in(anonymous, password=WRONG)
    sign_in(anonymous)  # gives back its own slot: the wrong password's stays
    assert _count(ctx, user) == 1
    r = authn(anonymous, f"/factors/{factor['id']}/verify", stateToken=token, passCode="000000")
    assert r.status_code == 403
    assert _count(ctx, user) == 2


def test_a_right_recovery_answer_resets_the_count(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    _with_question(api, user)
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _recovery_policy(policy, lockout=Lockout(max_attempts=3))
    clock.advance(seconds=31)
    token = authn(anonymous, "/recovery/password", username=LOGIN, factorType="SMS").get_json()[
        "stateToken"
    ]
    code = code_for(outbox, E164)
    authn(anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code)
    for _ in range(2):
        r = authn(anonymous, "/recovery/answer", stateToken=token, answer="Calamity Jane")
        assert r.get_json()["errorCode"] == "E0000087"
    assert _count(ctx, user) == 2
    r = authn(anonymous, "/recovery/answer", stateToken=token, answer="Annie Oakley")
    assert r.get_json()["status"] == "PASSWORD_RESET"
    # Without the reset, a user who answers right and leaves would be locked
    # by the next recoveries' right answers.
    assert _count(ctx, user) == 0


def test_a_call_that_judges_nothing_counts_nothing(
    anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any, ctx: Any
) -> None:
    user = make_user()
    sms = enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _lockout(policy, show=False, mfa=True)
    token = sign_in(anonymous).get_json()["stateToken"]
    path = f"/api/v1/authn/factors/{sms['id']}/verify"
    clock.advance(seconds=31)
    sent = anonymous.post(path, json={"stateToken": token, "answer": "not a code"})
    assert sent.get_json()["status"] == "MFA_CHALLENGE"  # a send, not a guess
    unknown = anonymous.post(
        "/api/v1/authn/factors/nosuchfactor/verify", json={"stateToken": token, "passCode": "1"}
    )
    assert unknown.status_code == 404
    assert _count(ctx, user) == 0
    wrong = anonymous.post(path, json={"stateToken": token, "passCode": "000000"})
    assert wrong.status_code == 403
    assert _count(ctx, user) == 1


def test_signing_in_again_does_not_reset_the_count_of_wrong_codes(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, outbox: Any, clock: Any, ctx: Any
) -> None:
    """The abuse case: someone who knows the password guesses TOTP codes and
    signs in afresh before each lock would fall. The right password gives back
    only its own slot; the count resets at SUCCESS (or a proven factor)."""
    user, factor = _totp_user(api, make_user, outbox, clock)
    _lockout(policy, show=False, mfa=True)
    for _ in range(2):  # 2 wrong codes of 3, on two successive sign-ins
        token = sign_in(anonymous).get_json()["stateToken"]
        r = authn(anonymous, f"/factors/{factor['id']}/verify", stateToken=token, passCode="000000")
        assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000068"
    assert ctx.stores.failed_attempts.count(user["id"]) == 2
    token = sign_in(anonymous).get_json()["stateToken"]
    r = authn(anonymous, f"/factors/{factor['id']}/verify", stateToken=token, passCode="000000")
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000069"
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "LOCKED_OUT"


def test_a_full_sign_in_resets_the_count(
    anonymous: Any, api: Any, make_user: Any, policy: Policy, outbox: Any, clock: Any, ctx: Any
) -> None:
    user, _ = _totp_user(api, make_user, outbox, clock)
    _lockout(policy, show=False)
    assert sign_in(anonymous, password=WRONG).status_code == 401
    assert ctx.stores.failed_attempts.count(user["id"]) == 1
    assert sign_in(anonymous).get_json()["status"] == "SUCCESS"
    assert ctx.stores.failed_attempts.count(user["id"]) == 0
