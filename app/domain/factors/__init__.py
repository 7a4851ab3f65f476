"""Factors: the record, its statuses, and the table of supported types.

``FACTOR_TYPES`` is the one list of what can be enrolled: each entry names
the factorType/provider pair of Okta's reference, its vendor name, its id
prefix, how it is verified, whether it needs activation and what it adds to
a session's ``amr``. The per-type behaviour lives in one module each
(``totp``, ``sms``, ``call``, ``email``, ``question``, ``webauthn``); ``sent_code`` holds
what the three delivered-code types share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class FactorStatus(StrEnum):
    PENDING_ACTIVATION = "PENDING_ACTIVATION"
    ACTIVE = "ACTIVE"


class Verification(StrEnum):
    TOTP = "totp"  # a code computed from a shared secret and the time
    SENT_CODE = "sent_code"  # a one-time code delivered by SMS, voice or e-mail
    ANSWER = "answer"  # the answer to a security question
    WEBAUTHN = "webauthn"  # a signature by a registered authenticator (passkey, security key)


@dataclass(frozen=True)
class FactorKind:
    factor_type: str
    provider: str
    vendor_name: str
    id_prefix: str
    verification: Verification
    channel: str | None = None  # delivery channel for SENT_CODE types
    activate_on_enroll_allowed: bool = False  # Okta's ?activate=true
    #: What a verification of it adds to the session's ``amr`` (RFC 8176 values).
    amr: str = ""

    @property
    def needs_activation(self) -> bool:
        return self.verification != Verification.ANSWER

    @property
    def one_per_user(self) -> bool:
        """A user has at most one factor of this kind; WebAuthn has one per authenticator."""
        return self.verification != Verification.WEBAUTHN


V = Verification
#: Prefixes follow the seed walkthrough's real responses (uft, sms, ufs) and
#: Okta's reference for the rest (ost, clf, emf, fwf).
FACTOR_TYPES: tuple[FactorKind, ...] = (
    FactorKind("token:software:totp", "GOOGLE", "GOOGLE", "uft", V.TOTP, amr="otp"),
    FactorKind("token:software:totp", "OKTA", "OKTA", "ost", V.TOTP, amr="otp"),
    FactorKind("sms", "OKTA", "OKTA", "sms", V.SENT_CODE, "sms", True, amr="sms"),
    FactorKind("call", "OKTA", "OKTA", "clf", V.SENT_CODE, "call", True, amr="tel"),
    FactorKind("email", "OKTA", "OKTA", "emf", V.SENT_CODE, "email", True, amr="email"),
    FactorKind("question", "OKTA", "OKTA", "ufs", V.ANSWER, amr="kba"),
    FactorKind("webauthn", "FIDO", "FIDO", "fwf", V.WEBAUTHN, amr="hwk"),
)
KINDS: dict[tuple[str, str], FactorKind] = {(k.factor_type, k.provider): k for k in FACTOR_TYPES}


def kind_of(factor_type: str, provider: str) -> FactorKind | None:
    return KINDS.get((factor_type, provider.upper()))


@dataclass
class Factor:
    """An enrolled factor. ``secret`` is plaintext here; the store encrypts it."""

    id: str
    user_id: str
    factor_type: str
    provider: str
    status: FactorStatus
    profile: dict[str, Any]
    created: datetime
    last_updated: datetime
    secret: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> FactorKind:
        return KINDS[(self.factor_type, self.provider)]

    @property
    def active(self) -> bool:
        return self.status == FactorStatus.ACTIVE


class EnrollmentError(ValueError):
    """A profile that cannot be enrolled; ``causes`` say why, in Okta's words."""

    def __init__(self, *causes: str) -> None:
        super().__init__("; ".join(causes))
        self.causes = list(causes)
