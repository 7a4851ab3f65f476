"""One call on a transaction: the transaction document (:class:`Tx`), what the
call read fresh (:class:`Call`), and the facts ``next_status`` decides on.

Every other module of the engine builds on these; this one imports none of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from app.domain import authn
from app.domain.authn import Facts, Progress, RecoveryType, Status
from app.domain.clock import okta_timestamp as _okta_timestamp
from app.domain.errors import ApiError
from app.domain.factors import Factor, FactorStatus
from app.domain.policy import EffectivePolicy
from app.domain.users import User
from app.services import factor_verification
from app.services.context import Context
from app.store.atomic import Write
from app.store.transactions import Loaded


def okta_timestamp(moment: datetime) -> str:
    return str(_okta_timestamp(moment))


# ---- the transaction document ------------------------------------------------------------


def _default(value: Any) -> bool:
    return value is None or value is False or value == []


@dataclass
class Tx:
    """What the transaction remembers between calls (JSON in Redis)."""

    user_id: str | None
    status: Status
    progress: Progress
    expires_at: str
    relay_state: str | None = None
    device_token: str | None = None
    password_verified_at: str | None = None
    factor_verified_at: str | None = None
    recovery_factor_id: str | None = None
    recovery_factor_type: str | None = None  # SMS, CALL (EMAIL ends at the link)
    remember_device: bool = False
    #: Decided at primary authentication: the sign-on rule's factorPromptMode
    #: lets this sign-in skip MFA (DEVICE: a remembered device; SESSION: the
    #: client's session already proved a factor).
    mfa_waived: bool = False

    def to_doc(self) -> dict[str, Any]:
        """The document without the fields that hold their defaults (None,
        false, empty): a live transaction is a few hundred bytes of Redis.
        ``user_id`` and ``progress`` are always there, which is all that
        :meth:`from_doc` (this version's and the one before) needs."""
        doc = {k: v for k, v in asdict(self).items() if k == "user_id" or not _default(v)}
        doc["status"] = self.status.value
        doc["progress"] = {k: v for k, v in doc["progress"].items() if not _default(v)}
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Tx:
        data = dict(doc)
        data.pop("prior_factor_ids", None)  # recorded by earlier versions; read live now
        progress = dict(data.pop("progress"))
        if progress.get("recovery_type"):
            progress["recovery_type"] = RecoveryType(progress["recovery_type"])
        return cls(status=Status(data.pop("status")), progress=Progress(**progress), **data)


@dataclass
class Call:
    """One call on an existing transaction: everything its action needs."""

    loaded: Loaded | None
    tx: Tx
    user: User
    policy: EffectivePolicy
    factors: list[Factor]
    #: Redis writes that go out with the save, in the same script.
    also: list[Write] = field(default_factory=list)
    #: A factor check that the save runs first (the code is used up only with it).
    pending: factor_verification.Pending | None = None
    #: Whether a refused check counts towards lockout (not for an activation).
    counts_failures: bool = True
    #: The failed-attempt slot a guessing call took with the lease (None: no guess).
    slot: int | None = None
    #: Whether the guess was judged; a slot whose call judged nothing is given back.
    judged: bool = False

    def facts(self, now: datetime) -> Facts:
        """What ``next_status`` is told about this call's user, policy and factors."""
        tx = self.tx
        return authn.facts_for(
            self.user,
            self.policy,
            self.factors,
            tx.progress,
            mfa_waived=tx.mfa_waived,
            now=now,
        )


def prior_factors(tx: Tx, user_factors: list[Factor]) -> list[Factor]:
    """The factors that can satisfy MFA in this transaction (``authn.prior_factors``)."""
    return authn.prior_factors(user_factors, tx.progress)


def in_flow(tx: Tx, user_factors: list[Factor]) -> list[Factor]:
    """The user's factors as the flow sees them: one enrolled and proven in this
    transaction counts as active here, though the store keeps it pending until
    SUCCESS."""
    held = set(tx.progress.enrolled_factor_ids)
    return [
        replace(f, status=FactorStatus.ACTIVE)
        if f.id in held and f.status is FactorStatus.PENDING_ACTIVATION
        else f
        for f in user_factors
    ]


# ---- factors in the flow --------------------------------------------------------------------


def find(user_factors: list[Factor], factor_id: str | None) -> Factor | None:
    return next((f for f in user_factors if f.id == factor_id), None)


def factor_of(call: Call, factor_id: str) -> Factor:
    factor = find(call.factors, factor_id)
    if factor is None:
        raise ApiError("E0000007", detail=f"{factor_id} (UserFactor)")
    return factor


def mark_verified(ctx: Context, call: Call, factor: Factor) -> None:
    """The factor is proven: the MFA is met, and the session's ``amr`` says how."""
    progress = call.tx.progress
    progress.mfa_verified = True
    progress.challenged_factor_id = None
    progress.webauthn_challenge = None
    for value in (factor.kind.amr, "mfa"):
        if value not in progress.amr:
            progress.amr.append(value)
    call.tx.factor_verified_at = okta_timestamp(ctx.clock())
