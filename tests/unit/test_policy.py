"""Policy evaluation and Okta's policy JSON, with no app and no database.

Evaluation follows Okta's Policy API reference, "Policy evaluation": policies
of a type in priority order, the first whose conditions match the user and
that has an active rule whose conditions match; its settings and that rule's
actions apply.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
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
        min_age_minutes=0,
        lockout=Lockout(max_attempts=10, auto_unlock_minutes=None, show_lockout_failures=False),
        recovery_factors=frozenset({"okta_email", "recovery_question"}),
        recovery_token_lifetime_minutes=60,
        self_service_password_reset=True,
        self_service_unlock=False,
    )
    # Every factor optional, but WebAuthn, which a policy must turn on (it needs
    # WEBAUTHN_RP_ID to fit the sign-in page).
    assert {k for k, v in effective.enrollment.items() if v is not Enrollment.OPTIONAL} == {
        "fido_webauthn"
    }
    assert effective.enrollment["fido_webauthn"] is Enrollment.NOT_ALLOWED
    assert effective.sign_on == SignOnSettings(
        access_allowed=True,
        require_factor=False,
        max_session_idle_minutes=120,
        max_session_lifetime_minutes=0,
    )
    assert effective.password_policy_id == "00pPassword"
    assert effective.enroll_policy_id == "00pEnroll"
    assert effective.sign_on_policy_id == "00pSignOn"
    # And they agree with the dataclass defaults the engine falls back on, but
    # for the recovery token's lifetime: with no policy RECOVERY_TOKEN_TTL
    # applies (by default 3600 s, the same 60 minutes).
    fallback = evaluate([], USER, {EVERYONE})
    assert fallback.password.recovery_token_lifetime_minutes is None
    password = replace(fallback.password, recovery_token_lifetime_minutes=60)
    assert replace(fallback, password=password) == replace_ids(effective)


def replace_ids(effective: EffectivePolicy) -> EffectivePolicy:
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
        "fido_webauthn": Enrollment.NOT_ALLOWED,
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
            "okta_otp, okta_sms, okta_call, okta_email, okta_question, fido_webauthn",
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


# ---- applies_to: more of Okta's include/exclude combinations ---------------------------------


@pytest.mark.parametrize(
    ("conditions", "user_groups", "matches"),
    [
        # No conditions at all, or empty blocks: everyone.
        (None, set(), True),
        ({"people": {}}, set(), True),
        ({"people": {"groups": {"include": []}}}, {SALES}, True),
        ({"people": {"groups": {}, "users": {}}}, set(), True),
        # Only an exclusion: everyone else.
        ({"people": {"groups": {"exclude": [SALES]}}}, {EVERYONE}, True),
        ({"people": {"groups": {"exclude": [SALES]}}}, {EVERYONE, SALES}, False),
        # Exclusions win over inclusions, by user or by group.
        ({"people": {"users": {"include": [USER], "exclude": [USER]}}}, {EVERYONE}, False),
        (
            {"people": {"users": {"include": [USER]}, "groups": {"exclude": [SALES]}}},
            {SALES},
            False,
        ),
        (
            {"people": {"users": {"exclude": [USER]}, "groups": {"include": [SALES]}}},
            {SALES},
            False,
        ),
        # Another user's exclusion does not touch this one.
        ({"people": {"users": {"exclude": ["00uSomeoneElse000000"]}}}, {EVERYONE}, True),
        # Included by id: whatever the groups say.
        ({"people": {"users": {"include": [USER]}}}, set(), True),
        # A group include is an OR over the listed groups.
        (groups(ADMINS, SALES), {ADMINS}, True),
        (groups(ADMINS, SALES), set(), False),
        # A network condition with no connection is ANYWHERE.
        ({"network": {}}, {EVERYONE}, True),
    ],
)
def test_applies_to_include_and_exclude(
    conditions: dict[str, Any] | None, user_groups: set[str], matches: bool
) -> None:
    assert applies_to(conditions, USER, user_groups) is matches  # type: ignore[arg-type]


# ---- evaluate: what one user ends up with --------------------------------------------------


MIN_LENGTH_12 = {"password": {"complexity": {"minLength": 12}}}


def test_evaluate_highest_priority_matching_policy_wins() -> None:
    defaults = _migration_defaults()
    for default in defaults:
        default.priority = 3  # as the service keeps it: after the others
    docs = [
        *defaults,
        policy(
            "Admins",
            PolicyType.PASSWORD,
            priority=1,
            include=(ADMINS,),
            settings={"password": {"complexity": {"minLength": 20}}},
            rules=[rule(kind=PolicyType.PASSWORD)],
        ),
        policy(
            "Sales",
            PolicyType.PASSWORD,
            priority=2,
            include=(SALES,),
            settings=MIN_LENGTH_12,
            rules=[rule(kind=PolicyType.PASSWORD)],
        ),
    ]

    def min_length(*member_of: str) -> int:
        return evaluate(docs, USER, {EVERYONE, *member_of}).password.complexity.min_length

    assert min_length() == 8
    assert min_length(SALES) == 12
    assert min_length(ADMINS) == 20
    assert min_length(ADMINS, SALES) == 20  # priority 1 first, whatever else matches
    assert evaluate(docs, USER, {EVERYONE, SALES}).password_policy_id == "00pSales"


def test_evaluate_skips_an_inactive_policy() -> None:
    off = policy(
        "Off",
        PolicyType.PASSWORD,
        priority=1,
        status="INACTIVE",
        settings=MIN_LENGTH_12,
        rules=[rule(kind=PolicyType.PASSWORD)],
    )
    effective = evaluate([*_migration_defaults(), off], USER, {EVERYONE})
    assert effective.password.complexity.min_length == 8
    assert effective.password_policy_id == "00pPassword"


def test_evaluate_skips_an_inactive_rule_and_uses_the_next_one() -> None:
    rules = [
        rule("Off", priority=1, status="INACTIVE", actions=require_mfa()),
        rule("Deny", priority=2, actions={"signon": {"access": "DENY"}}),
        rule("Default", priority=3, system=True),
    ]
    sign_on = evaluate([policy("P", rules=rules)], USER, {EVERYONE}).sign_on
    assert sign_on.require_factor is False
    assert sign_on.access_allowed is False


def test_evaluate_rule_conditions_pick_the_rule_within_the_policy() -> None:
    rules = [
        rule("Sales MFA", priority=1, conditions=groups(SALES), actions=require_mfa()),
        rule(
            "Isaac denied",
            priority=2,
            conditions={"people": {"users": {"include": [USER]}}},
            actions={"signon": {"access": "DENY"}},
        ),
        rule("Default", priority=3, system=True),
    ]
    docs = [policy("Default", rules=rules, system=True)]
    sales = evaluate(docs, USER, {EVERYONE, SALES}).sign_on
    assert (sales.require_factor, sales.access_allowed) == (True, True)
    isaac = evaluate(docs, USER, {EVERYONE}).sign_on
    assert (isaac.require_factor, isaac.access_allowed) == (False, False)
    other = evaluate(docs, "00uOther000000000000", {EVERYONE}).sign_on
    assert other == SignOnSettings()


def test_evaluate_the_default_policy_comes_last() -> None:
    # Same priority number: the system policy still loses to a custom one.
    custom = policy(
        "Custom",
        PolicyType.PASSWORD,
        priority=1,
        include=(SALES,),
        settings=MIN_LENGTH_12,
        rules=[rule(kind=PolicyType.PASSWORD)],
    )
    docs = [*_migration_defaults(), custom]
    assert evaluate(docs, USER, {EVERYONE, SALES}).password_policy_id == "00pCustom"
    # Someone the custom policy does not name falls through to the default.
    assert evaluate(docs, USER, {EVERYONE}).password_policy_id == "00pPassword"


def test_evaluate_each_type_is_chosen_on_its_own() -> None:
    strict_password = policy(
        "AdminsPassword",
        PolicyType.PASSWORD,
        priority=1,
        include=(ADMINS,),
        settings=MIN_LENGTH_12,
        rules=[rule(kind=PolicyType.PASSWORD)],
    )
    sales_mfa = policy(
        "SalesMFA", priority=1, include=(SALES,), rules=[rule(actions=require_mfa())]
    )
    docs = [*_migration_defaults(), strict_password, sales_mfa]

    admin = evaluate(docs, USER, {EVERYONE, ADMINS})
    assert admin.password.complexity.min_length == 12
    assert admin.sign_on.require_factor is False
    assert (admin.password_policy_id, admin.enroll_policy_id, admin.sign_on_policy_id) == (
        "00pAdminsPassword",
        "00pEnroll",
        "00pSignOn",
    )

    sales = evaluate(docs, USER, {EVERYONE, SALES})
    assert sales.password.complexity.min_length == 8
    assert sales.sign_on.require_factor is True
    assert (sales.password_policy_id, sales.sign_on_policy_id) == ("00pPassword", "00pSalesMFA")

    # A type with no policy at all keeps the built-in defaults, the others still apply.
    only_sign_on = evaluate([sales_mfa], USER, {SALES})
    assert only_sign_on.password == PasswordSettings()
    assert only_sign_on.enrollment == EffectivePolicy().enrollment
    assert (only_sign_on.password_policy_id, only_sign_on.enroll_policy_id) == (None, None)
    assert only_sign_on.sign_on.require_factor is True


def test_evaluate_a_sign_on_policy_leaves_password_settings_alone() -> None:
    # A sign-on policy whose rules say "DENY" has no bearing on the password settings.
    deny = policy("Deny", rules=[rule(actions={"signon": {"access": "DENY"}})])
    effective = evaluate([deny], USER, {EVERYONE})
    assert effective.password == PasswordSettings()
    assert effective.sign_on.access_allowed is False


def test_enroll_rule_never_keeps_not_allowed_factors_not_allowed() -> None:
    enroll = policy(
        "Never",
        PolicyType.MFA_ENROLL,
        settings={
            "factors": {
                "google_otp": {"enroll": {"self": "REQUIRED"}},
                "okta_sms": {"enroll": {"self": "OPTIONAL"}},
            }
        },
        rules=[rule(kind=PolicyType.MFA_ENROLL, actions={"enroll": {"self": "NEVER"}})],
    )
    table = evaluate([enroll], USER, {EVERYONE}).enrollment
    assert table["google_otp"] is Enrollment.OPTIONAL
    assert table["okta_sms"] is Enrollment.OPTIONAL
    assert table["okta_call"] is Enrollment.NOT_ALLOWED


def test_enrollment_of_a_factor_with_no_policy_key_is_not_allowed() -> None:
    effective = EffectivePolicy()
    assert effective.enrollment_of("sms", "OKTA") is Enrollment.OPTIONAL
    assert effective.enrollment_of("push", "OKTA") is Enrollment.NOT_ALLOWED
    assert effective.enrollment_of("token:software:totp", "RSA") is Enrollment.NOT_ALLOWED


# ---- parsers: defaults and Okta's field names -----------------------------------------------


def test_parse_password_defaults_are_oktas() -> None:
    parsed = parse_password({}, {})
    assert parsed == PasswordSettings()
    assert parsed.complexity == PasswordPolicy(
        min_length=8, min_lower_case=1, min_upper_case=1, min_number=1, min_symbol=0
    )
    assert parsed.lockout == Lockout(max_attempts=10, auto_unlock_minutes=None)
    assert parsed.recovery_factors == {"okta_email", "recovery_question"}
    assert (parsed.self_service_password_reset, parsed.self_service_unlock) == (True, False)
    # Not set: RECOVERY_TOKEN_TTL applies (Okta's default policy sets 60).
    assert parsed.recovery_token_lifetime_minutes is None
    assert parsed.min_age_minutes == 0


def test_parse_password_reads_the_common_password_dictionary() -> None:
    on = {"password": {"complexity": {"dictionary": {"common": {"exclude": True}}}}}
    assert parse_password(on, {}).complexity.exclude_common is True
    assert parse_password({}, {}).complexity.exclude_common is False
    with pytest.raises(PolicyInvalid) as caught:
        parse_password({"password": {"complexity": {"dictionary": {"common": {"exclude": 1}}}}}, {})
    assert caught.value.causes == [
        "settings.password.complexity.dictionary.common.exclude: must be true or false"
    ]


def test_parse_password_reads_every_field_it_honours() -> None:
    settings = {
        "password": {
            "complexity": {
                "minLength": 16,
                "minLowerCase": 0,
                "minUpperCase": 0,
                "minNumber": 0,
                "minSymbol": 1,
                "excludeUsername": False,
                "excludeAttributes": ["firstName", "lastName"],
            },
            "age": {
                "maxAgeDays": 90,
                "expireWarnDays": 14,
                "historyCount": 24,
                "minAgeMinutes": 120,
            },
            "lockout": {"maxAttempts": 5, "autoUnlockMinutes": 45, "showLockoutFailures": True},
        },
        "recovery": {
            "factors": {
                "okta_email": {
                    "status": "INACTIVE",
                    "properties": {"recoveryToken": {"tokenLifetimeMinutes": 30}},
                },
                "okta_sms": {"status": "ACTIVE"},
                "okta_call": {"status": "ACTIVE"},
                "recovery_question": {"status": "INACTIVE"},
            }
        },
    }
    actions = {
        "passwordChange": {"access": "ALLOW"},
        "selfServicePasswordReset": {"access": "DENY"},
        "selfServiceUnlock": {"access": "ALLOW"},
    }
    assert parse_password(settings, actions) == PasswordSettings(
        complexity=PasswordPolicy(
            min_length=16,
            min_lower_case=0,
            min_upper_case=0,
            min_number=0,
            min_symbol=1,
            exclude_username=False,
            exclude_attributes=("firstName", "lastName"),
            history_count=24,
        ),
        max_age_days=90,
        expire_warn_days=14,
        min_age_minutes=120,
        lockout=Lockout(max_attempts=5, auto_unlock_minutes=45, show_lockout_failures=True),
        recovery_factors=frozenset({"okta_sms", "okta_call"}),
        recovery_token_lifetime_minutes=30,
        self_service_password_reset=False,
        self_service_unlock=True,
    )


@pytest.mark.parametrize(
    ("factors", "active"),
    [
        # Listed factors: only the ACTIVE ones; a factor with no status is INACTIVE.
        ({"okta_sms": {"status": "ACTIVE"}}, {"okta_sms"}),
        ({"okta_sms": {}}, set()),
        ({"okta_email": {"status": "INACTIVE"}}, set()),
        # No factors listed: Okta's defaults.
        ({}, {"okta_email", "recovery_question"}),
    ],
)
def test_parse_password_recovery_factors(factors: dict[str, Any], active: set[str]) -> None:
    settings = {"recovery": {"factors": factors}}
    assert parse_password(settings, {}).recovery_factors == frozenset(active)


@pytest.mark.parametrize("auto_unlock", [None, 0])
def test_parse_password_no_auto_unlock(auto_unlock: int | None) -> None:
    settings = {"password": {"lockout": {"autoUnlockMinutes": auto_unlock}}}
    assert parse_password(settings, {}).lockout.auto_unlock_minutes is None


def test_parse_password_max_attempts_zero_never_locks() -> None:
    settings = {"password": {"lockout": {"maxAttempts": 0}}}
    assert parse_password(settings, {}).lockout.max_attempts == 0


def test_parse_sign_on_defaults() -> None:
    assert parse_sign_on({}) == SignOnSettings()
    assert parse_sign_on({"signon": {}}) == SignOnSettings(
        access_allowed=True,
        require_factor=False,
        factor_prompt_mode=FactorPromptMode.ALWAYS,
        remember_device_by_default=False,
        factor_lifetime_minutes=15,
        max_session_idle_minutes=120,
        max_session_lifetime_minutes=0,
    )


@pytest.mark.parametrize("mode", ["ALWAYS", "DEVICE", "SESSION"])
def test_parse_sign_on_prompt_modes(mode: str) -> None:
    parsed = parse_sign_on({"signon": {"requireFactor": True, "factorPromptMode": mode}})
    assert parsed.factor_prompt_mode is FactorPromptMode(mode)


def test_parse_sign_on_ignores_what_it_does_not_use() -> None:
    actions = {"signon": {"access": "ALLOW", "primaryFactor": "PASSWORD"}}
    assert parse_sign_on(actions) == SignOnSettings()


def test_parse_sign_on_reads_use_persistent_cookie() -> None:
    actions = {"signon": {"session": {"usePersistentCookie": True}}}
    assert parse_sign_on(actions) == SignOnSettings(use_persistent_cookie=True)
    with pytest.raises(PolicyInvalid) as caught:
        parse_sign_on({"signon": {"session": {"usePersistentCookie": "yes"}}})
    assert caught.value.causes == [
        "actions.signon.session.usePersistentCookie: must be true or false"
    ]


def test_parse_enrollment_lists_only_what_it_names() -> None:
    table = parse_enrollment(
        {
            "type": "FACTORS",
            "factors": {
                "okta_sms": {"enroll": {"self": "REQUIRED"}, "consent": {"type": "NONE"}},
                "okta_email": {"enroll": {"self": "OPTIONAL"}},
                "okta_question": {"enroll": {"self": "NOT_ALLOWED"}},
                "okta_call": {},  # no enroll.self: NOT_ALLOWED
                "fido_webauthn": {"enroll": {"self": "OPTIONAL"}},
            },
        }
    )
    assert table == {
        "google_otp": Enrollment.NOT_ALLOWED,
        "okta_otp": Enrollment.NOT_ALLOWED,
        "okta_sms": Enrollment.REQUIRED,
        "okta_call": Enrollment.NOT_ALLOWED,
        "okta_email": Enrollment.OPTIONAL,
        "okta_question": Enrollment.NOT_ALLOWED,
        "fido_webauthn": Enrollment.OPTIONAL,
    }


# ---- parsers: every cause -------------------------------------------------------------------


def _password_cause(settings: dict[str, Any], actions: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(PolicyInvalid) as failed:
        parse_password(settings, actions or {})
    return failed.value.causes


ALLOW_DENY = "must be one of ALLOW, DENY"


def whole(low: int, high: int) -> str:
    return f"must be a whole number from {low} to {high}"


@pytest.mark.parametrize(
    ("block", "key", "value", "problem"),
    [
        ("complexity", "minLength", 3, whole(4, 256)),
        ("complexity", "minLength", 257, whole(4, 256)),
        ("complexity", "minLength", 8.5, whole(4, 256)),
        ("complexity", "minLength", "12", whole(4, 256)),
        ("complexity", "minLength", None, whole(4, 256)),
        ("complexity", "minLowerCase", 2, whole(0, 1)),
        ("complexity", "minUpperCase", -1, whole(0, 1)),
        ("complexity", "minNumber", False, whole(0, 1)),
        ("complexity", "excludeUsername", 1, "must be true or false"),
        ("complexity", "excludeAttributes", [1], "must be a list of attribute names"),
        ("age", "maxAgeDays", -1, whole(0, 999)),
        ("age", "maxAgeDays", 1000, whole(0, 999)),
        ("age", "expireWarnDays", "7", whole(0, 999)),
        ("age", "historyCount", -1, whole(0, 24)),
        ("lockout", "maxAttempts", 101, whole(0, 100)),
        ("lockout", "autoUnlockMinutes", -5, whole(0, 10**6)),
        ("lockout", "autoUnlockMinutes", "30", whole(0, 10**6)),
        ("lockout", "showLockoutFailures", "true", "must be true or false"),
        ("lockout", "showLockoutFailures", 1, "must be true or false"),
    ],
)
def test_parse_password_rejects_bad_numbers_and_flags(
    block: str, key: str, value: Any, problem: str
) -> None:
    causes = _password_cause({"password": {block: {key: value}}})
    assert causes == [f"settings.password.{block}.{key}: {problem}"]


@pytest.mark.parametrize(
    ("settings", "cause"),
    [
        ({"password": []}, "settings.password: must be an object"),
        ({"password": {"complexity": []}}, "settings.password.complexity: must be an object"),
        ({"password": {"age": "90 days"}}, "settings.password.age: must be an object"),
        ({"password": {"lockout": 3}}, "settings.password.lockout: must be an object"),
        ({"recovery": []}, "settings.recovery: must be an object"),
        ({"recovery": {"factors": ["okta_sms"]}}, "settings.recovery.factors: must be an object"),
        (
            {"recovery": {"factors": {"email": {"status": "ACTIVE"}}}},
            "settings.recovery.factors.email: unknown recovery factor",
        ),
        (
            {"recovery": {"factors": {"okta_voice": {"status": "ACTIVE"}}}},
            "settings.recovery.factors.okta_voice: unknown recovery factor",
        ),
        (
            {"recovery": {"factors": {"recovery_question": {"status": True}}}},
            "settings.recovery.factors.recovery_question.status: must be one of ACTIVE, INACTIVE",
        ),
    ],
)
def test_parse_password_rejects_wrong_types(settings: dict[str, Any], cause: str) -> None:
    assert _password_cause(settings) == [cause]


@pytest.mark.parametrize(
    ("actions", "cause"),
    [
        ({"passwordChange": "ALLOW"}, "actions.passwordChange: must be an object"),
        ({"passwordChange": {"access": "NEVER"}}, "actions.passwordChange.access: " + ALLOW_DENY),
        (
            {"selfServicePasswordReset": {"access": True}},
            "actions.selfServicePasswordReset.access: " + ALLOW_DENY,
        ),
        ({"selfServiceUnlock": []}, "actions.selfServiceUnlock: must be an object"),
    ],
)
def test_parse_password_rejects_bad_rule_actions(actions: dict[str, Any], cause: str) -> None:
    assert _password_cause({}, actions) == [cause]


def test_parse_password_reports_every_problem_at_once() -> None:
    causes = _password_cause(
        {
            "password": {
                "complexity": {"minLength": 2, "minSymbol": 5},
                "lockout": {"maxAttempts": -1},
            },
            "recovery": {"factors": {"carrier_pigeon": {"status": "ACTIVE"}}},
        },
        {"selfServiceUnlock": {"access": "MAYBE"}},
    )
    assert sorted(causes) == sorted(
        [
            f"settings.password.complexity.minLength: {whole(4, 256)}",
            f"settings.password.complexity.minSymbol: {whole(0, 1)}",
            "settings.password.lockout.maxAttempts: must be a whole number from 0 to 100",
            "settings.recovery.factors.carrier_pigeon: unknown recovery factor",
            "actions.selfServiceUnlock.access: must be one of ALLOW, DENY",
        ]
    )


def test_parse_password_token_lifetime_bounds() -> None:
    def lifetime(minutes: Any) -> dict[str, Any]:
        token = {"recoveryToken": {"tokenLifetimeMinutes": minutes}}
        return {"recovery": {"factors": {"okta_email": {"status": "ACTIVE", "properties": token}}}}

    assert parse_password(lifetime(10080), {}).recovery_token_lifetime_minutes == 10080
    for bad in (0, 10081, "60"):
        (cause,) = _password_cause(lifetime(bad))
        assert cause.endswith(f"recoveryToken.tokenLifetimeMinutes: {whole(1, 10080)}")


@pytest.mark.parametrize("value", [1, "ACTIVE", True, ["ACTIVE"]])
def test_parse_password_rejects_an_okta_email_that_is_not_an_object(value: Any) -> None:
    causes = _password_cause({"recovery": {"factors": {"okta_email": value}}})
    assert causes and all(c.startswith("settings.recovery.factors.okta_email") for c in causes)


def test_parse_password_token_lifetime_cause_names_the_full_path() -> None:
    token = {"recoveryToken": {"tokenLifetimeMinutes": 0}}
    settings = {"recovery": {"factors": {"okta_email": {"status": "ACTIVE", "properties": token}}}}
    assert _password_cause(settings) == [
        "settings.recovery.factors.okta_email.properties.recoveryToken.tokenLifetimeMinutes: "
        "must be a whole number from 1 to 10080"
    ]


@pytest.mark.parametrize(
    ("settings", "cause"),
    [
        ({"factors": ["google_otp"]}, "settings.factors: must be an object"),
        (
            {"factors": {"google_authenticator": {"enroll": {"self": "REQUIRED"}}}},
            "settings.factors.google_authenticator: unknown factor; use one of "
            "google_otp, okta_otp, okta_sms, okta_call, okta_email, okta_question, "
            "fido_webauthn",
        ),
        (
            {"factors": {"GOOGLE_OTP": {"enroll": {"self": "REQUIRED"}}}},
            "settings.factors.GOOGLE_OTP: unknown factor; use one of google_otp, okta_otp, "
            "okta_sms, okta_call, okta_email, okta_question, fido_webauthn",
        ),
        (
            {"factors": {"okta_sms": {"enroll": "REQUIRED"}}},
            "settings.factors.okta_sms.enroll: must be an object",
        ),
        (
            {"factors": {"okta_sms": {"enroll": {"self": "required"}}}},
            "settings.factors.okta_sms.enroll.self: must be one of REQUIRED, OPTIONAL, NOT_ALLOWED",
        ),
        (
            {"factors": {"fido_u2f": {"enroll": {"self": "REQUIRED"}}}},
            "settings.factors.fido_u2f.enroll.self: this factor is not available in Portcullis",
        ),
    ],
)
def test_parse_enrollment_rejects_more(settings: dict[str, Any], cause: str) -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_enrollment(settings)
    assert failed.value.causes == [cause]


def test_parse_enrollment_reports_every_problem_at_once() -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_enrollment(
            {
                "factors": {
                    "okta_pigeon": {"enroll": {"self": "OPTIONAL"}},
                    "google_otp": {"enroll": {"self": "MAYBE"}},
                    "okta_push": {"enroll": {"self": "REQUIRED"}},
                }
            }
        )
    assert sorted(c.split(":")[0] for c in failed.value.causes) == [
        "settings.factors.google_otp.enroll.self",
        "settings.factors.okta_pigeon",
        "settings.factors.okta_push.enroll.self",
    ]


@pytest.mark.parametrize(
    ("actions", "cause"),
    [
        ({"enroll": "CHALLENGE"}, "actions.enroll: must be an object"),
        (
            {"enroll": {"self": "challenge"}},
            "actions.enroll.self: must be one of CHALLENGE, LOGIN, NEVER",
        ),
    ],
)
def test_parse_enroll_actions_rejects(actions: dict[str, Any], cause: str) -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_enroll_actions(actions)
    assert failed.value.causes == [cause]


S = "actions.signon"
MODES = "must be one of ALWAYS, DEVICE, SESSION"
BOOL = "must be true or false"


@pytest.mark.parametrize(
    ("actions", "cause"),
    [
        ({"signon": "ALLOW"}, f"{S}: must be an object"),
        ({"signon": {"access": "allow"}}, f"{S}.access: {ALLOW_DENY}"),
        ({"signon": {"factorPromptMode": "DEVICES"}}, f"{S}.factorPromptMode: {MODES}"),
        ({"signon": {"factorPromptMode": None}}, f"{S}.factorPromptMode: {MODES}"),
        ({"signon": {"rememberDeviceByDefault": "yes"}}, f"{S}.rememberDeviceByDefault: {BOOL}"),
        ({"signon": {"requireFactor": 1}}, f"{S}.requireFactor: {BOOL}"),
        ({"signon": {"factorLifetime": 0}}, f"{S}.factorLifetime: {whole(1, 10**6)}"),
        ({"signon": {"factorLifetime": "15"}}, f"{S}.factorLifetime: {whole(1, 10**6)}"),
        (
            {"signon": {"session": {"maxSessionIdleMinutes": 1.5}}},
            f"{S}.session.maxSessionIdleMinutes: {whole(1, 10**6)}",
        ),
        (
            {"signon": {"session": {"maxSessionLifetimeMinutes": -1}}},
            f"{S}.session.maxSessionLifetimeMinutes: {whole(0, 10**6)}",
        ),
    ],
)
def test_parse_sign_on_rejects_more(actions: dict[str, Any], cause: str) -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_sign_on(actions)
    assert failed.value.causes == [cause]


def test_parse_sign_on_reports_every_problem_at_once() -> None:
    with pytest.raises(PolicyInvalid) as failed:
        parse_sign_on(
            {
                "signon": {
                    "access": "MAYBE",
                    "requireFactor": "yes",
                    "factorPromptMode": "NEVER",
                    "session": {"maxSessionIdleMinutes": 0},
                }
            }
        )
    assert sorted(c.split(":")[0] for c in failed.value.causes) == [
        f"{S}.access",
        f"{S}.factorPromptMode",
        f"{S}.requireFactor",
        f"{S}.session.maxSessionIdleMinutes",
    ]
