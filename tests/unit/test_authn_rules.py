"""The pure rules behind the /authn facts: what next_status is told, which
factors can answer MFA, who may sign in, recover or be unlocked by the clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.authn import (
    CANNOT_SIGN_IN,
    RECOVERY_CHANNELS,
    Progress,
    RecoveryType,
    auto_unlock_due,
    days_until_expiry,
    enrollment_state,
    facts_for,
    may_recover,
    prior_factors,
)
from app.domain.factors import FACTOR_TYPES, Factor, FactorStatus
from app.domain.policy import (
    EffectivePolicy,
    Enrollment,
    Lockout,
    PasswordSettings,
    SignOnSettings,
)
from app.domain.users import User, UserStatus

NOW = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)


def user(status: UserStatus = UserStatus.ACTIVE, **kw: object) -> User:
    return User("00u1", status, {"login": "a@example.com"}, NOW, NOW, **kw)  # type: ignore[arg-type]


def factor(
    fid: str, factor_type: str = "sms", status: FactorStatus = FactorStatus.ACTIVE
) -> Factor:
    return Factor(fid, "00u1", factor_type, "OKTA", status, {}, NOW, NOW)


def aged(days: int) -> EffectivePolicy:
    return EffectivePolicy(password=PasswordSettings(max_age_days=days, expire_warn_days=5))


# ---- password age ----------


def test_a_password_never_expires_without_a_max_age() -> None:
    assert days_until_expiry(user(password_changed=NOW), aged(0), NOW) is None
    assert days_until_expiry(user(), aged(30), NOW) is None  # never set


def test_days_left_count_whole_days_and_minus_one_once_expired() -> None:
    changed = NOW - timedelta(days=27, hours=1)
    assert days_until_expiry(user(password_changed=changed), aged(30), NOW) == 2
    expired = NOW - timedelta(days=30, seconds=1)
    assert days_until_expiry(user(password_changed=expired), aged(30), NOW) == -1


# ---- enrolment ----------


def test_enrollment_state_names_what_is_missing() -> None:
    policy = EffectivePolicy(enrollment={"okta_sms": Enrollment.REQUIRED})
    state = enrollment_state(policy, [])
    assert state.required_missing and not state.optional_available
    assert [(e.kind.factor_type, e.enrollment, e.factor) for e in state.entries] == [
        ("sms", "REQUIRED", None)
    ]
    held = enrollment_state(policy, [factor("sms1")])
    assert not held.required_missing and held.entries[0].factor is not None


def test_a_pending_factor_does_not_meet_a_requirement() -> None:
    policy = EffectivePolicy(enrollment={"okta_sms": Enrollment.REQUIRED})
    pending = factor("sms1", status=FactorStatus.PENDING_ACTIVATION)
    assert enrollment_state(policy, [pending]).required_missing


def test_the_default_policy_offers_every_factor_type_but_webauthn() -> None:
    # WebAuthn works only where WEBAUTHN_RP_ID fits the page: a policy turns it on.
    state = enrollment_state(EffectivePolicy(), [])
    assert state.optional_available and not state.required_missing
    offered = {e.kind.factor_type for e in state.entries}
    assert offered == {k.factor_type for k in FACTOR_TYPES} - {"webauthn"}


# ---- the factors that can answer MFA ----------


def test_every_active_factor_answers_mfa_even_one_added_meanwhile() -> None:
    # Read now: a factor an admin (or another sign-in) added since the
    # transaction began must be proven too; nothing is grandfathered.
    old, new = factor("old"), factor("new", "call")
    assert prior_factors([old, new], Progress()) == [old, new]


def test_a_factor_enrolled_in_the_flow_never_answers_mfa() -> None:
    old, mine = factor("old"), factor("mine", "call")
    progress = Progress(enrolled_factor_ids=["mine"])
    assert prior_factors([old, mine], progress) == [old]


def test_a_factor_reset_meanwhile_answers_nothing() -> None:
    gone = factor("old", status=FactorStatus.PENDING_ACTIVATION)
    assert prior_factors([gone], Progress()) == []


# ---- facts ----------


def test_facts_read_the_user_the_policy_and_the_clock() -> None:
    policy = replace(aged(30), sign_on=SignOnSettings(require_factor=True))
    changed = NOW - timedelta(days=28)
    facts = facts_for(
        user(password_changed=changed),
        policy,
        [factor("sms1")],
        Progress(),
        mfa_waived=False,
        now=NOW,
    )
    assert facts.days_until_password_expiry == 2 and facts.warn_days == 5
    assert facts.mfa_required and facts.has_prior_factors and not facts.locked
    later = facts_for(
        user(password_changed=changed),
        policy,
        [],
        Progress(),
        mfa_waived=True,
        now=NOW + timedelta(days=3),
    )
    assert later.password_expired and not later.mfa_required and not later.has_prior_factors


def test_a_locked_or_expired_user_is_told_as_such() -> None:
    kw = {"mfa_waived": False, "now": NOW}
    policy = EffectivePolicy()
    assert facts_for(user(UserStatus.LOCKED_OUT), policy, [], Progress(), **kw).locked  # type: ignore[arg-type]
    expired = facts_for(user(UserStatus.PASSWORD_EXPIRED), policy, [], Progress(), **kw)  # type: ignore[arg-type]
    assert expired.password_expired


# ---- who may sign in, recover, be unlocked ----------


@pytest.mark.parametrize("status", list(UserStatus))
def test_cannot_sign_in(status: UserStatus) -> None:
    barred = status in (
        UserStatus.STAGED,
        UserStatus.PROVISIONED,
        UserStatus.SUSPENDED,
        UserStatus.DEPROVISIONED,
    )
    assert (status in CANNOT_SIGN_IN) is barred


def test_recovery_channels_name_their_policy_key() -> None:
    assert {t: (c.channel, c.policy_key) for t, c in RECOVERY_CHANNELS.items()} == {
        "SMS": ("sms", "okta_sms"),
        "CALL": ("call", "okta_call"),
        "EMAIL": ("email", "okta_email"),
    }


def test_recovery_needs_the_channel_in_the_policy() -> None:
    settings = PasswordSettings(recovery_factors=frozenset({"okta_email"}))
    assert may_recover(user(), settings, "EMAIL", RecoveryType.PASSWORD)
    assert not may_recover(user(), settings, "SMS", RecoveryType.PASSWORD)


def test_unlock_is_only_for_a_locked_user_where_the_policy_allows_it() -> None:
    on = PasswordSettings(self_service_unlock=True)
    assert may_recover(user(UserStatus.LOCKED_OUT), on, "EMAIL", RecoveryType.UNLOCK)
    assert not may_recover(user(), on, "EMAIL", RecoveryType.UNLOCK)
    off = PasswordSettings()
    assert not may_recover(user(UserStatus.LOCKED_OUT), off, "EMAIL", RecoveryType.UNLOCK)


@pytest.mark.parametrize(
    ("status", "may"),
    [
        (UserStatus.ACTIVE, True),
        (UserStatus.PASSWORD_EXPIRED, True),
        (UserStatus.LOCKED_OUT, True),
        (UserStatus.RECOVERY, True),
        (UserStatus.SUSPENDED, False),
        (UserStatus.PROVISIONED, False),
    ],
)
def test_who_may_reset_a_forgotten_password(status: UserStatus, may: bool) -> None:
    assert may_recover(user(status), PasswordSettings(), "EMAIL", RecoveryType.PASSWORD) is may
    closed = PasswordSettings(self_service_password_reset=False)
    assert not may_recover(user(status), closed, "EMAIL", RecoveryType.PASSWORD)


def test_auto_unlock_is_due_once_the_minutes_have_passed() -> None:
    locked = user(UserStatus.LOCKED_OUT, status_changed=NOW - timedelta(minutes=10))
    assert auto_unlock_due(locked, Lockout(auto_unlock_minutes=10), NOW)
    assert not auto_unlock_due(locked, Lockout(auto_unlock_minutes=11), NOW)
    assert not auto_unlock_due(locked, Lockout(auto_unlock_minutes=None), NOW)


def test_every_factor_kind_adds_an_amr_value() -> None:
    assert {(k.factor_type, k.amr) for k in FACTOR_TYPES} == {
        ("token:software:totp", "otp"),
        ("sms", "sms"),
        ("call", "tel"),
        ("email", "email"),
        ("question", "kba"),
        ("webauthn", "hwk"),
    }
