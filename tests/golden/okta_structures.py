"""What Okta's recorded answers look like: key paths, JSON types, formats, links.

Read (issue 11, part 5) from the answers recorded in Okta's own public test
suites: okta-auth-js (``test/support/xhr/*.js``), the Sign-In Widget
(``test/unit/helpers/xhr/*.js`` and ``playground/mocks/data/api/v1/authn/*.json``)
and okta-sdk-python (``tests/integration/cassettes/*.yaml``). These are facts
about Okta's API; no recorded value is kept here beyond key names, JSON
types, formats and the protocol's own words (statuses, link names, methods).
This module holds a shape per status; the parts they share (sources,
formats, links, factor objects) are in ``okta_parts``, the Users and
Factors API objects in ``okta_objects``.

How each shape was derived from its sources:

- a key path is *required* if every source whose answer has the path's
  parent has it, *optional* if only some do;
- in factor objects, the keys every factor type has (``id``, ``factorType``,
  ``provider``, ``vendorName``, ``status``, ``enrollment``, ``_links.verify``,
  ``_links.enroll``) are pooled over the factor types of the same answer;
  ``profile``, ``_embedded``, ``policy`` and ``_links.questions`` are per
  type. Only the types Portcullis has are described (sms, call, email,
  question, token:software:totp); recorded push, u2f, webauthn … are not;
- the password policy embedded in PASSWORD_WARN, PASSWORD_EXPIRED and
  PASSWORD_RESET is one object: a key any of them records is at least
  optional in all three (``PASSWORD_POLICY``); so is the embedded user:
  ``passwordChanged``, recorded in most statuses, is at least optional in all;
- a format is what every real recorded value has; hand-written placeholders
  in the widget's helpers (``testStateToken``, ``dummy-token``,
  ``THE_SESSION_TOKEN``, ``id1234``, ``superSecretSharedSecret`` …) are
  not counted, and ``<%= uri %>`` in okta-auth-js's hrefs is its test's
  base URL. The widget's helpers put HTTP ``headers`` inside some mocked
  bodies; that key is not part of an answer and is left out.

Checked when written: each source answer, compared with its own shape,
gives no finding but the placeholders' formats, and the required and
optional key paths are exactly what these rules derive from the sources.
"""

from __future__ import annotations

from tests.golden.okta_parts import (
    CANCEL,
    CANCEL_LINK,
    ERROR_ID,
    FACTORS_POLICY_INFO,
    MFA_POLICY,
    MIN_COUNTS,
    PASSWORD_CHANGED,
    RELAY_STATE,
    SESSION_TOKEN,
    TIMESTAMP,
    TRANSACTION,
    TRANSACTION_FORMATS,
    TYPES,
    USER,
    USER_FORMATS,
    auth_js,
    authn,
    below,
    challenged_factor,
    enrolling_factor,
    link_keys,
    listed_factor,
    offered_factor,
    password_policy,
    playground,
    status,
    widget,
)
from tests.golden.structure import ARRAY, OBJECT, STRING, Shape

#: The factor types whose challenge is a code sent (MFA_CHALLENGE), and those
#: enrolled with a code (MFA_ENROLL_ACTIVATE; a security question is active at once).
SENT_CODES = ("sms", "call", "email")
ENROLLED_BY_CODE = ("sms", "call", "email", "token:software:totp")


# ---- the transaction, per status -------------------------------------------------------------

SUCCESS = Shape(
    """SUCCESS after primary authentication: a one-time sessionToken and the
    user. Only the playground's recording has ``_links`` (cancel).""",
    (auth_js("success.js"), widget("SUCCESS.js"), playground("success-001.json")),
    required={
        "expiresAt": STRING,
        "status": STRING,
        "sessionToken": STRING,
        **USER,
        **link_keys("_links.cancel"),
    },
    optional={**PASSWORD_CHANGED, "_links": OBJECT},
    formats={"expiresAt": TIMESTAMP, "sessionToken": SESSION_TOKEN, **USER_FORMATS},
    values=status("SUCCESS"),
    links=CANCEL_LINK,
)

MFA_REQUIRED_SOURCES = (
    auth_js("mfa-required.js"),
    widget("MFA_REQUIRED_allFactors.js"),
    widget("MFA_REQUIRED_policy_always.js"),
    widget("MFA_REQUIRED_oktaVerifyTotpOnly.js"),
    playground("mfa-required-email.json"),
    playground("mfa-all-factors.json"),
)
MFA_REQUIRED = Shape(
    """MFA_REQUIRED: the user's factors, each with a verify link, and the MFA
    policy (okta-auth-js's 2015 recording has no policy).""",
    MFA_REQUIRED_SOURCES,
    required={
        **TRANSACTION,
        **USER,
        "_embedded.factors": ARRAY,
        "_embedded.factors[]": OBJECT,
        **MFA_POLICY,
        **CANCEL,
    },
    optional={
        **PASSWORD_CHANGED,
        **RELAY_STATE,
        "_embedded.policy": OBJECT,
        FACTORS_POLICY_INFO: OBJECT,
    },
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values=status("MFA_REQUIRED"),
    links=CANCEL_LINK,
    factors={
        "_embedded.factors[]": {kind: listed_factor(kind, MFA_REQUIRED_SOURCES) for kind in TYPES}
    },
    maps=(FACTORS_POLICY_INFO,),
)

MFA_CHALLENGE_SOURCES = (
    auth_js("mfa-challenge-sms.js"),
    widget("MFA_CHALLENGE_sms.js"),
    widget("MFA_CHALLENGE_call.js"),
    widget("MFA_CHALLENGE_email.js"),
    playground("mfa-challenge-email.json"),
)
MFA_CHALLENGE = Shape(
    """MFA_CHALLENGE after a code was sent (sms, call, email): the factor, a
    verify link (next), prev, cancel and one resend link per channel. Only
    the playground's recording has ``factorResult`` and the MFA policy.""",
    MFA_CHALLENGE_SOURCES,
    required={
        **TRANSACTION,
        **USER,
        "_embedded.factor": OBJECT,
        **MFA_POLICY,
        FACTORS_POLICY_INFO: OBJECT,
        **link_keys("_links.next", named=True),
        **link_keys("_links.prev"),
        **CANCEL,
        "_links.resend": ARRAY,
        **link_keys("_links.resend[]", named=True),
    },
    optional={**PASSWORD_CHANGED, "_embedded.policy": OBJECT, "factorResult": STRING},
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values={**status("MFA_CHALLENGE"), "factorResult": frozenset({"CHALLENGE"})},
    links={
        "_links.next": authn("/factors/{factorId}/verify", "verify"),
        "_links.prev": authn("/previous"),
        **CANCEL_LINK,
        "_links.resend[]": authn("/factors/{factorId}/verify/resend", "sms", "call", "email"),
    },
    factors={
        "_embedded.factor": {
            kind: challenged_factor(kind, MFA_CHALLENGE_SOURCES) for kind in SENT_CODES
        }
    },
    maps=(FACTORS_POLICY_INFO,),
)

#: playground mfa-enroll-totp.json is not among them: its enroll links point
#: at a verify URL and its entries carry ids, unlike every other recording.
MFA_ENROLL_SOURCES = (
    auth_js("mfa-enroll.js"),
    widget("MFA_ENROLL_allFactors.js"),
    widget("MFA_ENROLL_allFactorsProfile.js"),
    widget("MFA_ENROLL_email.js"),
    widget("MFA_ENROLL_smsFactor_existingPhone.js"),
    widget("MFA_ENROLL_callFactor_existingPhone.js"),
    playground("mfa-enroll-email-with-sms-enrolled.json"),
    playground("mfa-enroll-sms.json"),
)
MFA_ENROLL = Shape(
    """MFA_ENROLL: the factors the policy offers, each with an enroll link,
    and a skip link when every required factor is set up.""",
    MFA_ENROLL_SOURCES,
    required={
        **TRANSACTION,
        **USER,
        "_embedded.factors": ARRAY,
        "_embedded.factors[]": OBJECT,
        **CANCEL,
        **below("_links.skip", link_keys("_links.skip")),
    },
    optional={**PASSWORD_CHANGED, **RELAY_STATE, "_links.skip": OBJECT},
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values=status("MFA_ENROLL"),
    links={**CANCEL_LINK, "_links.skip": authn("/skip")},
    factors={
        "_embedded.factors[]": {kind: offered_factor(kind, MFA_ENROLL_SOURCES) for kind in TYPES}
    },
)

MFA_ENROLL_ACTIVATE_SOURCES = (
    auth_js("mfa-enroll-activate-sms.js"),
    auth_js("mfa-enroll-activate-totp-google.js"),
    auth_js("mfa-enroll-activate-totp-okta.js"),
    widget("MFA_ENROLL_ACTIVATE_success.js"),
    widget("MFA_ENROLL_ACTIVATE_call_success.js"),
    widget("MFA_ENROLL_ACTIVATE_email.js"),
    widget("MFA_ENROLL_totp_success.js"),
    playground("mfa-enroll-activate-sms.json"),
    playground("mfa-enroll-activate-email.json"),
)
MFA_ENROLL_ACTIVATE = Shape(
    """MFA_ENROLL_ACTIVATE: the factor being enrolled, an activate link
    (next), prev, cancel, and for sms and call a resend link. None of these
    recordings has a top-level ``factorResult`` (only push enrolments,
    which poll, have one: ``WAITING``).""",
    MFA_ENROLL_ACTIVATE_SOURCES,
    required={
        **TRANSACTION,
        **USER,
        "_embedded.factor": OBJECT,
        **link_keys("_links.next", named=True),
        **link_keys("_links.prev"),
        **CANCEL,
        **link_keys("_links.resend[]", named=True),
    },
    optional={**PASSWORD_CHANGED, **RELAY_STATE, "_links.resend": ARRAY},
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values=status("MFA_ENROLL_ACTIVATE"),
    links={
        "_links.next": authn("/factors/{factorId}/lifecycle/activate", "activate"),
        "_links.prev": authn("/previous"),
        **CANCEL_LINK,
        "_links.resend[]": authn("/factors/{factorId}/lifecycle/resend", "sms", "call", "email"),
    },
    factors={
        "_embedded.factor": {
            kind: enrolling_factor(kind, MFA_ENROLL_ACTIVATE_SOURCES) for kind in ENROLLED_BY_CODE
        }
    },
)

COMPLEXITY = ("complexity", *(f"complexity.{name}" for name in MIN_COUNTS))
_WARN_POLICY = password_policy("", *COMPLEXITY, "expiration", "expiration.passwordExpireDays")
PASSWORD_WARN = Shape(
    """PASSWORD_WARN: the password expires soon; change it (next) or skip.
    widget CUSTOM_PASSWORD_WARN.js is not among the sources: its next link
    is an organisation's own page, not the API.""",
    (auth_js("password-warn.js"), widget("PASSWORD_WARN.js")),
    required={
        **TRANSACTION,
        **USER,
        **PASSWORD_CHANGED,
        **_WARN_POLICY[0],
        **link_keys("_links.next", named=True),
        **link_keys("_links.skip", named=True),
        **CANCEL,
    },
    optional=_WARN_POLICY[1],
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values=status("PASSWORD_WARN"),
    links={
        "_links.next": authn("/credentials/change_password", "changePassword"),
        "_links.skip": authn("/skip", "skip"),
        **CANCEL_LINK,
    },
)

_EXCLUDED = ("complexity.excludeUsername", "complexity.excludeAttributes")
_EXPIRED_POLICY = password_policy(*COMPLEXITY, *_EXCLUDED, "complexity.excludeAttributes[]")
PASSWORD_EXPIRED = Shape(
    """PASSWORD_EXPIRED: change the password (next). The widget's recording
    embeds a policy that excludes the first and last name, and lists them
    in ``complexity.excludeAttributes``; okta-auth-js's embeds no policy.
    Neither has ``_embedded.user.passwordChanged`` (optional: see above).""",
    (auth_js("password-expired.js"), widget("PASSWORD_EXPIRED.js")),
    required={
        **TRANSACTION,
        **USER,
        **_EXPIRED_POLICY[0],
        **link_keys("_links.next", named=True),
        **CANCEL,
    },
    optional={**_EXPIRED_POLICY[1], **RELAY_STATE, **PASSWORD_CHANGED},
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values=status("PASSWORD_EXPIRED"),
    links={"_links.next": authn("/credentials/change_password", "changePassword"), **CANCEL_LINK},
)

_RESET_POLICY = password_policy("age", "age.historyCount", *COMPLEXITY, _EXCLUDED[0])
PASSWORD_RESET = Shape(
    """PASSWORD_RESET: set a new password (next), after a recovery answer or
    a recovery token.""",
    (
        auth_js("password-reset.js"),
        widget("PASSWORD_RESET.js"),
        widget("PASSWORD_RESET_withComplexity.js"),
        playground("recovery-answer.json"),
    ),
    required={
        **TRANSACTION,
        **USER,
        **_RESET_POLICY[0],
        **link_keys("_links.next", named=True),
        **CANCEL,
    },
    optional={**_RESET_POLICY[1], **PASSWORD_CHANGED, **RELAY_STATE, "recoveryType": STRING},
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values={**status("PASSWORD_RESET"), "recoveryType": frozenset({"PASSWORD", "UNLOCK"})},
    links={"_links.next": authn("/credentials/reset_password", "resetPassword"), **CANCEL_LINK},
)

RECOVERY = Shape(
    """RECOVERY: a recovery factor was proven; answer the recovery question
    (next). okta-auth-js's recovery.js is not among the sources: it records
    an older flow that hands out a recoveryToken (next: ``recovery``).""",
    (auth_js("recovery-token.js"), widget("RECOVERY.js"), playground("recovery-password.json")),
    required={
        "stateToken": STRING,
        "status": STRING,
        **USER,
        "_embedded.user.recovery_question": OBJECT,
        "_embedded.user.recovery_question.question": STRING,
        **link_keys("_links.next", named=True),
        **CANCEL,
    },
    optional={**PASSWORD_CHANGED, **RELAY_STATE, "expiresAt": STRING, "recoveryType": STRING},
    formats={**TRANSACTION_FORMATS, **USER_FORMATS},
    values={**status("RECOVERY"), "recoveryType": frozenset({"PASSWORD", "UNLOCK"})},
    links={"_links.next": authn("/recovery/answer", "answer"), **CANCEL_LINK},
)

RECOVERY_CHALLENGE = Shape(
    """RECOVERY_CHALLENGE after a code was sent by SMS or voice call: no user,
    a verify link (next), cancel, and one resend link (an object, not an
    array as in MFA_CHALLENGE) named ``sms`` for SMS (``CALL`` for a call).""",
    (
        auth_js("recovery-challenge-password.js"),
        widget("RECOVERY_CHALLENGE.js"),
        widget("RECOVERY_CHALLENGE_SMS_PWD.js"),
        widget("RECOVERY_CHALLENGE_SMS_UNLOCK.js"),
        widget("RECOVERY_CHALLENGE_CALL_PWD.js"),
        playground("recovery-challenge-sms-pwd.json"),
    ),
    required={
        **TRANSACTION,
        "factorType": STRING,
        **link_keys("_links.next", named=True),
        **CANCEL,
        **link_keys("_links.resend", named=True),
    },
    optional={"recoveryType": STRING},
    formats=TRANSACTION_FORMATS,
    values={
        **status("RECOVERY_CHALLENGE"),
        "factorType": frozenset({"SMS", "sms", "CALL"}),
        "recoveryType": frozenset({"PASSWORD", "UNLOCK"}),
    },
    links={
        "_links.next": authn("/recovery/factors/{factorType}/verify", "verify"),
        **CANCEL_LINK,
        "_links.resend": authn("/recovery/factors/{factorType}/resend", "sms", "CALL"),
    },
)

RECOVERY_CHALLENGE_EMAIL = Shape(
    """RECOVERY_CHALLENGE after a recovery e-mail was sent: no transaction
    (the e-mailed link carries a recovery token), four keys.""",
    (
        auth_js("recovery-challenge-email.js"),
        widget("RECOVERY_CHALLENGE_EMAIL_PWD.js"),
        widget("RECOVERY_CHALLENGE_EMAIL_UNLOCK.js"),
    ),
    required={
        "status": STRING,
        "factorResult": STRING,
        "factorType": STRING,
        "recoveryType": STRING,
    },
    values={
        **status("RECOVERY_CHALLENGE"),
        "factorResult": frozenset({"WAITING"}),
        "factorType": frozenset({"EMAIL"}),
        "recoveryType": frozenset({"PASSWORD", "UNLOCK"}),
    },
)

LOCKED_OUT = Shape(
    """LOCKED_OUT (with the policy's showLockoutFailures): an unlock link
    (next), a cancel link and an empty ``_embedded``; no stateToken.""",
    (auth_js("locked-out.js"), widget("ACCOUNT_LOCKED_OUT.js")),
    required={
        "status": STRING,
        "_embedded": OBJECT,
        **link_keys("_links.next", named=True),
        **CANCEL,
    },
    values=status("LOCKED_OUT"),
    links={"_links.next": authn("/recovery/unlock", "unlock"), **CANCEL_LINK},
)

PASSWORD_REQUIREMENTS_NOT_MET = Shape(
    """403 E0000080 from change_password or reset_password: Okta's error
    object, with exactly one cause in every recording.""",
    (
        auth_js("error-password-requirements.js"),
        auth_js("password-expired-error-complexity.js"),
        widget("PASSWORD_RESET_error.js"),
    ),
    required={
        "errorCode": STRING,
        "errorSummary": STRING,
        "errorLink": STRING,
        "errorId": STRING,
        "errorCauses": ARRAY,
        "errorCauses[]": OBJECT,
        "errorCauses[].errorSummary": STRING,
    },
    formats={"errorId": ERROR_ID},
    values={"errorCode": frozenset({"E0000080"}), "errorLink": frozenset({"E0000080"})},
)

#: Every shape a golden test compares an answer with, by name.
SHAPES = {
    "SUCCESS": SUCCESS,
    "MFA_REQUIRED": MFA_REQUIRED,
    "MFA_CHALLENGE": MFA_CHALLENGE,
    "MFA_ENROLL": MFA_ENROLL,
    "MFA_ENROLL_ACTIVATE": MFA_ENROLL_ACTIVATE,
    "PASSWORD_WARN": PASSWORD_WARN,
    "PASSWORD_EXPIRED": PASSWORD_EXPIRED,
    "PASSWORD_RESET": PASSWORD_RESET,
    "RECOVERY": RECOVERY,
    "RECOVERY_CHALLENGE": RECOVERY_CHALLENGE,
    "RECOVERY_CHALLENGE_EMAIL": RECOVERY_CHALLENGE_EMAIL,
    "LOCKED_OUT": LOCKED_OUT,
    "E0000080": PASSWORD_REQUIREMENTS_NOT_MET,
}
