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

from dataclasses import dataclass, field
from enum import StrEnum

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
