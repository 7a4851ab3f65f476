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
    "fido_webauthn": ("webauthn", "FIDO"),
}
#: Not offered for enrolment until a policy names them: WebAuthn works only
#: where WEBAUTHN_RP_ID and the origins fit the page (as in Okta, where an
#: administrator turns the factor on).
OFF_BY_DEFAULT = ("fido_webauthn",)


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
    min_age_minutes: int = 0  # 0: a user may change the password again at once
    lockout: Lockout = field(default_factory=Lockout)
    #: Recovery factors allowed for self-service reset/unlock: "okta_email",
    #: "okta_sms", "okta_call", "recovery_question".
    recovery_factors: frozenset[str] = frozenset({"okta_email", "recovery_question"})
    #: None: not set by the policy (RECOVERY_TOKEN_TTL applies).
    recovery_token_lifetime_minutes: int | None = None
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
    #: The sid cookie outlives the browser (Expires/Max-Age) instead of ending with it.
    use_persistent_cookie: bool = False


@dataclass(frozen=True)
class EffectivePolicy:
    """The settings that apply to one user, after policy and rule evaluation."""

    password: PasswordSettings = field(default_factory=PasswordSettings)
    #: MFA_ENROLL: factor key (see ENROLL_FACTOR_KEYS) → requirement.
    enrollment: dict[str, Enrollment] = field(
        default_factory=lambda: {
            key: Enrollment.NOT_ALLOWED if key in OFF_BY_DEFAULT else Enrollment.OPTIONAL
            for key in ENROLL_FACTOR_KEYS
        }
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


#: Policy type → the ``type`` of its rules.
RULE_TYPES = {
    PolicyType.PASSWORD: "PASSWORD",
    PolicyType.MFA_ENROLL: "MFA_ENROLL",
    PolicyType.OKTA_SIGN_ON: "SIGN_ON",
}
ANYWHERE = "ANYWHERE"


def _ids(block: Any, key: str) -> list[str]:
    value = (block or {}).get(key) if isinstance(block, dict) else None
    return [str(v) for v in value] if isinstance(value, list) else []


def applies_to(conditions: dict[str, Any], user_id: str, group_ids: set[str]) -> bool:
    """Whether a policy's or rule's conditions match the user.

    Users excluded by id or by group never match; users included by id always
    do; otherwise a ``groups.include`` list must name one of the user's
    groups, and no ``groups.include`` means everyone. A network condition
    other than ``ANYWHERE`` never matches: Portcullis has no network zones.
    """
    conditions = conditions or {}
    network = conditions.get("network") or {}
    if (network.get("connection") or ANYWHERE) != ANYWHERE:
        return False
    people = conditions.get("people") or {}
    users, groups = people.get("users"), people.get("groups")
    if user_id in _ids(users, "exclude") or group_ids & set(_ids(groups, "exclude")):
        return False
    if user_id in _ids(users, "include"):
        return True
    include = _ids(groups, "include")
    if include:
        return bool(group_ids & set(include))
    return not _ids(users, "include")


def _by_priority(items: list[Any]) -> list[Any]:
    # A system (default) item sorts after any other item with the same priority.
    return sorted((i for i in items if i.active), key=lambda i: (i.priority, i.system))


def choose(
    policies: list[PolicyDoc], kind: PolicyType, user_id: str, group_ids: set[str]
) -> tuple[PolicyDoc, RuleDoc] | None:
    """Okta's policy evaluation for one type: policies in priority order, the
    first whose conditions match *and* that has an active rule whose conditions
    match. A policy with no matching rule is passed over ("Policies that have
    no Rules aren't considered during evaluation")."""
    for policy in _by_priority([p for p in policies if p.type is kind]):
        if not applies_to(policy.conditions, user_id, group_ids):
            continue
        for rule in _by_priority(policy.rules):
            if applies_to(rule.conditions, user_id, group_ids):
                return policy, rule
    return None


def evaluate(policies: list[PolicyDoc], user_id: str, group_ids: set[str]) -> EffectivePolicy:
    """The settings that apply to one user: per type, the policy and rule that
    `choose` picks, read into settings. A type with no match keeps
    Okta's defaults (the migration's default policies make that rare)."""
    result = EffectivePolicy()
    chosen = choose(policies, PolicyType.PASSWORD, user_id, group_ids)
    if chosen is not None:
        policy, rule = chosen
        password = parse_password(policy.settings, rule.actions)
        result = replace(result, password=password, password_policy_id=policy.id)
    chosen = choose(policies, PolicyType.MFA_ENROLL, user_id, group_ids)
    if chosen is not None:
        policy, rule = chosen
        enrollment = parse_enrollment(policy.settings)
        if parse_enroll_actions(rule.actions) == "NEVER":
            # A rule that never prompts for enrolment cannot force one either.
            enrollment = {
                key: Enrollment.OPTIONAL if value is Enrollment.REQUIRED else value
                for key, value in enrollment.items()
            }
        result = replace(result, enrollment=enrollment, enroll_policy_id=policy.id)
    chosen = choose(policies, PolicyType.OKTA_SIGN_ON, user_id, group_ids)
    if chosen is not None:
        policy, rule = chosen
        sign_on = parse_sign_on(rule.actions)
        result = replace(result, sign_on=sign_on, sign_on_policy_id=policy.id)
    return result


# ---- conditions --------------------------------------------------------------------------


def parse_conditions(raw: Any, *, rule: bool) -> dict[str, Any]:
    """Check a ``conditions`` object as the Policies API accepts it.

    ``people.groups.include/exclude`` on policies and rules,
    ``people.users.include/exclude`` on rules, ``network.connection``
    ``ANYWHERE`` on rules. Other condition types (``authContext``, ``risk``…)
    are kept as sent but play no part in evaluation. Returns the conditions.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyInvalid(["conditions: must be an object"])
    causes: list[str] = []
    people = {} if raw.get("people") is None else raw["people"]
    if not isinstance(people, dict):
        causes.append("conditions.people: must be an object")
        people = {}
    for block in ("groups", "users"):
        part = {} if people.get(block) is None else people[block]
        if not isinstance(part, dict):
            causes.append(f"conditions.people.{block}: must be an object")
            continue
        for key in ("include", "exclude"):
            values = [] if part.get(key) is None else part[key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                causes.append(f"conditions.people.{block}.{key}: must be a list of ids")
            elif block == "users" and values and not rule:
                causes.append(f"conditions.people.users.{key}: a policy can only name groups")
    network = raw.get("network")
    if network is not None:
        if not isinstance(network, dict):
            causes.append("conditions.network: must be an object")
        elif (network.get("connection") or ANYWHERE) != ANYWHERE:
            causes.append(
                "conditions.network.connection: only ANYWHERE is supported (no network zones)"
            )
    if causes:
        raise PolicyInvalid(causes)
    return raw


def group_ids_in(conditions: dict[str, Any]) -> set[str]:
    """Every group id a (checked) conditions object names."""
    groups = (conditions.get("people") or {}).get("groups") or {}
    return set(_ids(groups, "include")) | set(_ids(groups, "exclude"))


# ---- Okta's JSON → settings (also the validation of what the API accepts) ----------------


def _int(
    block: dict[str, Any],
    key: str,
    path: str,
    causes: list[str],
    default: int | None,
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
    """A PASSWORD policy's ``settings`` and its rule's ``actions`` →
    :class:`PasswordSettings`. Missing values take Okta's defaults; wrong ones
    raise :class:`PolicyInvalid` with one cause each."""
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
    common = _obj(_obj(cx, "dictionary", p, causes), "common", f"{p}.dictionary", causes)
    complexity = PasswordPolicy(
        min_length=_int(cx, "minLength", p, causes, 8, 4, 256) or 8,
        min_lower_case=_int(cx, "minLowerCase", p, causes, 1, 0, 1) or 0,
        min_upper_case=_int(cx, "minUpperCase", p, causes, 1, 0, 1) or 0,
        min_number=_int(cx, "minNumber", p, causes, 1, 0, 1) or 0,
        min_symbol=_int(cx, "minSymbol", p, causes, 0, 0, 1) or 0,
        exclude_username=_bool(cx, "excludeUsername", p, causes, True),
        exclude_attributes=tuple(excluded),
        history_count=_int(age, "historyCount", "settings.password.age", causes, 4, 0, 24) or 0,
        exclude_common=_bool(common, "exclude", f"{p}.dictionary.common", causes, False),
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
    email = recovery.get("okta_email")
    email_path = "settings.recovery.factors.okta_email"
    token = _obj(
        _obj(email if isinstance(email, dict) else {}, "properties", email_path, causes),
        "recoveryToken",
        f"{email_path}.properties",
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
        min_age_minutes=_int(age, "minAgeMinutes", "settings.password.age", causes, 0, 0, 9999)
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
            "settings.recovery.factors.okta_email.properties.recoveryToken",
            causes,
            None,
            1,
            10080,
            nullable=True,
        ),
        self_service_password_reset=access["selfServicePasswordReset"] == "ALLOW",
        self_service_unlock=access["selfServiceUnlock"] == "ALLOW",
    )
    if causes:
        raise PolicyInvalid(causes)
    return result


#: Factor keys of Okta's MFA enrollment policy that Portcullis has no factor
#: for: accepted (clients send them) but never REQUIRED, as no one could comply.
OTHER_ENROLL_KEYS = (
    "duo",
    "fido_u2f",
    "okta_password",
    "okta_push",
    "rsa_token",
    "symantec_vip",
    "yubikey_token",
)
ENROLL_ACTIONS = ("CHALLENGE", "LOGIN", "NEVER")


def parse_enrollment(settings: dict[str, Any]) -> dict[str, Enrollment]:
    """``settings.factors`` of an MFA_ENROLL policy → factor key → requirement.

    As in Okta, a factor left out of ``settings.factors`` is NOT_ALLOWED; with
    no ``factors`` at all every factor is OPTIONAL (the default policy)."""
    causes: list[str] = []
    factors = _obj(settings, "factors", "settings", causes)
    table = (
        dict.fromkeys(ENROLL_FACTOR_KEYS, Enrollment.NOT_ALLOWED)
        if factors
        else dict(EffectivePolicy().enrollment)
    )
    allowed = tuple(e.value for e in Enrollment)
    for key, value in factors.items():
        path = f"settings.factors.{key}"
        if key not in ENROLL_FACTOR_KEYS and key not in OTHER_ENROLL_KEYS:
            causes.append(f"{path}: unknown factor; use one of {', '.join(ENROLL_FACTOR_KEYS)}")
            continue
        if not isinstance(value, dict):
            causes.append(f"{path}: must be an object")
            continue
        enroll = _obj(value, "enroll", path, causes)
        choice = Enrollment(
            _choice(enroll, "self", f"{path}.enroll", causes, allowed, "NOT_ALLOWED")
        )
        if key in ENROLL_FACTOR_KEYS:
            table[key] = choice
        elif choice is Enrollment.REQUIRED:
            causes.append(f"{path}.enroll.self: this factor is not available in Portcullis")
    if causes:
        raise PolicyInvalid(causes)
    return table


def parse_enroll_actions(actions: dict[str, Any]) -> str:
    """``actions.enroll.self`` of an MFA_ENROLL rule: CHALLENGE (the default),
    LOGIN or NEVER."""
    causes: list[str] = []
    enroll = _obj(actions, "enroll", "actions", causes)
    choice = _choice(enroll, "self", "actions.enroll", causes, ENROLL_ACTIONS, "CHALLENGE")
    if causes:
        raise PolicyInvalid(causes)
    return choice


def parse_sign_on(actions: dict[str, Any]) -> SignOnSettings:
    """``actions.signon`` of an OKTA_SIGN_ON rule → :class:`SignOnSettings`."""
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
        use_persistent_cookie=_bool(session, "usePersistentCookie", f"{p}.session", causes, False),
    )
    if causes:
        raise PolicyInvalid(causes)
    return result
