"""The /authn state machine: the status-by-action table and next_status."""

from __future__ import annotations

import pytest

from app.domain.authn import (
    ALLOWED,
    Action,
    Facts,
    Progress,
    RecoveryType,
    Status,
    allowed,
    may_skip_enrollment,
    next_status,
)

S, A = Status, Action


def test_every_status_has_a_row() -> None:
    assert set(ALLOWED) == set(Status)


@pytest.mark.parametrize("status", [s for s in Status if s != S.SUCCESS])
def test_read_and_cancel_are_always_allowed_until_success(status: Status) -> None:
    assert allowed(status, A.READ) and allowed(status, A.CANCEL)


@pytest.mark.parametrize(
    ("status", "action", "ok"),
    [
        (S.MFA_REQUIRED, A.VERIFY_FACTOR, True),
        (S.MFA_REQUIRED, A.SKIP, False),
        (S.MFA_REQUIRED, A.ENROLL_FACTOR, False),
        (S.MFA_ENROLL, A.ENROLL_FACTOR, True),
        (S.MFA_ENROLL, A.VERIFY_FACTOR, False),
        (S.MFA_ENROLL_ACTIVATE, A.PREVIOUS, True),
        (S.MFA_CHALLENGE, A.RESEND_CHALLENGE, True),
        (S.PASSWORD_WARN, A.SKIP, True),
        (S.PASSWORD_EXPIRED, A.SKIP, False),
        (S.LOCKED_OUT, A.VERIFY_FACTOR, False),
        (S.PASSWORD_RESET, A.RESET_PASSWORD, True),
        (S.SUCCESS, A.READ, False),
        (S.SUCCESS, A.CANCEL, False),
    ],
)
def test_table(status: Status, action: Action, ok: bool) -> None:
    assert allowed(status, action) is ok


@pytest.mark.parametrize(
    ("facts", "progress", "expected"),
    [
        (Facts(), Progress(), S.SUCCESS),
        (Facts(locked=True, password_expired=True), Progress(), S.LOCKED_OUT),
        (Facts(password_expired=True, mfa_required=True), Progress(), S.PASSWORD_EXPIRED),
        (
            Facts(days_until_password_expiry=3, warn_days=5),
            Progress(warn_requested=True),
            S.PASSWORD_WARN,
        ),
        (Facts(days_until_password_expiry=3, warn_days=5), Progress(), S.SUCCESS),
        (
            Facts(days_until_password_expiry=3, warn_days=5),
            Progress(warn_requested=True, warn_skipped=True),
            S.SUCCESS,
        ),
        (
            Facts(days_until_password_expiry=9, warn_days=5),
            Progress(warn_requested=True),
            S.SUCCESS,
        ),
        # A user with a factor proves it before any enrolment (issue 10, defect 1).
        (Facts(required_enrollments_missing=True, mfa_required=True), Progress(), S.MFA_REQUIRED),
        (Facts(required_enrollments_missing=True), Progress(), S.MFA_REQUIRED),
        (
            Facts(required_enrollments_missing=True),
            Progress(mfa_verified=True),
            S.MFA_ENROLL,
        ),
        (
            Facts(required_enrollments_missing=True, has_prior_factors=False),
            Progress(),
            S.MFA_ENROLL,
        ),
        (
            Facts(mfa_required=True, has_prior_factors=False),
            Progress(),
            S.MFA_ENROLL,
        ),
        (
            Facts(mfa_required=True, has_prior_factors=False),
            Progress(mfa_verified=True),
            S.SUCCESS,
        ),
        (
            Facts(required_enrollments_missing=True),
            Progress(enrolling_factor_id="uft1"),
            S.MFA_ENROLL_ACTIVATE,
        ),
        (Facts(optional_enrollments_available=True), Progress(), S.SUCCESS),
        (
            Facts(optional_enrollments_available=True),
            Progress(multi_optional_enroll=True),
            S.MFA_REQUIRED,
        ),
        (
            Facts(optional_enrollments_available=True, mfa_required=True),
            Progress(multi_optional_enroll=True, challenged_factor_id="sms1"),
            S.MFA_CHALLENGE,
        ),
        (
            Facts(optional_enrollments_available=True, has_prior_factors=False),
            Progress(multi_optional_enroll=True),
            S.MFA_ENROLL,
        ),
        (
            Facts(optional_enrollments_available=True),
            Progress(multi_optional_enroll=True, mfa_verified=True),
            S.MFA_ENROLL,
        ),
        (
            Facts(optional_enrollments_available=True),
            Progress(multi_optional_enroll=True, enroll_skipped=True),
            S.SUCCESS,
        ),
        # Recovery and activation go on to the sign-on requirements (defect 2).
        (
            Facts(mfa_required=True),
            Progress(recovery_type=RecoveryType.PASSWORD, recovery_verified=True),
            S.PASSWORD_RESET,
        ),
        (
            Facts(mfa_required=True),
            Progress(
                recovery_type=RecoveryType.PASSWORD, recovery_verified=True, password_reset=True
            ),
            S.MFA_REQUIRED,
        ),
        (
            Facts(mfa_required=True, has_prior_factors=False),
            Progress(
                recovery_type=RecoveryType.PASSWORD,
                recovery_verified=True,
                password_reset=True,
                activating=True,
            ),
            S.MFA_ENROLL,
        ),
        (
            Facts(mfa_required=True, locked=True),
            Progress(recovery_type=RecoveryType.UNLOCK, recovery_verified=True),
            S.SUCCESS,  # an unlock ends without a session
        ),
        (Facts(mfa_required=True), Progress(), S.MFA_REQUIRED),
        (Facts(mfa_required=True), Progress(challenged_factor_id="sms1"), S.MFA_CHALLENGE),
        (Facts(mfa_required=True), Progress(mfa_verified=True), S.SUCCESS),
    ],
)
def test_next_status_walks_requirements_in_order(
    facts: Facts, progress: Progress, expected: Status
) -> None:
    assert next_status(facts, progress) is expected


@pytest.mark.parametrize(
    ("facts", "progress", "ok"),
    [
        (Facts(optional_enrollments_available=True), Progress(mfa_verified=True), True),
        (Facts(required_enrollments_missing=True), Progress(mfa_verified=True), False),
        (Facts(mfa_required=True, has_prior_factors=False), Progress(), False),
        (Facts(mfa_required=True, has_prior_factors=False), Progress(mfa_verified=True), True),
        (Facts(has_prior_factors=False, optional_enrollments_available=True), Progress(), True),
    ],
)
def test_skip_leaves_only_optional_factors_behind(
    facts: Facts, progress: Progress, ok: bool
) -> None:
    assert may_skip_enrollment(facts, progress) is ok
