"""Policy evaluation and Okta's policy JSON, with no app and no database.

Evaluation follows Okta's Policy API reference, "Policy evaluation": policies
of a type in priority order, the first whose conditions match the user and
that has an active rule whose conditions match; its settings and that rule's
actions apply.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.domain.passwords import PasswordPolicy
from app.domain.policy import (
    RULE_TYPES,
    EffectivePolicy,
    Enrollment,
    FactorPromptMode,
    Lockout,
    PasswordSettings,
    PolicyDoc,
    PolicyInvalid,
    PolicyType,
    RuleDoc,
    SignOnSettings,
    applies_to,
    choose,
    evaluate,
    group_ids_in,
    parse_conditions,
    parse_enroll_actions,
    parse_enrollment,
    parse_password,
    parse_sign_on,
)

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
EVERYONE = "00gEveryone000000000"
ADMINS = "00gAdmins00000000000"
SALES = "00gSales000000000000"
USER = "00uIsaac000000000000"


def groups(*ids: str) -> dict[str, Any]:
    return {"people": {"groups": {"include": list(ids)}}}


def rule(
    name: str = "Rule",
    *,
    priority: int = 1,
    actions: dict[str, Any] | None = None,
    conditions: dict[str, Any] | None = None,
    status: str = "ACTIVE",
    system: bool = False,
    kind: PolicyType = PolicyType.OKTA_SIGN_ON,
) -> RuleDoc:
    return RuleDoc(
        id=f"0pr{name}",
        policy_id="",
        type=RULE_TYPES[kind],
        name=name,
        status=status,
        priority=priority,
        system=system,
        conditions=conditions if conditions is not None else {},
        actions=actions or {},
        created=T0,
        last_updated=T0,
    )


def policy(
    name: str,
    kind: PolicyType = PolicyType.OKTA_SIGN_ON,
    *,
    priority: int = 1,
    include: tuple[str, ...] = (EVERYONE,),
    settings: dict[str, Any] | None = None,
    rules: list[RuleDoc] | None = None,
    status: str = "ACTIVE",
    system: bool = False,
) -> PolicyDoc:
    doc = PolicyDoc(
        id=f"00p{name}",
        type=kind,
        name=name,
        description="",
        status=status,
        priority=priority,
        system=system,
        conditions=groups(*include),
        settings=settings or {},
        created=T0,
        last_updated=T0,
        rules=rules if rules is not None else [rule(f"{name}-rule", kind=kind)],
    )
    for r in doc.rules:
        r.policy_id = doc.id
    return doc


def require_mfa() -> dict[str, Any]:
    return {"signon": {"access": "ALLOW", "requireFactor": True, "factorPromptMode": "ALWAYS"}}


# ---- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "user_groups", "matches"),
    [
        ({}, {EVERYONE}, True),
        (groups(EVERYONE), {EVERYONE}, True),
        (groups(ADMINS), {EVERYONE}, False),
        (groups(ADMINS, SALES), {EVERYONE, SALES}, True),
        ({"people": {"groups": {"include": [EVERYONE], "exclude": [SALES]}}}, {EVERYONE}, True),
        (
            {"people": {"groups": {"include": [EVERYONE], "exclude": [SALES]}}},
            {EVERYONE, SALES},
            False,
        ),
        ({"people": {"users": {"exclude": [USER]}}}, {EVERYONE}, False),
        ({"people": {"users": {"exclude": []}}}, {EVERYONE}, True),
        ({"people": {"users": {"include": [USER]}, "groups": {"include": [ADMINS]}}}, set(), True),
        ({"people": {"users": {"include": ["00uSomeoneElse000000"]}}}, {EVERYONE}, False),
        ({"network": {"connection": "ANYWHERE"}}, {EVERYONE}, True),
        ({"network": {"connection": "ZONE", "include": ["nzo1"]}}, {EVERYONE}, False),
    ],
)
def test_applies_to(conditions: dict[str, Any], user_groups: set[str], matches: bool) -> None:
    assert applies_to(conditions, USER, user_groups) is matches


def test_parse_conditions_keeps_what_it_accepts() -> None:
    raw = {
        "people": {"groups": {"include": [ADMINS]}, "users": {"exclude": [USER]}},
        "network": {"connection": "ANYWHERE"},
        "authContext": {"authType": "ANY"},
    }
    assert parse_conditions(raw, rule=True) == raw
    assert parse_conditions(None, rule=False) == {}
    assert group_ids_in(raw) == {ADMINS}


@pytest.mark.parametrize(
    ("raw", "is_rule", "cause"),
    [
        ("everyone", False, "conditions: must be an object"),
        ({"people": []}, False, "conditions.people: must be an object"),
        ({"people": {"groups": "00g"}}, False, "conditions.people.groups: must be an object"),
        (
            {"people": {"groups": {"include": "00g"}}},
            False,
            "conditions.people.groups.include: must be a list of ids",
        ),
        (
            {"people": {"groups": {"include": [1]}}},
            True,
            "conditions.people.groups.include: must be a list of ids",
        ),
        (
            {"people": {"users": {"exclude": [USER]}}},
            False,
            "conditions.people.users.exclude: a policy can only name groups",
        ),
        (
            {"network": {"connection": "ZONE", "include": ["nzo1"]}},
            True,
            "conditions.network.connection: only ANYWHERE is supported (no network zones)",
        ),
    ],
)
def test_parse_conditions_rejects(raw: Any, is_rule: bool, cause: str) -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_conditions(raw, rule=is_rule)
    assert failed.value.causes == [cause]


# ---- choosing the policy and the rule -------------------------------------------------------


def test_highest_priority_matching_policy_wins() -> None:
    docs = [
        policy("Default", priority=3, system=True),
        policy("Sales", priority=2, include=(SALES,)),
        policy("Admins", priority=1, include=(ADMINS,)),
    ]
    pick = lambda *g: choose(docs, PolicyType.OKTA_SIGN_ON, USER, {EVERYONE, *g})  # noqa: E731
    assert pick()[0].name == "Default"  # type: ignore[index]
    assert pick(SALES)[0].name == "Sales"  # type: ignore[index]
    assert pick(SALES, ADMINS)[0].name == "Admins"  # type: ignore[index]


def test_inactive_policies_and_other_types_are_ignored() -> None:
    docs = [
        policy("Default", priority=2, system=True),
        policy("Off", priority=1, status="INACTIVE"),
        policy("Password", PolicyType.PASSWORD, priority=1),
    ]
    chosen = choose(docs, PolicyType.OKTA_SIGN_ON, USER, {EVERYONE})
    assert chosen is not None and chosen[0].name == "Default"


def test_a_policy_without_a_matching_rule_is_passed_over() -> None:
    excluded = rule("NotIsaac", conditions={"people": {"users": {"exclude": [USER]}}})
    docs = [
        policy("Default", priority=3, system=True),
        policy("NoRules", priority=1, rules=[]),
        policy("Excludes", priority=2, rules=[excluded]),
    ]
    chosen = choose(docs, PolicyType.OKTA_SIGN_ON, USER, {EVERYONE})
    assert chosen is not None and chosen[0].name == "Default"
    other = choose(docs, PolicyType.OKTA_SIGN_ON, "00uOther0000000000000", {EVERYONE})
    assert other is not None and other[0].name == "Excludes"


def test_highest_priority_active_matching_rule_wins() -> None:
    rules = [
        rule("Default", priority=4, system=True),
        rule("Off", priority=1, status="INACTIVE"),
        rule("Sales", priority=2, conditions=groups(SALES)),
        rule("NotSales", priority=3, conditions={"people": {"groups": {"exclude": [SALES]}}}),
    ]
    docs = [policy("Default", rules=rules, system=True)]
    pick = lambda *g: choose(docs, PolicyType.OKTA_SIGN_ON, USER, {EVERYONE, *g})  # noqa: E731
    assert pick(SALES)[1].name == "Sales"  # type: ignore[index]
    assert pick()[1].name == "NotSales"  # type: ignore[index]


def test_a_default_item_sorts_after_others_of_equal_priority() -> None:
    docs = [policy("Default", system=True), policy("Custom")]
    chosen = choose(docs, PolicyType.OKTA_SIGN_ON, USER, {EVERYONE})
    assert chosen is not None and chosen[0].name == "Custom"


# ---- evaluation into settings ---------------------------------------------------------------


def _migration_defaults() -> list[PolicyDoc]:
    """The default policies exactly as the migration inserts them."""
    path = next(Path("app/migrations/versions").glob("*_policies.py"))
    spec = importlib.util.spec_from_file_location("policies_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    anywhere = module.RULE_CONDITIONS
    return [
        policy(
            "Password",
            PolicyType.PASSWORD,
            settings=module.PASSWORD_SETTINGS,
            system=True,
            rules=[rule(actions=module.PASSWORD_RULE, conditions=anywhere, system=True)],
        ),
        policy(
            "Enroll",
            PolicyType.MFA_ENROLL,
            settings=module.ENROLL_SETTINGS,
            system=True,
            rules=[rule(actions=module.ENROLL_RULE, conditions=anywhere, system=True)],
        ),
        policy(
            "SignOn",
            system=True,
            rules=[rule(actions=module.SIGN_ON_RULE, conditions=anywhere, system=True)],
        ),
    ]


def test_the_default_policies_give_oktas_defaults() -> None:
    effective = evaluate(_migration_defaults(), USER, {EVERYONE})
    assert effective.password == PasswordSettings(
        complexity=PasswordPolicy(
            min_length=8,
            min_lower_case=1,
            min_upper_case=1,
            min_number=1,
            min_symbol=0,
            exclude_username=True,
            history_count=4,
        ),
        max_age_days=0,
        expire_warn_days=0,
        lockout=Lockout(max_attempts=10, auto_unlock_minutes=None, show_lockout_failures=False),
        recovery_factors=frozenset({"okta_email", "recovery_question"}),
        self_service_password_reset=True,
        self_service_unlock=False,
    )
    assert set(effective.enrollment.values()) == {Enrollment.OPTIONAL}
    assert effective.sign_on == SignOnSettings(
        access_allowed=True,
        require_factor=False,
        max_session_idle_minutes=120,
        max_session_lifetime_minutes=0,
    )
    assert effective.password_policy_id == "00pPassword"
    assert effective.enroll_policy_id == "00pEnroll"
    assert effective.sign_on_policy_id == "00pSignOn"
    # And they agree with the dataclass defaults the engine falls back on.
    assert evaluate([], USER, {EVERYONE}) == replace_ids(effective)


def replace_ids(effective: EffectivePolicy) -> EffectivePolicy:
    from dataclasses import replace

    return replace(
        effective, password_policy_id=None, enroll_policy_id=None, sign_on_policy_id=None
    )


def test_a_group_policy_sets_complexity_for_its_members_only() -> None:
    strict = policy(
        "Strict",
        PolicyType.PASSWORD,
        include=(ADMINS,),
        settings={
            "password": {
                "complexity": {"minLength": 14, "minSymbol": 1, "excludeAttributes": ["lastName"]},
                "age": {"historyCount": 10, "maxAgeDays": 90, "expireWarnDays": 7},
                "lockout": {"maxAttempts": 3, "autoUnlockMinutes": 30, "showLockoutFailures": True},
            },
            "recovery": {"factors": {"okta_sms": {"status": "ACTIVE"}}},
        },
        rules=[
            rule(
                kind=PolicyType.PASSWORD,
                actions={"selfServiceUnlock": {"access": "ALLOW"}},
            )
        ],
    )
    docs = [*_migration_defaults(), strict]
    admin = evaluate(docs, USER, {EVERYONE, ADMINS}).password
    assert admin.complexity == PasswordPolicy(
        min_length=14, min_symbol=1, exclude_attributes=("lastName",), history_count=10
    )
    assert (admin.max_age_days, admin.expire_warn_days) == (90, 7)
    assert admin.lockout == Lockout(3, 30, True)
    assert admin.recovery_factors == frozenset({"okta_sms"})
    assert admin.self_service_unlock is True
    assert evaluate(docs, USER, {EVERYONE}).password.complexity == PasswordPolicy()


def test_enrollment_policy_requires_google_authenticator_for_a_group() -> None:
    enroll = policy(
        "TOTP",
        PolicyType.MFA_ENROLL,
        include=(ADMINS,),
        settings={
            "factors": {
                "google_otp": {"enroll": {"self": "REQUIRED"}, "consent": {"type": "NONE"}},
                "okta_sms": {"enroll": {"self": "OPTIONAL"}},
            }
        },
        rules=[rule(kind=PolicyType.MFA_ENROLL, actions={"enroll": {"self": "CHALLENGE"}})],
    )
    effective = evaluate([*_migration_defaults(), enroll], USER, {EVERYONE, ADMINS})
    assert effective.enrollment == {
        "google_otp": Enrollment.REQUIRED,
        "okta_otp": Enrollment.NOT_ALLOWED,
        "okta_sms": Enrollment.OPTIONAL,
        "okta_call": Enrollment.NOT_ALLOWED,
        "okta_email": Enrollment.NOT_ALLOWED,
        "okta_question": Enrollment.NOT_ALLOWED,
    }
    assert effective.enrollment_of("token:software:totp", "GOOGLE") is Enrollment.REQUIRED
    assert effective.enrollment_of("token:software:totp", "OKTA") is Enrollment.NOT_ALLOWED
    assert effective.enroll_policy_id == "00pTOTP"


def test_an_enroll_rule_that_never_prompts_cannot_require() -> None:
    enroll = policy(
        "Never",
        PolicyType.MFA_ENROLL,
        settings={"factors": {"google_otp": {"enroll": {"self": "REQUIRED"}}}},
        rules=[rule(kind=PolicyType.MFA_ENROLL, actions={"enroll": {"self": "NEVER"}})],
    )
    effective = evaluate([enroll], USER, {EVERYONE})
    assert effective.enrollment["google_otp"] is Enrollment.OPTIONAL


def test_a_sign_on_rule_requiring_mfa() -> None:
    default = policy(
        "Default",
        system=True,
        priority=1,
        rules=[
            rule("Default", priority=2, system=True),
            rule(
                "MFA",
                priority=1,
                conditions=groups(SALES),
                actions={
                    "signon": {
                        "access": "ALLOW",
                        "requireFactor": True,
                        "factorPromptMode": "DEVICE",
                        "rememberDeviceByDefault": True,
                        "factorLifetime": 60,
                        "session": {"maxSessionIdleMinutes": 30, "maxSessionLifetimeMinutes": 480},
                    }
                },
            ),
        ],
    )
    sales = evaluate([default], USER, {EVERYONE, SALES}).sign_on
    assert sales == SignOnSettings(
        access_allowed=True,
        require_factor=True,
        factor_prompt_mode=FactorPromptMode.DEVICE,
        remember_device_by_default=True,
        factor_lifetime_minutes=60,
        max_session_idle_minutes=30,
        max_session_lifetime_minutes=480,
    )
    assert evaluate([default], USER, {EVERYONE}).sign_on == SignOnSettings()


def test_deny_rule() -> None:
    deny = {"signon": {"access": "DENY"}}
    effective = evaluate([policy("Deny", rules=[rule(actions=deny)])], USER, {EVERYONE})
    assert effective.sign_on.access_allowed is False


# ---- Okta's JSON, checked -------------------------------------------------------------------


def test_parse_password_reads_oktas_reference_example() -> None:
    settings = {
        "password": {
            "complexity": {
                "minLength": 8,
                "minLowerCase": 1,
                "minUpperCase": 1,
                "minNumber": 1,
                "minSymbol": 0,
                "excludeUsername": True,
                "dictionary": {"common": {"exclude": False}},
                "excludeAttributes": [],
            },
            "age": {"maxAgeDays": 0, "expireWarnDays": 0, "minAgeMinutes": 0, "historyCount": 0},
            "lockout": {"maxAttempts": 10, "autoUnlockMinutes": 0, "showLockoutFailures": False},
        },
        "recovery": {
            "factors": {
                "recovery_question": {
                    "status": "ACTIVE",
                    "properties": {"complexity": {"minLength": 4}},
                },
                "okta_email": {
                    "status": "ACTIVE",
                    "properties": {"recoveryToken": {"tokenLifetimeMinutes": 60}},
                },
                "okta_sms": {"status": "INACTIVE"},
                "okta_call": {"status": "INACTIVE"},
            }
        },
        "delegation": {"options": {"skipUnlock": False}},
    }
    actions = {
        "passwordChange": {"access": "ALLOW"},
        "selfServicePasswordReset": {"access": "ALLOW"},
        "selfServiceUnlock": {"access": "ALLOW"},
    }
    parsed = parse_password(settings, actions)
    assert parsed.complexity.history_count == 0
    assert parsed.lockout.auto_unlock_minutes is None  # 0: no automatic unlock
    assert parsed.recovery_token_lifetime_minutes == 60
    assert parsed.self_service_unlock is True


@pytest.mark.parametrize(
    ("settings", "actions", "cause"),
    [
        (
            {"password": {"complexity": {"minLength": 2}}},
            {},
            "settings.password.complexity.minLength: must be a whole number from 4 to 256",
        ),
        (
            {"password": {"complexity": {"minSymbol": "yes"}}},
            {},
            "settings.password.complexity.minSymbol: must be a whole number from 0 to 1",
        ),
        (
            {"password": {"complexity": {"excludeUsername": "no"}}},
            {},
            "settings.password.complexity.excludeUsername: must be true or false",
        ),
        (
            {"password": {"complexity": {"excludeAttributes": "lastName"}}},
            {},
            "settings.password.complexity.excludeAttributes: must be a list of attribute names",
        ),
        (
            {"password": {"age": {"historyCount": 99}}},
            {},
            "settings.password.age.historyCount: must be a whole number from 0 to 24",
        ),
        (
            {"password": {"lockout": {"maxAttempts": True}}},
            {},
            "settings.password.lockout.maxAttempts: must be a whole number from 0 to 100",
        ),
        ({"password": "strong"}, {}, "settings.password: must be an object"),
        (
            {"recovery": {"factors": {"okta_push": {"status": "ACTIVE"}}}},
            {},
            "settings.recovery.factors.okta_push: unknown recovery factor",
        ),
        (
            {"recovery": {"factors": {"okta_sms": {"status": "ON"}}}},
            {},
            "settings.recovery.factors.okta_sms.status: must be one of ACTIVE, INACTIVE",
        ),
        (
            {},
            {"selfServiceUnlock": {"access": "MAYBE"}},
            "actions.selfServiceUnlock.access: must be one of ALLOW, DENY",
        ),
    ],
)
def test_parse_password_rejects(
    settings: dict[str, Any], actions: dict[str, Any], cause: str
) -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_password(settings, actions)
    assert failed.value.causes == [cause]


@pytest.mark.parametrize(
    ("settings", "cause"),
    [
        (
            {"factors": {"okta_carrier_pigeon": {"enroll": {"self": "OPTIONAL"}}}},
            "settings.factors.okta_carrier_pigeon: unknown factor; use one of google_otp, "
            "okta_otp, okta_sms, okta_call, okta_email, okta_question",
        ),
        ({"factors": {"google_otp": "REQUIRED"}}, "settings.factors.google_otp: must be an object"),
        (
            {"factors": {"google_otp": {"enroll": {"self": "ALWAYS"}}}},
            "settings.factors.google_otp.enroll.self: must be one of REQUIRED, OPTIONAL, "
            "NOT_ALLOWED",
        ),
        (
            {"factors": {"okta_push": {"enroll": {"self": "REQUIRED"}}}},
            "settings.factors.okta_push.enroll.self: this factor is not available in Portcullis",
        ),
    ],
)
def test_parse_enrollment_rejects(settings: dict[str, Any], cause: str) -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_enrollment(settings)
    assert failed.value.causes == [cause]


def test_parse_enrollment_accepts_oktas_other_factor_keys() -> None:
    table = parse_enrollment({"factors": {"okta_push": {"enroll": {"self": "OPTIONAL"}}}})
    assert set(table.values()) == {Enrollment.NOT_ALLOWED}
    assert parse_enrollment({}) == EffectivePolicy().enrollment


def test_parse_enroll_actions() -> None:
    assert parse_enroll_actions({}) == "CHALLENGE"
    assert parse_enroll_actions({"enroll": {"self": "LOGIN"}}) == "LOGIN"
    with pytest.raises(PolicyInvalid) as failed:
        parse_enroll_actions({"enroll": {"self": "SOMETIMES"}})
    assert failed.value.causes == ["actions.enroll.self: must be one of CHALLENGE, LOGIN, NEVER"]


@pytest.mark.parametrize(
    ("signon", "cause"),
    [
        ({"access": "MAYBE"}, "actions.signon.access: must be one of ALLOW, DENY"),
        ({"requireFactor": "true"}, "actions.signon.requireFactor: must be true or false"),
        (
            {"factorPromptMode": "SOMETIMES"},
            "actions.signon.factorPromptMode: must be one of ALWAYS, DEVICE, SESSION",
        ),
        (
            {"session": {"maxSessionIdleMinutes": 0}},
            "actions.signon.session.maxSessionIdleMinutes: "
            "must be a whole number from 1 to 1000000",
        ),
        ({"session": 5}, "actions.signon.session: must be an object"),
    ],
)
def test_parse_sign_on_rejects(signon: dict[str, Any], cause: str) -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_sign_on({"signon": signon})
    assert failed.value.causes == [cause]
