"""The /api/v1/authn transaction state machine: statuses, actions, the table of
which action is allowed in which status, ``next_status``, and the rules that
turn a user, the policies and a clock into the facts it decides on.

Pure: no Flask, SQL or Redis. The engine (app/services/authn/) loads a
transaction, checks ``ALLOWED``, applies one action, asks ``next_status`` and
saves with compare-and-set (see ../shared/ARCHITECTURE.md, "The one idea").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from app.domain.factors import FACTOR_TYPES, Factor, FactorKind
from app.domain.policy import EffectivePolicy, Enrollment, Lockout, PasswordSettings
from app.domain.users import User, UserStatus


class Status(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PASSWORD_WARN = "PASSWORD_WARN"
    PASSWORD_EXPIRED = "PASSWORD_EXPIRED"
    RECOVERY = "RECOVERY"
    RECOVERY_CHALLENGE = "RECOVERY_CHALLENGE"
    PASSWORD_RESET = "PASSWORD_RESET"
    LOCKED_OUT = "LOCKED_OUT"
    MFA_ENROLL = "MFA_ENROLL"
    MFA_ENROLL_ACTIVATE = "MFA_ENROLL_ACTIVATE"
    MFA_REQUIRED = "MFA_REQUIRED"
    MFA_CHALLENGE = "MFA_CHALLENGE"
    SUCCESS = "SUCCESS"


class Action(StrEnum):
    """One /authn endpoint each (``READ`` is ``POST /authn`` with a stateToken only)."""

    READ = "read"
    ENROLL_FACTOR = "factors"
    ACTIVATE_FACTOR = "factors/{fid}/lifecycle/activate"
    RESEND_ACTIVATION = "factors/{fid}/lifecycle/resend"
    VERIFY_FACTOR = "factors/{fid}/verify"
    RESEND_CHALLENGE = "factors/{fid}/verify/resend"
    PREVIOUS = "previous"
    SKIP = "skip"
    CANCEL = "cancel"
    CHANGE_PASSWORD = "credentials/change_password"
    RESET_PASSWORD = "credentials/reset_password"
    RECOVERY_VERIFY = "recovery/factors/{type}/verify"
    RECOVERY_RESEND = "recovery/factors/{type}/resend"
    RECOVERY_ANSWER = "recovery/answer"


class RecoveryType(StrEnum):
    PASSWORD = "PASSWORD"
    UNLOCK = "UNLOCK"


S, A = Status, Action
_ALWAYS = frozenset({A.READ, A.CANCEL})

#: Which action each status accepts; anything else answers 403 E0000079.
ALLOWED: dict[Status, frozenset[Action]] = {
    S.UNAUTHENTICATED: _ALWAYS,
    S.PASSWORD_WARN: _ALWAYS | {A.CHANGE_PASSWORD, A.SKIP},
    S.PASSWORD_EXPIRED: _ALWAYS | {A.CHANGE_PASSWORD},
    S.RECOVERY: _ALWAYS | {A.RECOVERY_ANSWER},
    S.RECOVERY_CHALLENGE: _ALWAYS | {A.RECOVERY_VERIFY, A.RECOVERY_RESEND},
    S.PASSWORD_RESET: _ALWAYS | {A.RESET_PASSWORD},
    # LOCKED_OUT answers carry no stateToken: /authn/recovery/unlock starts anew.
    S.LOCKED_OUT: _ALWAYS,
    S.MFA_ENROLL: _ALWAYS | {A.ENROLL_FACTOR, A.SKIP},
    S.MFA_ENROLL_ACTIVATE: _ALWAYS | {A.ACTIVATE_FACTOR, A.RESEND_ACTIVATION, A.PREVIOUS},
    S.MFA_REQUIRED: _ALWAYS | {A.VERIFY_FACTOR},
    S.MFA_CHALLENGE: _ALWAYS | {A.VERIFY_FACTOR, A.RESEND_CHALLENGE, A.PREVIOUS},
    S.SUCCESS: frozenset(),  # the transaction is over: its stateToken is spent
}


def allowed(status: Status, action: Action) -> bool:
    return action in ALLOWED[status]


@dataclass(frozen=True)
class Facts:
    """What ``next_status`` needs to know about the user and the policies, read
    fresh before each decision (the user may have been locked meanwhile)."""

    locked: bool = False
    password_expired: bool = False
    days_until_password_expiry: int | None = None
    warn_days: int = 0  # password policy age.expireWarnDays
    required_enrollments_missing: bool = False
    optional_enrollments_available: bool = False
    mfa_required: bool = False  # sign-on policy asks for a factor this time
    #: The user had an active factor when the transaction began (and still has
    #: it). Such a user proves one before anything is enrolled; a user with none
    #: may count a first enrolment as the MFA.
    has_prior_factors: bool = True
    recovery_question_required: bool = False  # recovery: answer before the reset


@dataclass
class Progress:
    """What the transaction has established so far (lives in the transaction)."""

    warn_requested: bool = False  # options.warnBeforePasswordExpired
    warn_skipped: bool = False
    multi_optional_enroll: bool = False  # options.multiOptionalFactorEnroll
    enroll_skipped: bool = False
    enrolling_factor_id: str | None = None  # an enrolment awaiting activation
    #: Factors enrolled and proven in this transaction. They stay inactive in
    #: the store until SUCCESS: a cancelled, expired or failed transaction
    #: leaves nothing active behind.
    enrolled_factor_ids: list[str] = field(default_factory=list)
    challenged_factor_id: str | None = None  # a code sent, answer awaited
    #: The WebAuthn challenge (base64url) of the enrolment or sign-in ceremony
    #: under way: bound to this transaction, spent by the answer that verifies,
    #: gone with the transaction.
    webauthn_challenge: str | None = None
    mfa_verified: bool = False
    amr: list[str] = field(default_factory=list)
    # Recovery (forgot password, unlock): the same machine, other requirements.
    recovery_type: RecoveryType | None = None
    recovery_verified: bool = False  # the SMS/call code or the recovery token
    recovery_answered: bool = False
    password_reset: bool = False
    activating: bool = False  # an activation token: the user chooses a first password

    @property
    def recovering(self) -> bool:
        """Still proving the user another way: an unlock, or a password recovery
        (or activation) before its new password is set. A lock does not end such
        a transaction; once the password is reset it is a sign-in like any other."""
        if self.recovery_type is RecoveryType.UNLOCK:
            return True
        return self.recovery_type is RecoveryType.PASSWORD and not self.password_reset


def next_status(facts: Facts, progress: Progress) -> Status:
    """The first requirement not yet met, in the order Okta's engine applies them.

    Recovery and activation first prove the user another way (a code, a link,
    a new password); a password recovery or an activation then goes on through
    the same sign-on requirements as a password, so that no path ends below the
    sign-on policy. An unlock ends at SUCCESS without a session.
    """
    if progress.recovery_type is not None:
        status = _next_recovery_status(facts, progress)
        if status is not S.SUCCESS or progress.recovery_type is RecoveryType.UNLOCK:
            return status
    if facts.locked:
        return S.LOCKED_OUT
    if facts.password_expired:
        return S.PASSWORD_EXPIRED
    if _should_warn(facts, progress):
        return S.PASSWORD_WARN
    if progress.enrolling_factor_id is not None:
        return S.MFA_ENROLL_ACTIVATE
    if verification_due(facts, progress):
        return S.MFA_CHALLENGE if progress.challenged_factor_id else S.MFA_REQUIRED
    if enrollment_due(facts, progress) or first_enrollment_due(facts, progress):
        return S.MFA_ENROLL
    return S.SUCCESS


def enrollment_due(facts: Facts, progress: Progress) -> bool:
    """A factor the enrolment policy requires is missing, or the client asked
    to be offered the optional ones and has not skipped them."""
    return facts.required_enrollments_missing or (
        progress.multi_optional_enroll
        and facts.optional_enrollments_available
        and not progress.enroll_skipped
    )


def first_enrollment_due(facts: Facts, progress: Progress) -> bool:
    """MFA is required of a user who has no factor: they enrol a first one."""
    return facts.mfa_required and not facts.has_prior_factors and not progress.mfa_verified


def verification_due(facts: Facts, progress: Progress) -> bool:
    """A user with a factor proves one before signing in where the rule asks
    for MFA, and before any enrolment: otherwise a password alone could plant
    a factor of the attacker's choosing on the account (and count it as MFA)."""
    if progress.mfa_verified or not facts.has_prior_factors:
        return False
    return facts.mfa_required or enrollment_due(facts, progress)


def may_skip_enrollment(facts: Facts, progress: Progress) -> bool:
    """``skip`` in MFA_ENROLL leaves only optional factors behind, never an
    unmet requirement (a required factor, or the MFA itself)."""
    return not facts.required_enrollments_missing and not first_enrollment_due(facts, progress)


def _should_warn(facts: Facts, progress: Progress) -> bool:
    days = facts.days_until_password_expiry
    return (
        progress.warn_requested
        and not progress.warn_skipped
        and days is not None
        and facts.warn_days > 0
        and days <= facts.warn_days
    )


def _next_recovery_status(facts: Facts, progress: Progress) -> Status:
    """RECOVERY_CHALLENGE → RECOVERY (the question) → PASSWORD_RESET → SUCCESS."""
    if not progress.recovery_verified:
        return S.RECOVERY_CHALLENGE
    if facts.recovery_question_required and not progress.recovery_answered:
        return S.RECOVERY
    if progress.recovery_type is RecoveryType.PASSWORD and not progress.password_reset:
        return S.PASSWORD_RESET
    return S.SUCCESS


# ---- the facts, from the user, the policies and a clock ------------------------------------
#
# Pure rules the engine (app/services/authn) applies on every call: what
# ``next_status`` is told, which factors may answer an MFA requirement, which
# users may sign in or recover at all.

#: Users who may not sign in at all: the same 401 E0000004 as a wrong password.
CANNOT_SIGN_IN = frozenset(
    {UserStatus.STAGED, UserStatus.PROVISIONED, UserStatus.SUSPENDED, UserStatus.DEPROVISIONED}
)


@dataclass(frozen=True)
class RecoveryChannel:
    """One ``factorType`` of ``/authn/recovery/{password,unlock}``."""

    channel: str  # how the code or link is delivered (factor channel)
    policy_key: str  # its name in the password policy's recovery factors


#: The ``factorType`` a recovery may name, and what each means.
RECOVERY_CHANNELS: dict[str, RecoveryChannel] = {
    "SMS": RecoveryChannel("sms", "okta_sms"),
    "CALL": RecoveryChannel("call", "okta_call"),
    "EMAIL": RecoveryChannel("email", "okta_email"),
}

#: Who may reset a forgotten password (an unlock needs LOCKED_OUT).
_MAY_RESET = frozenset(
    {UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED, UserStatus.LOCKED_OUT, UserStatus.RECOVERY}
)


def may_recover(
    user: User, settings: PasswordSettings, factor_type: str, recovery_type: RecoveryType
) -> bool:
    """Whether the password policy lets ``user`` recover this way (``factor_type``
    one of ``RECOVERY_CHANNELS``)."""
    if RECOVERY_CHANNELS[factor_type].policy_key not in settings.recovery_factors:
        return False
    if recovery_type is RecoveryType.UNLOCK:
        return settings.self_service_unlock and user.status == UserStatus.LOCKED_OUT
    return settings.self_service_password_reset and user.status in _MAY_RESET


def auto_unlock_due(user: User, lockout: Lockout, now: datetime) -> bool:
    """The policy's ``autoUnlockMinutes`` have passed since the user was locked."""
    minutes = lockout.auto_unlock_minutes
    if not minutes or user.status_changed is None:
        return False
    return now >= user.status_changed + timedelta(minutes=minutes)


def days_until_expiry(user: User, policy: EffectivePolicy, now: datetime) -> int | None:
    """Whole days left before the password expires (-1: expired); None: it never does."""
    max_age = policy.password.max_age_days
    if not max_age or user.password_changed is None:
        return None
    remaining = user.password_changed + timedelta(days=max_age) - now
    return remaining.days if remaining.total_seconds() >= 0 else -1


class Enrollable(NamedTuple):
    """A factor type the enrolment policy allows, and the user's active one of it."""

    kind: FactorKind
    enrollment: str  # REQUIRED or OPTIONAL
    factor: Factor | None


@dataclass(frozen=True)
class EnrollmentState:
    """What the enrolment policy asks of a user with these factors."""

    required_missing: bool
    optional_available: bool
    entries: list[Enrollable]


def enrollment_state(policy: EffectivePolicy, user_factors: list[Factor]) -> EnrollmentState:
    active = {(f.factor_type, f.provider): f for f in user_factors if f.active}
    entries = []
    required_missing = optional_available = False
    for kind in FACTOR_TYPES:
        enrollment = policy.enrollment_of(kind.factor_type, kind.provider)
        if enrollment is Enrollment.NOT_ALLOWED:
            continue
        factor = active.get((kind.factor_type, kind.provider))
        entries.append(Enrollable(kind, enrollment.value, factor))
        if factor is None and enrollment is Enrollment.REQUIRED:
            required_missing = True
        elif factor is None:
            optional_available = True
    return EnrollmentState(required_missing, optional_available, entries)


def prior_factors(user_factors: list[Factor], progress: Progress) -> list[Factor]:
    """The factors that can satisfy MFA: the user's active ones, read now, but
    not those enrolled in this transaction. Read now, not when the transaction
    began: a factor added meanwhile (by an admin, or by another sign-in that
    reached SUCCESS) must be proven too, and one removed meanwhile answers
    nothing. (The enrolment policy governs what may be enrolled; an enrolled
    factor stays usable, as in Okta.)"""
    held = set(progress.enrolled_factor_ids)
    return [f for f in user_factors if f.active and f.id not in held]


def facts_for(
    user: User,
    policy: EffectivePolicy,
    user_factors: list[Factor],
    progress: Progress,
    *,
    mfa_waived: bool,
    now: datetime,
) -> Facts:
    """What ``next_status`` is told, from the user and policies as read now."""
    days = days_until_expiry(user, policy, now)
    enrollment = enrollment_state(policy, user_factors)
    return Facts(
        locked=user.status == UserStatus.LOCKED_OUT,
        password_expired=user.status == UserStatus.PASSWORD_EXPIRED
        or (days is not None and days < 0),
        days_until_password_expiry=days,
        warn_days=policy.password.expire_warn_days,
        required_enrollments_missing=enrollment.required_missing,
        optional_enrollments_available=enrollment.optional_available,
        mfa_required=policy.sign_on.require_factor and not mfa_waived,
        has_prior_factors=bool(prior_factors(user_factors, progress)),
        recovery_question_required=(
            not progress.activating
            and user.recovery_question is not None
            and "recovery_question" in policy.password.recovery_factors
        ),
    )
