"""The policies that govern sign-in, as the /authn engine reads them.

Okta's ``/api/v1/policies`` holds policies of three types (PASSWORD,
MFA_ENROLL, OKTA_SIGN_ON), each with rules, group conditions and a priority.
For one user, the policy that applies is the highest-priority active policy
of that type whose group condition matches the user, and within it the
highest-priority active rule that matches. The engine never sees policy
documents: it sees one :class:`EffectivePolicy`, the settings that came out of
that evaluation. Pure: no Flask, SQL or Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.passwords import PasswordPolicy


class PolicyType(StrEnum):
    PASSWORD = "PASSWORD"
    MFA_ENROLL = "MFA_ENROLL"
    OKTA_SIGN_ON = "OKTA_SIGN_ON"


class Enrollment(StrEnum):
    """``settings.factors.<key>.enroll.self`` of an MFA_ENROLL policy."""

    REQUIRED = "REQUIRED"
    OPTIONAL = "OPTIONAL"
    NOT_ALLOWED = "NOT_ALLOWED"


class FactorPromptMode(StrEnum):
    """``actions.signon.factorPromptMode`` of a sign-on rule."""

    ALWAYS = "ALWAYS"  # every sign-in
    DEVICE = "DEVICE"  # new devices only (remembered devices skip MFA)
    SESSION = "SESSION"  # once per session


#: MFA_ENROLL policy factor keys (Okta's names) → (factorType, provider).
ENROLL_FACTOR_KEYS: dict[str, tuple[str, str]] = {
    "google_otp": ("token:software:totp", "GOOGLE"),
    "okta_otp": ("token:software:totp", "OKTA"),
    "okta_sms": ("sms", "OKTA"),
    "okta_call": ("call", "OKTA"),
    "okta_email": ("email", "OKTA"),
    "okta_question": ("question", "OKTA"),
}


@dataclass(frozen=True)
class Lockout:
    max_attempts: int = 10  # 0: never lock
    auto_unlock_minutes: int | None = None  # None: only an unlock ends it
    show_lockout_failures: bool = False


@dataclass(frozen=True)
class PasswordSettings:
    complexity: PasswordPolicy = field(default_factory=PasswordPolicy)
    max_age_days: int = 0  # 0: passwords never expire
    expire_warn_days: int = 0
    lockout: Lockout = field(default_factory=Lockout)
    #: Recovery factors allowed for self-service reset/unlock: "okta_email",
    #: "okta_sms", "okta_call", "recovery_question".
    recovery_factors: frozenset[str] = frozenset({"okta_email", "recovery_question"})
    recovery_token_lifetime_minutes: int = 60
    self_service_password_reset: bool = True
    self_service_unlock: bool = False


@dataclass(frozen=True)
class SignOnSettings:
    access_allowed: bool = True
    require_factor: bool = False
    factor_prompt_mode: FactorPromptMode = FactorPromptMode.ALWAYS
    remember_device_by_default: bool = False
    factor_lifetime_minutes: int = 15  # how long a remembered device skips MFA
    max_session_idle_minutes: int = 120
    max_session_lifetime_minutes: int = 0  # 0: no absolute limit beyond idle


@dataclass(frozen=True)
class EffectivePolicy:
    """The settings that apply to one user, after policy and rule evaluation."""

    password: PasswordSettings = field(default_factory=PasswordSettings)
    #: MFA_ENROLL: factor key (see ENROLL_FACTOR_KEYS) → requirement.
    enrollment: dict[str, Enrollment] = field(
        default_factory=lambda: dict.fromkeys(ENROLL_FACTOR_KEYS, Enrollment.OPTIONAL)
    )
    sign_on: SignOnSettings = field(default_factory=SignOnSettings)
    password_policy_id: str | None = None
    enroll_policy_id: str | None = None
    sign_on_policy_id: str | None = None

    def enrollment_of(self, factor_type: str, provider: str) -> Enrollment:
        for key, kind in ENROLL_FACTOR_KEYS.items():
            if kind == (factor_type, provider):
                return self.enrollment.get(key, Enrollment.NOT_ALLOWED)
        return Enrollment.NOT_ALLOWED


# ---- policy documents, as the Policies API stores them --------------------------------------


class PolicyInvalid(ValueError):
    """A policy or rule document that cannot be used; ``causes`` says why."""

    def __init__(self, causes: list[str]) -> None:
        super().__init__("; ".join(causes))
        self.causes = causes


@dataclass
class RuleDoc:
    id: str
    policy_id: str
    type: str
    name: str
    status: str
    priority: int
    system: bool
    conditions: dict[str, Any]
    actions: dict[str, Any]
    created: datetime
    last_updated: datetime

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


@dataclass
class PolicyDoc:
    id: str
    type: PolicyType
    name: str
    description: str
    status: str
    priority: int
    system: bool
    conditions: dict[str, Any]
    settings: dict[str, Any]
    created: datetime
    last_updated: datetime
    rules: list[RuleDoc] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


RULE_TYPES = {
    PolicyType.PASSWORD: "PASSWORD",
    PolicyType.MFA_ENROLL: "MFA_ENROLL",
    PolicyType.OKTA_SIGN_ON: "SIGN_ON",
}


def _ids(block: Any, key: str) -> list[str]:
    value = (block or {}).get(key) if isinstance(block, dict) else None
    return [str(v) for v in value] if isinstance(value, list) else []


def applies_to(conditions: dict[str, Any], user_id: str, group_ids: set[str]) -> bool:
    """Whether a policy's or rule's ``conditions.people`` match the user.

    Users excluded by id or by group never match; users included by id always
    do; otherwise a ``groups.include`` list must name one of the user's
    groups, and no ``groups.include`` means everyone.
    """
    people = (conditions or {}).get("people") or {}
    users, groups = people.get("users"), people.get("groups")
    if user_id in _ids(users, "exclude") or group_ids & set(_ids(groups, "exclude")):
        return False
    if user_id in _ids(users, "include"):
        return True
    include = _ids(groups, "include")
    if include:
        return bool(group_ids & set(include))
    return not _ids(users, "include")


def _first(items: list[Any], user_id: str, group_ids: set[str]) -> Any | None:
    live = sorted((i for i in items if i.active), key=lambda i: (i.priority, i.system))
    return next((i for i in live if applies_to(i.conditions, user_id, group_ids)), None)


def evaluate(policies: list[PolicyDoc], user_id: str, group_ids: set[str]) -> EffectivePolicy:
    """The settings that apply to one user: per type, the highest-priority active
    policy that matches, then its highest-priority active rule that matches."""
    chosen: dict[PolicyType, tuple[PolicyDoc, RuleDoc | None]] = {}
    for kind in PolicyType:
        policy = _first([p for p in policies if p.type is kind], user_id, group_ids)
        if policy is not None:
            chosen[kind] = (policy, _first(policy.rules, user_id, group_ids))
    result = EffectivePolicy()
    if PolicyType.PASSWORD in chosen:
        policy, rule = chosen[PolicyType.PASSWORD]
        password = parse_password(policy.settings, rule.actions if rule else {})
        result = replace(result, password=password, password_policy_id=policy.id)
    if PolicyType.MFA_ENROLL in chosen:
        policy, _rule = chosen[PolicyType.MFA_ENROLL]
        result = replace(
            result, enrollment=parse_enrollment(policy.settings), enroll_policy_id=policy.id
        )
    if PolicyType.OKTA_SIGN_ON in chosen:
        policy, rule = chosen[PolicyType.OKTA_SIGN_ON]
        sign_on = parse_sign_on(rule.actions if rule else {})
        result = replace(result, sign_on=sign_on, sign_on_policy_id=policy.id)
    return result


# ---- Okta's JSON → settings (also the validation of what the API accepts) ----------------


def _int(
    block: dict[str, Any],
    key: str,
    path: str,
    causes: list[str],
    default: int,
    low: int = 0,
    high: int = 10**6,
    *,
    nullable: bool = False,
) -> int | None:
    value = block.get(key, default)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        causes.append(f"{path}.{key}: must be a whole number from {low} to {high}")
        return default
    return value


def _bool(block: dict[str, Any], key: str, path: str, causes: list[str], default: bool) -> bool:
    value = block.get(key, default)
    if not isinstance(value, bool):
        causes.append(f"{path}.{key}: must be true or false")
        return default
    return value


def _obj(parent: dict[str, Any], key: str, path: str, causes: list[str]) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        causes.append(f"{path}.{key}: must be an object")
        return {}
    return value


def _choice(
    block: dict[str, Any],
    key: str,
    path: str,
    causes: list[str],
    allowed: tuple[str, ...],
    default: str,
) -> str:
    value = block.get(key, default)
    if value not in allowed:
        causes.append(f"{path}.{key}: must be one of {', '.join(allowed)}")
        return default
    return str(value)


RECOVERY_KEYS = ("okta_email", "okta_sms", "okta_call", "recovery_question")


def parse_password(settings: dict[str, Any], actions: dict[str, Any]) -> PasswordSettings:
    causes: list[str] = []
    password = _obj(settings, "password", "settings", causes)
    cx = _obj(password, "complexity", "settings.password", causes)
    p = "settings.password.complexity"
    excluded = cx.get("excludeAttributes", [])
    if not isinstance(excluded, list) or not all(isinstance(a, str) for a in excluded):
        causes.append(f"{p}.excludeAttributes: must be a list of attribute names")
        excluded = []
    age = _obj(password, "age", "settings.password", causes)
    lock = _obj(password, "lockout", "settings.password", causes)
    complexity = PasswordPolicy(
        min_length=_int(cx, "minLength", p, causes, 8, 4, 256) or 8,
        min_lower_case=_int(cx, "minLowerCase", p, causes, 1, 0, 1) or 0,
        min_upper_case=_int(cx, "minUpperCase", p, causes, 1, 0, 1) or 0,
        min_number=_int(cx, "minNumber", p, causes, 1, 0, 1) or 0,
        min_symbol=_int(cx, "minSymbol", p, causes, 0, 0, 1) or 0,
        exclude_username=_bool(cx, "excludeUsername", p, causes, True),
        exclude_attributes=tuple(excluded),
        history_count=_int(age, "historyCount", "settings.password.age", causes, 4, 0, 24) or 0,
    )
    recovery = _obj(
        _obj(settings, "recovery", "settings", causes), "factors", "settings.recovery", causes
    )
    active = set()
    for key, value in recovery.items():
        if key not in RECOVERY_KEYS or not isinstance(value, dict):
            causes.append(f"settings.recovery.factors.{key}: unknown recovery factor")
        elif (
            _choice(
                value,
                "status",
                f"settings.recovery.factors.{key}",
                causes,
                ("ACTIVE", "INACTIVE"),
                "INACTIVE",
            )
            == "ACTIVE"
        ):
            active.add(key)
    if not recovery:
        active = {"okta_email", "recovery_question"}
    token = _obj(
        _obj(recovery.get("okta_email") or {}, "properties", "okta_email", causes),
        "recoveryToken",
        "okta_email.properties",
        causes,
    )
    access = {
        name: _choice(
            _obj(actions, name, "actions", causes),
            "access",
            f"actions.{name}",
            causes,
            ("ALLOW", "DENY"),
            default,
        )
        for name, default in (
            ("passwordChange", "ALLOW"),
            ("selfServicePasswordReset", "ALLOW"),
            ("selfServiceUnlock", "DENY"),
        )
    }
    result = PasswordSettings(
        complexity=complexity,
        max_age_days=_int(age, "maxAgeDays", "settings.password.age", causes, 0, 0, 999) or 0,
        expire_warn_days=_int(age, "expireWarnDays", "settings.password.age", causes, 0, 0, 999)
        or 0,
        lockout=Lockout(
            max_attempts=_int(lock, "maxAttempts", "settings.password.lockout", causes, 10, 0, 100)
            or 0,
            auto_unlock_minutes=_int(
                lock,
                "autoUnlockMinutes",
                "settings.password.lockout",
                causes,
                0,
                0,
                10**6,
                nullable=True,
            )
            or None,
            show_lockout_failures=_bool(
                lock, "showLockoutFailures", "settings.password.lockout", causes, False
            ),
        ),
        recovery_factors=frozenset(active),
        recovery_token_lifetime_minutes=_int(
            token,
            "tokenLifetimeMinutes",
            "okta_email.properties.recoveryToken",
            causes,
            60,
            1,
            10080,
        )
        or 60,
        self_service_password_reset=access["selfServicePasswordReset"] == "ALLOW",
        self_service_unlock=access["selfServiceUnlock"] == "ALLOW",
    )
    if causes:
        raise PolicyInvalid(causes)
    return result


def parse_enrollment(settings: dict[str, Any]) -> dict[str, Enrollment]:
    causes: list[str] = []
    factors = _obj(settings, "factors", "settings", causes)
    table = (
        dict.fromkeys(ENROLL_FACTOR_KEYS, Enrollment.NOT_ALLOWED)
        if factors
        else dict(EffectivePolicy().enrollment)
    )
    for key, value in factors.items():
        path = f"settings.factors.{key}"
        if key not in ENROLL_FACTOR_KEYS:
            causes.append(f"{path}: unknown factor; use one of {', '.join(ENROLL_FACTOR_KEYS)}")
            continue
        enroll = _obj(value if isinstance(value, dict) else {}, "enroll", path, causes)
        choice = _choice(
            enroll,
            "self",
            f"{path}.enroll",
            causes,
            tuple(e.value for e in Enrollment),
            "NOT_ALLOWED",
        )
        table[key] = Enrollment(choice)
    if causes:
        raise PolicyInvalid(causes)
    return table


def parse_sign_on(actions: dict[str, Any]) -> SignOnSettings:
    causes: list[str] = []
    signon = _obj(actions, "signon", "actions", causes)
    session = _obj(signon, "session", "actions.signon", causes)
    p = "actions.signon"
    result = SignOnSettings(
        access_allowed=_choice(signon, "access", p, causes, ("ALLOW", "DENY"), "ALLOW") == "ALLOW",
        require_factor=_bool(signon, "requireFactor", p, causes, False),
        factor_prompt_mode=FactorPromptMode(
            _choice(
                signon,
                "factorPromptMode",
                p,
                causes,
                tuple(m.value for m in FactorPromptMode),
                "ALWAYS",
            )
        ),
        remember_device_by_default=_bool(signon, "rememberDeviceByDefault", p, causes, False),
        factor_lifetime_minutes=_int(signon, "factorLifetime", p, causes, 15, 1, 10**6) or 15,
        max_session_idle_minutes=_int(
            session, "maxSessionIdleMinutes", f"{p}.session", causes, 120, 1, 10**6
        )
        or 120,
        max_session_lifetime_minutes=_int(
            session, "maxSessionLifetimeMinutes", f"{p}.session", causes, 0, 0, 10**6
        )
        or 0,
    )
    if causes:
        raise PolicyInvalid(causes)
    return result
