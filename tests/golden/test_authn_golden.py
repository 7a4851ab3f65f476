"""Golden tests: every /api/v1/authn status against the structure of Okta's recordings.

Each walk takes Portcullis to one status and compares the answer with the
shape ``okta_structures`` records for it: every key path Okta sends must be
there with the same JSON type and format, every link with its name and
``hints.allow``; a key path Okta never sends is an extra. Every difference
found so far is mended, so ``DIFFERENCES`` is empty. One found later goes
there (its key paths leave this check), in docs/compatibility.md, and into a
check of its own marked ``xfail(strict=True)`` that turns red once it is
fixed (as the first version of this module had, commit ffb342e).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.domain.passwords import PasswordPolicy
from tests.api.test_authn import Policy
from tests.api.test_authn import policy as policy  # the fixture
from tests.golden.okta_structures import SHAPES
from tests.golden.structure import Difference, compare, unexplained
from tests.golden.walks import Walk

DOC = "docs/compatibility.md"

#: walk id → (the walk, the name of the shape its answer must have).
WALKS: dict[str, tuple[Callable[[Walk], dict[str, Any]], str]] = {
    "SUCCESS": (Walk.success, "SUCCESS"),
    "MFA_REQUIRED": (Walk.mfa_required, "MFA_REQUIRED"),
    "MFA_CHALLENGE-sms": (Walk.mfa_challenge, "MFA_CHALLENGE"),
    "MFA_ENROLL": (Walk.mfa_enroll, "MFA_ENROLL"),
    "MFA_ENROLL-sms_active": (Walk.mfa_enroll_with_an_active_factor, "MFA_ENROLL"),
    "MFA_ENROLL_ACTIVATE-totp": (Walk.mfa_enroll_activate_totp, "MFA_ENROLL_ACTIVATE"),
    "MFA_ENROLL_ACTIVATE-sms": (Walk.mfa_enroll_activate_sms, "MFA_ENROLL_ACTIVATE"),
    "PASSWORD_WARN": (Walk.password_warn, "PASSWORD_WARN"),
    "PASSWORD_EXPIRED-names_excluded": (Walk.password_expired, "PASSWORD_EXPIRED"),
    "PASSWORD_RESET": (Walk.password_reset, "PASSWORD_RESET"),
    "RECOVERY": (Walk.recovery, "RECOVERY"),
    "RECOVERY_CHALLENGE-SMS": (Walk.recovery_challenge, "RECOVERY_CHALLENGE"),
    "RECOVERY_CHALLENGE-EMAIL": (Walk.recovery_challenge_email, "RECOVERY_CHALLENGE_EMAIL"),
    "LOCKED_OUT": (Walk.locked_out, "LOCKED_OUT"),
    "E0000080": (Walk.password_requirements_not_met, "E0000080"),
}
WITH_USER = tuple(
    name for name, (_, shape) in WALKS.items() if "_embedded.user" in SHAPES[shape].required
)

#: Every structural difference the walks find, known before (issue 11) or found
#: here: none left (the ones found are mended; docs/compatibility.md).
DIFFERENCES: list[Difference] = []


@pytest.fixture
def walk(anonymous: Any, api: Any, make_user: Any, outbox: Any, policy: Policy, clock: Any) -> Walk:
    return Walk(anonymous, api, make_user, outbox, policy, clock)


def findings_for(name: str, walk: Walk) -> list[Any]:
    step, shape = WALKS[name]
    return compare(SHAPES[shape], step(walk))


@pytest.mark.parametrize("name", WALKS)
def test_answer_has_the_structure_okta_records(name: str, walk: Walk) -> None:
    known = [d for d in DIFFERENCES if name in d.walks]
    left = unexplained(findings_for(name, walk), known)
    assert not left, "\n".join(map(str, left))


def test_the_embedded_policy_reports_the_minimum_password_age(walk: Walk) -> None:
    answer = walk.password_warn(min_age_minutes=60)
    assert answer["_embedded"]["policy"]["age"]["minAgeMinutes"] == 60


def test_a_refused_password_has_one_cause_stating_every_requirement(walk: Walk) -> None:
    """Every recording of E0000080 has exactly one cause, which states the
    whole policy (``Password requirements were not met. Password
    requirements: at least 8 characters, a lowercase letter, …``)."""
    causes = walk.password_requirements_not_met()["errorCauses"]
    assert len(causes) == 1, causes
    summary = causes[0]["errorSummary"]
    assert all(rule in summary for rule in PasswordPolicy().requirements()), summary
