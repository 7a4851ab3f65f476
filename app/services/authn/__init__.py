"""The /api/v1/authn transaction engine, one module per flow.

``transaction`` is the runner (load and lease → ``ALLOWED`` → act →
``next_status`` → save); ``call`` the transaction document and the facts;
``view`` the answer; ``success`` what SUCCESS does; ``lockout`` attempt
counting and factor proof. The flows (``primary_auth``, ``navigation``,
``mfa``, ``enrollment``, ``passwords``, ``recovery``) build on those and
never on one another. The routes (app/api/authn.py) call the names below.
"""

from app.services.authn.enrollment import activate_factor, enroll_factor, resend_activation
from app.services.authn.mfa import resend_challenge, verify_factor
from app.services.authn.navigation import cancel, previous, read, skip
from app.services.authn.passwords import change_password, reset_password
from app.services.authn.primary_auth import activate, primary
from app.services.authn.recovery import (
    recovery_answer,
    recovery_resend,
    recovery_token,
    recovery_verify,
    start_recovery,
)
from app.services.authn.view import View

__all__ = [
    "View",
    "activate",
    "activate_factor",
    "cancel",
    "change_password",
    "enroll_factor",
    "previous",
    "primary",
    "read",
    "recovery_answer",
    "recovery_resend",
    "recovery_token",
    "recovery_verify",
    "resend_activation",
    "resend_challenge",
    "reset_password",
    "skip",
    "start_recovery",
    "verify_factor",
]
