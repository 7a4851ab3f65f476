"""Passwords and recovery questions: policy checks, hashing, history, verification.

Used by user creation and update, the credentials operations of the Users
API, and (later) primary authentication, so there is one place where a
password is accepted, checked or rehashed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from app.domain import passwords
from app.domain.errors import ApiError, ValidationFailed
from app.domain.passwords import PasswordPolicy
from app.domain.users import RecoveryQuestion, User
from app.services import policies
from app.services.context import Context
from app.store import UnitOfWork

MIN_ANSWER_LENGTH = 4


class PolicyUnmet(ValidationFailed):
    """A password that breaks the policy's complexity: one cause per unmet rule
    (the admin APIs' 400), and ``requirements``, every rule of the policy, for
    the one sentence /authn answers with (E0000080, as Okta words it)."""

    def __init__(self, field: str, unmet: list[str], requirements: list[str]) -> None:
        super().__init__(
            field,
            [f"{field}: Password requirements were not met. Missing: {rule}." for rule in unmet],
        )
        self.requirements = requirements

    @property
    def sentence(self) -> str:
        return "Passwords must have " + ", ".join(self.requirements)


def check_policy(
    complexity: PasswordPolicy, user: User, password: str, field: str = "password"
) -> None:
    """Raise 400 E0000001 with one cause per unmet rule of the password policy."""
    unmet = complexity.unmet(password, user.profile)
    if unmet:
        raise PolicyUnmet(field, unmet, complexity.requirements())


def _in_history(ctx: Context, complexity: PasswordPolicy, user: User, password: str) -> bool:
    # historyCount counts the current password too, as Okta's policy does.
    current = [user.password_hash] if user.password_hash else []
    recent = (current + user.password_history)[: complexity.history_count]
    return any(ctx.hasher.verify(old, password)[0] for old in recent)


def set_password(
    ctx: Context,
    uow: UnitOfWork,
    user: User,
    password: str,
    *,
    check_history: bool = True,
    min_age: bool = False,
    groups: Iterable[str] = (),
) -> None:
    """Check ``password`` against the user's password policy (complexity and
    history, and with ``min_age`` its ``age.minAgeMinutes``: a change the user
    asks for, not an admin's, a reset or an expired password's), then store
    its argon2id hash. ``groups``: groups the user is about to join, which
    count for choosing the policy."""
    settings = policies.effective_for(ctx, uow, user, groups).password
    if min_age:
        _check_min_age(ctx, settings.min_age_minutes, user)
    complexity = settings.complexity
    check_policy(complexity, user, password)
    if check_history and _in_history(ctx, complexity, user, password):
        raise ValidationFailed("password", ["password: Password has been used too recently"])
    now = ctx.clock()  # before hashing, so one request's timestamps agree
    _store_hash(complexity, user, ctx.hasher.hash(password), now)


def _check_min_age(ctx: Context, minutes: int, user: User) -> None:
    if not minutes or user.password_changed is None:
        return
    if ctx.clock() < user.password_changed + timedelta(minutes=minutes):
        raise ValidationFailed(
            "newPassword",
            [
                f"newPassword: The password was changed less than {minutes} minutes ago; "
                "the password policy allows another change only after that."
            ],
        )


def set_imported_hash(user: User, spec: dict[str, Any]) -> None:
    """Keep a hash imported in Okta's format until the first successful sign-in."""
    causes = passwords.validate_import(spec)
    if causes:
        raise ValidationFailed("password", [f"password.{c}" for c in causes])
    user.password_hash = passwords.imported_hash(spec)


def _store_hash(complexity: PasswordPolicy, user: User, new_hash: str, now: datetime) -> None:
    # History holds argon2 hashes only: imported hashes are not kept.
    if user.password_hash and not user.password_hash.startswith(passwords.IMPORTED_PREFIX):
        keep = max(complexity.history_count - 1, 0)
        user.password_history = ([user.password_hash, *user.password_history])[:keep]
    user.password_hash = new_hash
    user.password_changed = now
    user.last_updated = now


def verify_password(ctx: Context, user: User, password: str) -> bool:
    """True if ``password`` is the user's; upgrades an imported or weak hash in place.

    The caller saves the user afterwards, so the rehash lands with the rest
    of the change.
    """
    if not user.password_hash:
        return False
    matches, needs_rehash = ctx.hasher.verify(user.password_hash, password)
    if matches and needs_rehash:
        user.password_hash = ctx.hasher.hash(password)
    return matches


def set_recovery_question(user: User, question: str, answer: str, hasher: Any) -> None:
    """Validate and store a recovery question; the answer only as a salted hash."""
    question = (question or "").strip()
    causes: list[str] = []
    if not question:
        causes.append("recovery_question.question: The security question is required")
    normalised = passwords.normalise_answer(answer or "")
    if len(normalised) < MIN_ANSWER_LENGTH:
        causes.append(
            "recovery_question.answer: The security question answer must be at least "
            f"{MIN_ANSWER_LENGTH} characters in length"
        )
    elif question and question.lower() in normalised:
        causes.append(
            "recovery_question.answer: The security question answer must not contain the question"
        )
    elif any(part in normalised for part in passwords.login_parts(user.login)):
        causes.append(
            "recovery_question.answer: The security question answer must not contain "
            "parts of the username"
        )
    if causes:
        raise ValidationFailed("recovery_question", causes)
    user.recovery_question = RecoveryQuestion(question, hasher.hash(normalised))


def verify_recovery_answer(ctx: Context, user: User, answer: str) -> bool:
    if user.recovery_question is None:
        return False
    normalised = passwords.normalise_answer(answer or "")
    return ctx.hasher.verify(user.recovery_question.answer_hash, normalised)[0]


def credentials_view(user: User) -> dict[str, Any]:
    """The ``credentials`` object Okta shows: never a hash or an answer."""
    view: dict[str, Any] = {}
    if user.has_password:
        view["password"] = {}
    email = user.profile.get("email")
    if isinstance(email, str) and email:
        # The primary address, verified once the user was activated (Okta
        # verifies it with the activation); Okta's only other type is SECONDARY.
        status = "VERIFIED" if user.activated is not None else "UNVERIFIED"
        view["emails"] = [{"value": email, "status": status, "type": "PRIMARY"}]
    if user.recovery_question is not None:
        view["recovery_question"] = {"question": user.recovery_question.question}
    # Until its first sign-in rehashes it, an imported password shows as Okta does.
    imported = (user.password_hash or "").startswith(passwords.IMPORTED_PREFIX)
    provider = "IMPORT" if imported else "OKTA"
    view["provider"] = {"type": provider, "name": provider}
    return view


def require_old_password(ctx: Context, user: User, old_password: str, field: str) -> None:
    if not verify_password(ctx, user, old_password):
        raise ApiError("E0000014", causes=[f"{field}: The credentials provided were incorrect."])
