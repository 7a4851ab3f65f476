"""Portcullis walked to each status of /api/v1/authn through the Flask test client.

Each walk starts from an empty server (one test, one app) and ends at the
answer a golden test compares; it reuses the helpers of
``tests/api/test_authn.py``. A walk that does not reach its status fails
there, so a golden test never compares the wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.domain.passwords import PasswordPolicy
from app.domain.policy import Enrollment, Lockout, PasswordSettings
from tests.api.test_authn import (
    E164,
    LOGIN,
    PHONE,
    Policy,
    _recovery_policy,
    _with_question,
    authn,
    code_for,
    enroll_active,
    sign_in,
)

#: A security question from Okta's catalog, as a factor.
QUESTION = {"question": "disliked_food", "answer": "Mr Bunny Rabbit"}
RESEND_AFTER = 31  # seconds: past the resend throttle of the last code sent


@dataclass
class Walk:
    """The fixtures a walk drives: clients, user factory, outbox, policy, clock."""

    anonymous: Any
    api: Any
    make_user: Callable[..., dict[str, Any]]
    outbox: Any
    policy: Policy
    clock: Any

    def answer(self, response: Any, status: str, code: int = 200) -> dict[str, Any]:
        """The body, once the HTTP status and the transaction's status (or an
        error's code) are the ones the walk set out to reach."""
        body: dict[str, Any] = response.get_json()
        assert response.status_code == code, body
        assert body.get("status", body.get("errorCode")) == status, body
        return body

    def user_with(self, *factors: str) -> dict[str, Any]:
        """An ACTIVE user with these factors active (``sms``, ``question``,
        ``email``, ``token:software:totp``) and the clock past the resend throttle."""
        user = self.make_user()
        profiles: dict[str, dict[str, str]] = {
            "sms": {"phoneNumber": PHONE},
            "question": QUESTION,
            "email": {"email": LOGIN},
            "token:software:totp": {},
        }
        for kind in factors:
            enroll_active(self.api, user, kind, self.outbox, self.clock, **profiles[kind])
        self.clock.advance(seconds=RESEND_AFTER)
        return user

    # ---- sign-in and MFA ----------

    def success(self) -> dict[str, Any]:
        self.make_user()
        return self.answer(sign_in(self.anonymous), "SUCCESS")

    def mfa_required(self) -> dict[str, Any]:
        self.user_with("sms", "question", "email", "token:software:totp")
        self.policy.require_mfa()
        return self.answer(sign_in(self.anonymous), "MFA_REQUIRED")

    def mfa_challenge(self) -> dict[str, Any]:
        self.user_with("sms")
        self.policy.require_mfa()
        required = self.answer(sign_in(self.anonymous), "MFA_REQUIRED")
        (sms,) = required["_embedded"]["factors"]
        verify = f"/factors/{sms['id']}/verify"
        return self.answer(
            authn(self.anonymous, verify, stateToken=required["stateToken"]), "MFA_CHALLENGE"
        )

    def mfa_enroll(self) -> dict[str, Any]:
        self.make_user()
        self.policy.enrollment(google_otp=Enrollment.REQUIRED)
        return self.answer(sign_in(self.anonymous), "MFA_ENROLL")

    def mfa_enroll_with_an_active_factor(self) -> dict[str, Any]:
        """A user with an active sms factor proves it first, then enrols."""
        self.user_with("sms")
        self.policy.enrollment(google_otp=Enrollment.REQUIRED)
        required = self.answer(sign_in(self.anonymous), "MFA_REQUIRED")
        token = required["stateToken"]
        verify = f"/factors/{required['_embedded']['factors'][0]['id']}/verify"
        self.answer(authn(self.anonymous, verify, stateToken=token), "MFA_CHALLENGE")
        code = code_for(self.outbox, E164)
        return self.answer(
            authn(self.anonymous, verify, stateToken=token, passCode=code), "MFA_ENROLL"
        )

    def mfa_enroll_activate_totp(self) -> dict[str, Any]:
        token = self.mfa_enroll()["stateToken"]
        body = {"stateToken": token, "factorType": "token:software:totp", "provider": "GOOGLE"}
        return self.answer(
            self.anonymous.post("/api/v1/authn/factors", json=body), "MFA_ENROLL_ACTIVATE"
        )

    def mfa_enroll_activate_sms(self) -> dict[str, Any]:
        self.make_user()
        self.policy.enrollment(okta_sms=Enrollment.REQUIRED)
        token = self.answer(sign_in(self.anonymous), "MFA_ENROLL")["stateToken"]
        body = {
            "stateToken": token,
            "factorType": "sms",
            "provider": "OKTA",
            "profile": {"phoneNumber": PHONE},
        }
        return self.answer(
            self.anonymous.post("/api/v1/authn/factors", json=body), "MFA_ENROLL_ACTIVATE"
        )

    # ---- passwords ----------

    def password_warn(self, min_age_minutes: int = 0) -> dict[str, Any]:
        self.make_user()
        self.policy.set(
            password=PasswordSettings(
                max_age_days=30, expire_warn_days=5, min_age_minutes=min_age_minutes
            )
        )
        self.clock.advance(days=27)
        options = {"warnBeforePasswordExpired": True}
        return self.answer(sign_in(self.anonymous, options=options), "PASSWORD_WARN")

    def password_expired(self) -> dict[str, Any]:
        """As in the widget's recording: a policy that excludes the names."""
        user = self.make_user()
        names = PasswordPolicy(exclude_attributes=("firstName", "lastName"))
        self.policy.set(password=PasswordSettings(complexity=names))
        self.api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password")
        return self.answer(sign_in(self.anonymous), "PASSWORD_EXPIRED")

    # ---- recovery and lockout ----------

    def recovery_challenge(self) -> dict[str, Any]:
        user = self.user_with("sms")
        _with_question(self.api, user)
        _recovery_policy(self.policy)
        r = authn(self.anonymous, "/recovery/password", username=LOGIN, factorType="SMS")
        return self.answer(r, "RECOVERY_CHALLENGE")

    def recovery(self) -> dict[str, Any]:
        token = self.recovery_challenge()["stateToken"]
        code = code_for(self.outbox, E164)
        r = authn(self.anonymous, "/recovery/factors/SMS/verify", stateToken=token, passCode=code)
        return self.answer(r, "RECOVERY")

    def password_reset(self) -> dict[str, Any]:
        token = self.recovery()["stateToken"]
        r = authn(self.anonymous, "/recovery/answer", stateToken=token, answer="Annie Oakley")
        return self.answer(r, "PASSWORD_RESET")

    def password_requirements_not_met(self) -> dict[str, Any]:
        token = self.password_reset()["stateToken"]
        r = authn(
            self.anonymous, "/credentials/reset_password", stateToken=token, newPassword="weak"
        )
        return self.answer(r, "E0000080", 403)

    def recovery_challenge_email(self) -> dict[str, Any]:
        self.make_user()
        self.policy.set(password=PasswordSettings())  # e-mail and question: Okta's defaults
        r = authn(self.anonymous, "/recovery/password", username=LOGIN, factorType="EMAIL")
        return self.answer(r, "RECOVERY_CHALLENGE")

    def locked_out(self) -> dict[str, Any]:
        self.make_user()
        lockout = Lockout(max_attempts=2, show_lockout_failures=True)
        self.policy.set(password=PasswordSettings(lockout=lockout, self_service_unlock=True))
        sign_in(self.anonymous, password="Wrong-Password-1")
        return self.answer(sign_in(self.anonymous, password="Wrong-Password-2"), "LOCKED_OUT")
