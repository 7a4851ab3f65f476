"""The /api/v1/authn transaction engine.

Every call is: load the transaction (taking its lease) → check the action
against ``ALLOWED`` → act → ask ``next_status`` → save with compare-and-set
(or, on SUCCESS, end the transaction and mint a one-time ``sessionToken``).
Endpoints do not decide statuses; ``app.domain.authn.next_status`` does,
from the facts read fresh on every call (the user may have been locked or
had a factor reset meanwhile) and the progress kept in the transaction.

What the API layer renders comes back as a :class:`View`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NoReturn

from app.delivery import Message
from app.domain import authn
from app.domain.authn import Action, Facts, Progress, RecoveryType, Status
from app.domain.clock import okta_timestamp as _okta_timestamp
from app.domain.clock import parse_timestamp
from app.domain.errors import ApiError, InvalidToken, ValidationFailed
from app.domain.factors import Factor, FactorStatus, Verification
from app.domain.policy import EffectivePolicy, Enrollment, FactorPromptMode
from app.domain.users import User, UserStatus
from app.services import activation, credentials, factor_verification, factors, sessions
from app.services.context import Context
from app.store import UnitOfWork
from app.store.atomic import Write
from app.store.transactions import Busy, Conflict, Loaded, Refused

log = logging.getLogger("portcullis.authn")


def okta_timestamp(moment: datetime) -> str:
    return str(_okta_timestamp(moment))


#: What each verified factor adds to the session's ``amr`` (RFC 8176 values).
AMR = {"token:software:totp": "otp", "sms": "sms", "call": "tel", "email": "email"}
AMR_QUESTION = "kba"
#: Users who may not sign in at all: the same 401 E0000004 as a wrong password.
CANNOT_SIGN_IN = frozenset(
    {UserStatus.STAGED, UserStatus.PROVISIONED, UserStatus.SUSPENDED, UserStatus.DEPROVISIONED}
)
RECOVERY_CHANNELS = {"SMS": "sms", "CALL": "call", "EMAIL": "email"}
RECOVERY_POLICY_KEYS = {"SMS": "okta_sms", "CALL": "okta_call", "EMAIL": "okta_email"}


# ---- the transaction document ------------------------------------------------------------


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
    #: The user's active factors when the transaction began: only these can
    #: answer an MFA requirement (a factor enrolled in the flow is a first
    #: enrolment or comes after the MFA). None in a transaction begun before
    #: this was recorded: then the factors active in the store count.
    prior_factor_ids: list[str] | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["status"] = self.status.value
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Tx:
        data = dict(doc)
        progress = dict(data.pop("progress"))
        if progress.get("recovery_type"):
            progress["recovery_type"] = RecoveryType(progress["recovery_type"])
        return cls(status=Status(data.pop("status")), progress=Progress(**progress), **data)


@dataclass
class View:
    """One /authn answer, before rendering in Okta's JSON shape."""

    status: Status
    user: User | None = None
    state_token: str | None = None
    expires_at: datetime | None = None
    session_token: str | None = None
    relay_state: str | None = None
    factor_result: str | None = None
    recovery_type: str | None = None
    recovery_factor_type: str | None = None
    factors: list[Factor] = field(default_factory=list)  # MFA_REQUIRED
    enrollable: list[tuple[Any, str, Factor | None]] = field(default_factory=list)
    factor: Factor | None = None  # MFA_ENROLL_ACTIVATE, MFA_CHALLENGE
    qr_token: str | None = None
    policy: EffectivePolicy | None = None
    can_skip: bool = False
    password_expire_days: int | None = None


def effective_for(ctx: Context, uow: UnitOfWork, user: User) -> EffectivePolicy:
    """The policies that apply to ``user`` (app.services.policies evaluates them)."""
    from app.services.policies import effective_for as evaluate

    policy: EffectivePolicy = evaluate(ctx, uow, user)
    return policy


# ---- facts ----------------------------------------------------------------------------------


def _days_until_expiry(user: User, policy: EffectivePolicy, now: datetime) -> int | None:
    max_age = policy.password.max_age_days
    if not max_age or user.password_changed is None:
        return None
    remaining = user.password_changed + timedelta(days=max_age) - now
    return remaining.days if remaining.total_seconds() >= 0 else -1


def _enrollment_state(
    policy: EffectivePolicy, user_factors: list[Factor]
) -> tuple[bool, bool, list[tuple[Any, str, Factor | None]]]:
    """(required missing, optional available, [(kind, enrollment, factor)])."""
    from app.domain.factors import FACTOR_TYPES

    active = {(f.factor_type, f.provider): f for f in user_factors if f.active}
    entries = []
    required_missing = optional_available = False
    for kind in FACTOR_TYPES:
        enrollment = policy.enrollment_of(kind.factor_type, kind.provider)
        if enrollment is Enrollment.NOT_ALLOWED:
            continue
        factor = active.get((kind.factor_type, kind.provider))
        entries.append((kind, enrollment.value, factor))
        if factor is None and enrollment is Enrollment.REQUIRED:
            required_missing = True
        elif factor is None:
            optional_available = True
    return required_missing, optional_available, entries


def _prior_factors(tx: Tx, user_factors: list[Factor]) -> list[Factor]:
    """The factors that can satisfy MFA: those active when the transaction began
    and still active. (The enrolment policy governs what may be enrolled; an
    enrolled factor stays usable, as in Okta.)"""
    held = set(tx.progress.enrolled_factor_ids)
    prior = None if tx.prior_factor_ids is None else set(tx.prior_factor_ids)
    return [
        f
        for f in user_factors
        if f.active and f.id not in held and (prior is None or f.id in prior)
    ]


def _in_flow(tx: Tx, user_factors: list[Factor]) -> list[Factor]:
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


def _facts(
    ctx: Context, user: User, policy: EffectivePolicy, user_factors: list[Factor], tx: Tx
) -> Facts:
    now = ctx.clock()
    days = _days_until_expiry(user, policy, now)
    required_missing, optional_available, _ = _enrollment_state(policy, user_factors)
    sign_on = policy.sign_on
    mfa_required = sign_on.require_factor and not tx.mfa_waived
    return Facts(
        locked=user.status == UserStatus.LOCKED_OUT,
        password_expired=user.status == UserStatus.PASSWORD_EXPIRED
        or (days is not None and days < 0),
        days_until_password_expiry=days,
        warn_days=policy.password.expire_warn_days,
        required_enrollments_missing=required_missing,
        optional_enrollments_available=optional_available,
        mfa_required=mfa_required,
        has_prior_factors=bool(_prior_factors(tx, user_factors)),
        recovery_question_required=(
            not tx.progress.activating
            and user.recovery_question is not None
            and "recovery_question" in policy.password.recovery_factors
        ),
    )


# ---- loading -----------------------------------------------------------------------------


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


def _expired(ctx: Context, tx: Tx) -> bool:
    return parse_timestamp(tx.expires_at) <= ctx.clock()


def _read_user(
    ctx: Context, uow: UnitOfWork, tx: Tx, *, policy: EffectivePolicy | None = None
) -> tuple[User, EffectivePolicy, list[Factor]]:
    """The transaction's user as stored now, the policy (``policy`` if the
    caller just evaluated it) and the user's factors as the flow sees them."""
    assert tx.user_id is not None
    user = uow.users.get(tx.user_id)
    if user is None:
        raise InvalidToken()
    activating = tx.progress.activating and user.status == UserStatus.PROVISIONED
    if user.status in CANNOT_SIGN_IN and not activating:
        raise InvalidToken()
    policy = policy or effective_for(ctx, uow, user)
    return user, policy, _in_flow(tx, uow.factors.for_user(user.id))


def _open(
    ctx: Context,
    state_token: str | None,
    action: Action,
    precheck: Callable[[Tx], None] | None = None,
    guess: bool = False,
) -> Call:
    """Load (and lease) the transaction and read its user fresh. A ``guess``
    (a code or answer to judge) counts its attempt with the lease, before the
    user is read: see :func:`_admit`. ``precheck``: refusals that a decoy must
    give exactly as a real transaction does."""
    if not state_token or not isinstance(state_token, str):
        raise InvalidToken()
    store = ctx.stores.transactions
    try:
        loaded = (
            store.load(state_token)
            if action is Action.READ
            else store.lease(state_token, take_slot=guess)
        )
    except Busy as exc:
        raise ApiError(
            "E0000079",
            summary="This operation is not allowed in the current authentication state: "
            "another request on this transaction is in progress.",
        ) from exc
    if loaded is None:
        raise InvalidToken()
    try:
        tx = Tx.from_doc(loaded.doc)
        if _expired(ctx, tx):
            raise InvalidToken()
        if not authn.allowed(tx.status, action):
            raise ApiError("E0000079")
        if precheck is not None:  # refusals a decoy must give exactly as a real one does
            precheck(tx)
        if tx.user_id is None:
            return _decoy(ctx, loaded, tx, action)
        with ctx.stores.unit_of_work() as uow:
            user, policy, user_factors = _read_user(ctx, uow, tx)
    except BaseException:
        if action is not Action.READ:
            store.release(loaded)
        _give_back(ctx, loaded.doc.get("user_id"), loaded.slot)
        raise
    call = Call(loaded if action is not Action.READ else None, tx, user, policy, user_factors)
    call.slot = loaded.slot
    return _admit(ctx, call, state_token, action)


class _Answered(Exception):
    """The call was answered before its action ran: a decoy transaction (no
    user behind it), or a transaction its user's lock has ended."""

    def __init__(self, view: View) -> None:
        self.view = view


def _decoy(ctx: Context, loaded: Loaded, tx: Tx, action: Action) -> Call:
    """A recovery begun for an unknown or ineligible user behaves like a real one
    (it can be read, resent and cancelled) except that no code ever matches."""
    store = ctx.stores.transactions
    if action is Action.CANCEL:
        _finish(ctx, loaded)
        raise _Answered(View(Status.UNAUTHENTICATED, relay_state=tx.relay_state))
    if action is Action.RECOVERY_VERIFY:
        store.release(loaded)
        raise ApiError("E0000068", causes=[factor_verification.PASSCODE_MISMATCH])
    if action is Action.RECOVERY_RESEND:  # a real resend extends the transaction
        ttl = ctx.settings.state_token_ttl
        tx.expires_at = okta_timestamp(ctx.clock() + timedelta(seconds=ttl))
        try:
            store.save(loaded, tx.to_doc(), ttl)
        except Conflict as exc:
            raise InvalidToken() from exc
    elif action is not Action.READ:
        store.release(loaded)
    raise _Answered(
        View(
            tx.status,
            state_token=loaded.token,
            expires_at=parse_timestamp(tx.expires_at),
            relay_state=tx.relay_state,
            recovery_type=_recovery_type(tx),
            recovery_factor_type=tx.recovery_factor_type,
        )
    )


def _run(
    ctx: Context,
    state_token: Any,
    action: Action,
    act: Callable[[Call], View | None],
    precheck: Callable[[Tx], None] | None = None,
    *,
    guess: bool = False,
) -> View:
    """Open the transaction, apply ``act(call)``, advance and save it.
    ``guess``: the call carries a code or answer, so it counts as an attempt."""
    try:
        call = _open(ctx, state_token, action, precheck, guess)
    except _Answered as answered:
        return answered.view
    try:
        view = act(call)
        # None: advance; else the action answered itself (cancel).
        return _advance(ctx, call) if view is None else view
    except BaseException:
        if call.loaded is not None:  # a no-op once the save dropped the lease
            ctx.stores.transactions.release(call.loaded)
        raise
    finally:
        if not call.judged:  # a send, a bad request: no attempt was made
            _give_back(ctx, call.user.id, call.slot)


def _advance(ctx: Context, call: Call) -> View:
    """Decide the next status, then save the transaction (or finish it)."""
    tx = call.tx
    facts = _facts(ctx, call.user, call.policy, call.factors, tx)
    tx.status = authn.next_status(facts, tx.progress)
    if call.loaded is None:
        raise AssertionError("a read never advances a transaction")
    if tx.status is Status.SUCCESS:
        view = _success(ctx, call)
        _commit(ctx, call, finish=True)
        return _after_success(ctx, call, view)
    expires = ctx.clock() + timedelta(seconds=ctx.settings.state_token_ttl)
    tx.expires_at = okta_timestamp(expires)
    _commit(ctx, call, finish=False)
    return _view(ctx, call, state_token=call.loaded.token)


def _commit(ctx: Context, call: Call, *, finish: bool) -> None:
    """Save or finish the transaction with its staged writes and its factor check."""
    assert call.loaded is not None
    store = ctx.stores.transactions
    check = call.pending.check if call.pending else None
    try:
        if finish:
            store.finish(call.loaded, call.also, check)
        else:
            store.save(
                call.loaded, call.tx.to_doc(), ctx.settings.state_token_ttl, call.also, check
            )
    except Conflict as exc:
        raise InvalidToken() from exc
    except Refused:
        assert call.pending is not None
        try:
            if call.counts_failures:
                _factor_failed(ctx, call, call.pending.error)
            raise call.pending.error from None
        finally:
            store.release(call.loaded)


def _finish(ctx: Context, loaded: Loaded, also: list[Write] | None = None) -> None:
    try:
        ctx.stores.transactions.finish(loaded, also or ())
    except Conflict as exc:
        raise InvalidToken() from exc


def _flush(ctx: Context, also: list[Write]) -> None:
    """Send staged writes in one round trip (no transaction to save with them)."""
    if also:
        pipe = ctx.stores.redis.pipeline(transaction=False)
        for write in also:
            write.apply(pipe)
        pipe.execute()


def _after_success(ctx: Context, call: Call, view: View) -> View:
    """What SUCCESS changes beyond Redis, once the transaction is won."""
    tx, user = call.tx, call.user
    if tx.progress.recovery_type is RecoveryType.UNLOCK:  # the user signs in afresh
        _unlock(ctx, user.id)
        return view
    _activate_enrollments(ctx, user.id, tx.progress)
    with ctx.stores.unit_of_work() as uow:
        uow.users.touch_last_login(user.id, ctx.clock())
    return view


def _success(ctx: Context, call: Call) -> View:
    """The SUCCESS answer; its sessionToken (and a remembered device) are
    staged in ``call.also``."""
    tx, user = call.tx, call.user
    now = ctx.clock()
    recovery = tx.progress.recovery_type
    if recovery is RecoveryType.UNLOCK:
        return View(Status.SUCCESS, user, relay_state=tx.relay_state, recovery_type=recovery.value)
    if not call.policy.sign_on.access_allowed:  # no session for a denied user, whatever path
        raise _authentication_failed()
    grant = {
        "user_id": user.id,
        "amr": ["pwd", *tx.progress.amr] if tx.password_verified_at else list(tx.progress.amr),
        "password_verified_at": tx.password_verified_at,
        "factor_verified_at": tx.factor_verified_at,
        "created": okta_timestamp(now),
        "expires_at": okta_timestamp(now + timedelta(seconds=ctx.settings.session_token_ttl)),
        "idle_minutes": call.policy.sign_on.max_session_idle_minutes,
        "lifetime_minutes": call.policy.sign_on.max_session_lifetime_minutes,
        "persistent_cookie": call.policy.sign_on.use_persistent_cookie,
    }
    ttl = ctx.settings.session_token_ttl
    token, write = ctx.stores.session_tokens.staged(grant, ttl)  # Redis expires it too
    call.also.append(write)
    if tx.remember_device and tx.device_token and tx.progress.mfa_verified:
        lifetime = call.policy.sign_on.factor_lifetime_minutes * 60
        call.also.append(ctx.stores.devices.remember(user.id, tx.device_token, lifetime))
    return View(
        Status.SUCCESS,
        user,
        expires_at=now + timedelta(seconds=ttl),
        session_token=token,
        relay_state=tx.relay_state,
        recovery_type=recovery.value if recovery else None,
    )


def _view(ctx: Context, call: Call, state_token: str | None) -> View:
    tx, user, policy = call.tx, call.user, call.policy
    view = View(
        tx.status,
        user,
        state_token=state_token,
        expires_at=parse_timestamp(tx.expires_at),
        relay_state=tx.relay_state,
        policy=policy,
        recovery_type=_recovery_type(tx),
    )
    status = tx.status
    if status is Status.MFA_REQUIRED:
        view.factors = _prior_factors(tx, call.factors)
    elif status is Status.MFA_ENROLL:
        _, _, view.enrollable = _enrollment_state(policy, call.factors)
        facts = _facts(ctx, user, policy, call.factors, tx)
        view.can_skip = authn.may_skip_enrollment(facts, tx.progress)
    elif status is Status.MFA_ENROLL_ACTIVATE:
        view.factor = _find(call.factors, tx.progress.enrolling_factor_id)
        if view.factor is not None and view.factor.kind.verification == Verification.TOTP:
            view.qr_token = factors.qr_token(ctx, view.factor)
            view.factor_result = "WAITING"
    elif status is Status.MFA_CHALLENGE:
        view.factor = _find(call.factors, tx.progress.challenged_factor_id)
        view.factor_result = "CHALLENGE"
    elif status is Status.PASSWORD_WARN:
        view.password_expire_days = _days_until_expiry(user, policy, ctx.clock())
    elif status is Status.RECOVERY_CHALLENGE:
        view.recovery_factor_type = tx.recovery_factor_type
    return view


def _recovery_type(tx: Tx) -> str | None:
    """``recoveryType`` as Okta shows it; an activation shows none."""
    kind = tx.progress.recovery_type
    return kind.value if kind is not None and not tx.progress.activating else None


def _find(user_factors: list[Factor], factor_id: str | None) -> Factor | None:
    return next((f for f in user_factors if f.id == factor_id), None)


# ---- primary authentication ---------------------------------------------------------------


_DUMMY_HASH: dict[str, str] = {}


def _burn_hash(ctx: Context, password: str) -> None:
    """Verify against a dummy hash so unknown users cost what known ones do."""
    dummy = _DUMMY_HASH.get("argon2")
    if dummy is None:
        dummy = _DUMMY_HASH.setdefault("argon2", ctx.hasher.hash("portcullis-dummy-password"))
    ctx.hasher.verify(dummy, password)


def _authentication_failed() -> ApiError:
    return ApiError("E0000004")


def _string(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ValidationFailed("authRequest", [f"{name}: The field cannot be left blank"])
        return None
    if not isinstance(value, str):
        raise ValidationFailed("authRequest", [f"{name}: must be a string"])
    return value


def _mfa_waived(
    ctx: Context, user: User, policy: EffectivePolicy, device: str | None, sid: str | None
) -> bool:
    """Whether the sign-on rule's prompt mode lets this sign-in skip MFA."""
    sign_on = policy.sign_on
    if not sign_on.require_factor:
        return False
    if sign_on.factor_prompt_mode is FactorPromptMode.DEVICE:
        return bool(device) and ctx.stores.devices.is_remembered(user.id, str(device))
    if sign_on.factor_prompt_mode is FactorPromptMode.SESSION:
        session = sessions.by_cookie(ctx, sid)
        return (
            session is not None
            and session.record["user_id"] == user.id
            and "mfa" in session.record.get("amr", [])
        )
    return False


def primary(ctx: Context, body: dict[str, Any], sid: str | None = None) -> View:
    """``POST /api/v1/authn``: username and password, or ``{stateToken}`` to read.
    ``sid``: the client's session cookie, if it sent one (factorPromptMode SESSION)."""
    if body.get("stateToken") is not None and body.get("username") is None:
        return read(ctx, body.get("stateToken"))
    if body.get("token") is not None and body.get("username") is None:
        return activate(ctx, body)
    username = _string(body, "username")
    password = _string(body, "password")
    assert username is not None and password is not None
    options = body.get("options") or {}
    context = body.get("context") or {}
    if not isinstance(options, dict) or not isinstance(context, dict):
        raise ValidationFailed("authRequest", ["options: must be an object"])
    relay_state = _string(body, "relayState", required=False)
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.by_login(username) or uow.users.by_shortname(username)
        policy = effective_for(ctx, uow, user) if user is not None else None
    if user is None or policy is None or not user.has_password or user.status in CANNOT_SIGN_IN:
        _burn_hash(ctx, password)
        raise _authentication_failed()
    if user.status == UserStatus.RECOVERY:  # an admin reset: the old password is void
        _burn_hash(ctx, password)
        raise _authentication_failed()
    lockout = policy.password.lockout
    if user.status == UserStatus.LOCKED_OUT and _auto_unlock_due(user, lockout, now):
        _unlock(ctx, user.id)
        user.status = UserStatus.ACTIVE
    slot = _take_password_slot(ctx, user, policy, password)
    if isinstance(slot, View):  # refused before the password was judged
        return slot
    hash_before = user.password_hash
    if not credentials.verify_password(ctx, user, password):
        return _password_failed(ctx, user, policy, slot)
    if not policy.sign_on.access_allowed:  # a sign-on rule denies this user: as a wrong
        return _password_failed(ctx, user, policy, slot)  # password, to the lockout too
    if user.password_hash != hash_before:  # an imported or weaker hash, upgraded
        with ctx.stores.unit_of_work() as uow:
            fresh = uow.users.get(user.id)
            if fresh is not None:
                fresh.password_hash = user.password_hash
                uow.users.save(fresh)
    device = context.get("deviceToken")
    tx = Tx(
        user_id=user.id,
        status=Status.UNAUTHENTICATED,
        progress=Progress(
            warn_requested=bool(options.get("warnBeforePasswordExpired")),
            multi_optional_enroll=bool(options.get("multiOptionalFactorEnroll")),
        ),
        expires_at="",
        relay_state=relay_state,
        device_token=str(device) if device else None,
        password_verified_at=okta_timestamp(now),
        mfa_waived=_mfa_waived(ctx, user, policy, device, sid),
    )
    return _begin(ctx, tx, [ctx.stores.failed_attempts.staged_clear(user.id)], policy)


def _begin(
    ctx: Context, tx: Tx, also: list[Write] | None = None, policy: EffectivePolicy | None = None
) -> View:
    """Store a new transaction in its first status and answer it (one round
    trip to Redis, with the ``also`` writes). The user is read again (the
    password check took a while); ``policy``, evaluated just before, is not."""
    assert tx.user_id is not None
    with ctx.stores.unit_of_work() as uow:
        user, policy, user_factors = _read_user(ctx, uow, tx, policy=policy)
    tx.prior_factor_ids = [f.id for f in user_factors if f.active]
    call = Call(None, tx, user, policy, user_factors, also=list(also or ()))
    facts = _facts(ctx, user, policy, user_factors, tx)
    tx.status = authn.next_status(facts, tx.progress)
    if tx.status is Status.SUCCESS:
        view = _success(ctx, call)
        _flush(ctx, call.also)
        return _after_success(ctx, call, view)
    if tx.status is Status.LOCKED_OUT:
        _flush(ctx, call.also)
        return _locked_out(policy)
    ttl = ctx.settings.state_token_ttl
    tx.expires_at = okta_timestamp(ctx.clock() + timedelta(seconds=ttl))
    token = ctx.stores.transactions.create(tx.to_doc(), ttl, call.also)
    return _view(ctx, call, state_token=token)


def _auto_unlock_due(user: User, lockout: Any, now: datetime) -> bool:
    minutes = lockout.auto_unlock_minutes
    if not minutes or user.status_changed is None:
        return False
    return now >= user.status_changed + timedelta(minutes=minutes)


def _unlock(ctx: Context, user_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is not None and user.status == UserStatus.LOCKED_OUT:
            user.set_status(UserStatus.ACTIVE, ctx.clock())
            uow.users.save(user)
    ctx.stores.failed_attempts.clear(user_id)


def _take_password_slot(
    ctx: Context, user: User, policy: EffectivePolicy, password: str
) -> int | View | None:
    """Count this password attempt before it is judged; or refuse it unjudged,
    answering as for a locked user (:func:`_locked_out`), when the user is
    locked or the attempt's slot is beyond ``maxAttempts``.

    The user is read again once the slot is taken, so a lock committed
    before (by the attempt in the last slot, which cleared the counter
    after locking) is seen. A refused attempt still pays for one hash: the
    time taken does not tell it apart. None: lockout is off, nothing counted."""
    maximum = policy.password.lockout.max_attempts
    if user.status == UserStatus.LOCKED_OUT:
        _burn_hash(ctx, password)
        return _locked_out(policy)
    if not maximum:
        return None
    slot = ctx.stores.failed_attempts.take_slot(user.id)
    if slot > maximum:
        _beyond_limit(ctx, user.id)
    elif _now_locked(ctx, user.id):
        _give_back(ctx, user.id, slot)
    else:
        return slot
    _burn_hash(ctx, password)
    return _locked_out(policy)


def _now_locked(ctx: Context, user_id: str) -> bool:
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
    return user is not None and user.status == UserStatus.LOCKED_OUT


def _lock(ctx: Context, user_id: str) -> bool:
    """Lock the user out if it can be; True if this call did."""
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is None or user.status not in (UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED):
            return False
        user.set_status(UserStatus.LOCKED_OUT, ctx.clock())
        uow.users.save(user)
    return True


def _attempt_failed(ctx: Context, user_id: str, policy: EffectivePolicy, slot: int | None) -> bool:
    """A judged attempt failed. It is counted already (its slot); the one in
    the last slot locks the user. True if the user is locked out now."""
    maximum = policy.password.lockout.max_attempts
    if not maximum or slot is None or slot < maximum:
        return False
    _lock(ctx, user_id)
    # The lock is the state now: the slots of this round are spent, and
    # whoever unlocks (admin, auto-unlock, self-service) starts from zero.
    ctx.stores.failed_attempts.clear(user_id)
    log.warning("user %s locked out after %d failed attempts", user_id, slot)
    return True


def _beyond_limit(ctx: Context, user_id: str) -> None:
    """An attempt whose slot is past ``maxAttempts``: judged nothing. The
    attempt in the last slot locks the user when it fails; if it did not
    (it passed, or its worker died), more than ``maxAttempts`` attempts came
    at once: lock now."""
    if _lock(ctx, user_id):
        ctx.stores.failed_attempts.clear(user_id)
        log.warning("user %s locked out: attempts beyond maxAttempts", user_id)


def _give_back(ctx: Context, user_id: str | None, slot: int | None) -> None:
    """Undo the count of an attempt that judged nothing."""
    if user_id is not None and slot is not None:
        ctx.stores.failed_attempts.give_back(user_id)


def _password_failed(ctx: Context, user: User, policy: EffectivePolicy, slot: int | None) -> View:
    locked = _attempt_failed(ctx, user.id, policy, slot)
    if locked and policy.password.lockout.show_lockout_failures:
        return _locked_out(policy)
    raise _authentication_failed()


def _locked_out(policy: EffectivePolicy) -> View:
    if not policy.password.lockout.show_lockout_failures:
        raise _authentication_failed()
    return View(Status.LOCKED_OUT, policy=policy)


def _dead(policy: EffectivePolicy) -> View:
    """The answer on a sign-in transaction whose user is locked out: the
    LOCKED_OUT answer (no stateToken) when the policy shows lockouts, else the
    401 E0000011 of any ended transaction. The same whatever the call sent."""
    if not policy.password.lockout.show_lockout_failures:
        raise InvalidToken()
    return View(Status.LOCKED_OUT, policy=policy)


#: A guess refused for its slot in a recovery: the answer of the guess that
#: used up the last slot (the transaction ends either way).
_EXHAUSTED = {Action.RECOVERY_ANSWER: "E0000087"}


def _admit(ctx: Context, call: Call, state_token: str, action: Action) -> Call:
    """Refuse, unjudged, a call on a sign-in transaction whose user is locked
    out (the transaction ends: a lock kills the transactions opened before
    it), and a guess whose slot is beyond ``maxAttempts``. Recovery
    transactions (unlock, forgot password) live on for a locked user."""
    recovering = call.tx.progress.recovery_type is not None
    maximum = call.policy.password.lockout.max_attempts
    if not recovering and call.user.status == UserStatus.LOCKED_OUT:
        _give_back(ctx, call.user.id, call.slot)
    elif call.slot is not None and maximum and call.slot > maximum:
        _beyond_limit(ctx, call.user.id)
    else:
        return call
    _end(ctx, call.loaded, state_token)
    if recovering:
        raise ApiError(_EXHAUSTED.get(action, "E0000069"))
    raise _Answered(_dead(call.policy))


def _end(ctx: Context, loaded: Loaded | None, state_token: str) -> None:
    """End the transaction, leased by this call or (a read) leased now."""
    store = ctx.stores.transactions
    with contextlib.suppress(Busy):  # the call holding it will find the lock too
        loaded = loaded or store.lease(state_token)
        if loaded is not None:
            _finish_quietly(ctx, loaded)


# ---- actions on a transaction ---------------------------------------------------------------


def read(ctx: Context, state_token: Any) -> View:
    try:
        call = _open(ctx, state_token, Action.READ)
    except _Answered as answered:
        return answered.view
    return _view(ctx, call, state_token=str(state_token))


def cancel(ctx: Context, state_token: Any) -> View:
    def act(call: Call) -> View:
        assert call.loaded is not None
        _finish(ctx, call.loaded)
        _discard_enrollments(ctx, call.user.id, call.tx.progress)
        return View(Status.UNAUTHENTICATED, relay_state=call.tx.relay_state)

    return _run(ctx, state_token, Action.CANCEL, act)


def skip(ctx: Context, state_token: Any) -> View:
    def act(call: Call) -> None:
        progress = call.tx.progress
        if call.tx.status is Status.PASSWORD_WARN:
            progress.warn_skipped = True
            return
        facts = _facts(ctx, call.user, call.policy, call.factors, call.tx)
        if not authn.may_skip_enrollment(facts, progress):
            raise ApiError("E0000079")
        progress.enroll_skipped = True

    return _run(ctx, state_token, Action.SKIP, act)


def previous(ctx: Context, state_token: Any) -> View:
    def act(call: Call) -> None:
        progress = call.tx.progress
        if call.tx.status is Status.MFA_ENROLL_ACTIVATE:
            pending = _find(call.factors, progress.enrolling_factor_id)
            if pending is not None and not pending.active:
                factors.delete(ctx, call.user.id, pending.id)
                call.factors.remove(pending)
            progress.enrolling_factor_id = None
        else:
            progress.challenged_factor_id = None

    return _run(ctx, state_token, Action.PREVIOUS, act)


def _factor_of(call: Call, factor_id: str) -> Factor:
    factor = _find(call.factors, factor_id)
    if factor is None:
        raise ApiError("E0000007", detail=f"{factor_id} (UserFactor)")
    return factor


def _discard_enrollments(ctx: Context, user_id: str, progress: Progress) -> None:
    """A cancelled transaction takes its enrolments with it (they were never active)."""
    held = [*progress.enrolled_factor_ids, progress.enrolling_factor_id]
    with ctx.stores.unit_of_work() as uow:
        for factor_id in filter(None, held):
            factor = uow.factors.get(user_id, factor_id)
            if factor is not None and factor.status is FactorStatus.PENDING_ACTIVATION:
                uow.factors.delete(factor.id)


def _activate_enrollments(ctx: Context, user_id: str, progress: Progress) -> None:
    """At SUCCESS, the factors enrolled and proven in the transaction become
    active (unless an admin removed or replaced them meanwhile)."""
    if not progress.enrolled_factor_ids:
        return
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        for factor_id in progress.enrolled_factor_ids:
            factor = uow.factors.get(user_id, factor_id)
            if factor is not None and factor.status is FactorStatus.PENDING_ACTIVATION:
                factor.status = FactorStatus.ACTIVE
                factor.last_updated = now
                uow.factors.save(factor)


def _enrolled(ctx: Context, call: Call, factor: Factor) -> None:
    """A factor proven in the flow (a question set, a code entered). It counts
    as the MFA only as a first enrolment: for a user who had no active factor
    when the transaction began. Anyone else has proven one of theirs before
    enrolment was offered (``next_status``)."""
    progress = call.tx.progress
    progress.enrolling_factor_id = None
    if factor.id not in progress.enrolled_factor_ids:
        progress.enrolled_factor_ids.append(factor.id)
    first = not _prior_factors(call.tx, call.factors)
    call.factors = _in_flow(call.tx, call.factors)
    if first and not progress.mfa_verified:
        _mark_verified(ctx, call, factor)


def _mark_verified(ctx: Context, call: Call, factor: Factor) -> None:
    progress = call.tx.progress
    progress.mfa_verified = True
    progress.challenged_factor_id = None
    amr = (
        AMR_QUESTION if factor.kind.verification == Verification.ANSWER else AMR[factor.factor_type]
    )
    for value in (amr, "mfa"):
        if value not in progress.amr:
            progress.amr.append(value)
    call.tx.factor_verified_at = okta_timestamp(ctx.clock())


def _check_factor(ctx: Context, call: Call, factor: Factor, value: str) -> None:
    """The factor's check as far as it goes without Redis; the rest (a TOTP
    step used once, a delivered code used once) runs inside the save. The
    attempt was counted with the lease (``call.slot``); a pass resets the
    count together with the save."""
    call.judged = True
    try:
        call.pending = factor_verification.prepare(ctx, factor, value)
    except ApiError as exc:
        _factor_failed(ctx, call, exc)
    call.also.append(ctx.stores.failed_attempts.staged_clear(call.user.id))


def _factor_failed(ctx: Context, call: Call, exc: ApiError) -> NoReturn:
    """A wrong code or answer stays counted; the one in the last slot locks
    the user and ends the transaction (403 E0000069)."""
    if exc.code in ("E0000068", "E0000082") and _attempt_failed(
        ctx, call.user.id, call.policy, call.slot
    ):
        if call.loaded is not None:  # locked out: the transaction ends here
            _finish_quietly(ctx, call.loaded)
        raise ApiError("E0000069") from exc
    raise exc


def _finish_quietly(ctx: Context, loaded: Loaded) -> None:
    with contextlib.suppress(Conflict):
        ctx.stores.transactions.finish(loaded)


def verify_factor(
    ctx: Context, state_token: Any, factor_id: str, body: dict[str, Any], remember: bool | None
) -> View:
    """``/authn/factors/{fid}/verify``: a code or answer, or (SMS, call, e-mail) a send."""

    def act(call: Call) -> None:
        factor = _find(_prior_factors(call.tx, call.factors), factor_id)
        if factor is None:  # unknown, inactive, or enrolled in this very flow
            raise ApiError("E0000007", detail=f"{factor_id} (UserFactor)")
        kind = factor.kind
        if remember is not None:
            call.tx.remember_device = bool(remember)
        elif call.policy.sign_on.remember_device_by_default:
            call.tx.remember_device = True
        if kind.verification == Verification.ANSWER:
            _check_factor(ctx, call, factor, _required(body, "answer"))
        elif kind.verification == Verification.SENT_CODE and not body.get("passCode"):
            factor_verification.send_code(ctx, factor)
            call.tx.progress.challenged_factor_id = factor.id
            return
        else:
            _check_factor(ctx, call, factor, _required(body, "passCode"))
        _mark_verified(ctx, call, factor)

    guess = bool(body.get("passCode") or body.get("answer"))
    return _run(ctx, state_token, Action.VERIFY_FACTOR, act, guess=guess)


def resend_challenge(ctx: Context, state_token: Any, factor_id: str) -> View:
    def act(call: Call) -> None:
        if factor_id != call.tx.progress.challenged_factor_id:
            raise ApiError("E0000079")
        factor_verification.send_code(ctx, _factor_of(call, factor_id))

    return _run(ctx, state_token, Action.RESEND_CHALLENGE, act)


def enroll_factor(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    """``/authn/factors``: enrol one of the factors the MFA_ENROLL answer offered."""

    def act(call: Call) -> None:
        factor_type = _required(body, "factorType")
        provider = body.get("provider") or "OKTA"
        if call.policy.enrollment_of(factor_type, str(provider)) is Enrollment.NOT_ALLOWED:
            raise ValidationFailed(
                "factor", [f"factorType: {factor_type} is not allowed by the enrollment policy"]
            )
        if any(
            f.active and (f.factor_type, f.provider) == (factor_type, str(provider))
            for f in call.factors
        ):  # set up before, or earlier in this flow
            raise ValidationFailed("factorEnrollRequest", [factors.ALREADY_SET_UP])
        enrolled = factors.enroll(
            ctx,
            call.user.id,
            {"factorType": factor_type, "provider": provider, "profile": body.get("profile") or {}},
            activate=False,
            update_phone=bool(body.get("updatePhone")),
            token_lifetime=None,
            hold=True,  # active only once the transaction succeeds
        )
        factor = enrolled.factor
        call.factors = [f for f in call.factors if f.id != factor.id] + [factor]
        if factor.kind.needs_activation:
            call.tx.progress.enrolling_factor_id = factor.id
        else:  # a security question: set, and so proven, at once
            _enrolled(ctx, call, factor)

    return _run(ctx, state_token, Action.ENROLL_FACTOR, act)


def activate_factor(ctx: Context, state_token: Any, factor_id: str, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        if factor_id != call.tx.progress.enrolling_factor_id:
            raise ApiError("E0000079")
        passcode = _required(body, "passCode")
        factor = _factor_of(call, factor_id)
        if factor.active:
            raise ValidationFailed("factor", ["factor: The factor is already active"])
        # As the Factors API's activation: a wrong code is not a sign-in failure.
        # The code is spent, and the progress saved, only if the save's check passes.
        call.pending = factor_verification.prepare(ctx, factor, passcode)
        call.counts_failures = False
        _enrolled(ctx, call, factor)

    return _run(ctx, state_token, Action.ACTIVATE_FACTOR, act)


def resend_activation(ctx: Context, state_token: Any, factor_id: str) -> View:
    def act(call: Call) -> None:
        if factor_id != call.tx.progress.enrolling_factor_id:
            raise ApiError("E0000079")
        factor_verification.resend(ctx, call.user.id, factor_id)

    return _run(ctx, state_token, Action.RESEND_ACTIVATION, act)


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(name, [f"{name}: The field cannot be left blank"])
    return value


# ---- passwords ------------------------------------------------------------------------------


def _set_password(
    ctx: Context, uow: UnitOfWork, user: User, new_password: str, *, voluntary: bool = False
) -> None:
    """The policy's complexity and history (and, for a change the user chose to
    make, its minimum age); failures as 403 E0000080, as /authn answers."""
    try:
        credentials.set_password(ctx, uow, user, new_password, min_age=voluntary)
    except ValidationFailed as exc:
        raise ApiError("E0000080", causes=exc.causes) from exc


def change_password(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        old, new = _required(body, "oldPassword"), _required(body, "newPassword")
        with ctx.stores.unit_of_work() as uow:
            user = uow.users.get(call.user.id)
            if user is None:
                raise InvalidToken()
            if not credentials.verify_password(ctx, user, old):
                raise ApiError(
                    "E0000014", causes=["oldPassword: The credentials provided were incorrect."]
                )
            # PASSWORD_WARN: the user may change now; PASSWORD_EXPIRED: must.
            _set_password(ctx, uow, user, new, voluntary=call.tx.status is Status.PASSWORD_WARN)
            if user.status == UserStatus.PASSWORD_EXPIRED:
                user.set_status(UserStatus.ACTIVE, ctx.clock())
            uow.users.save(user)
        activation.forget_tokens(ctx, user.id)
        sessions.end_all_for_user(ctx, user.id)
        call.user = user
        call.tx.password_verified_at = okta_timestamp(ctx.clock())

    return _run(ctx, state_token, Action.CHANGE_PASSWORD, act)


# ---- recovery -------------------------------------------------------------------------------


def start_recovery(ctx: Context, body: dict[str, Any], recovery_type: RecoveryType) -> View:
    """``/authn/recovery/password`` and ``/authn/recovery/unlock``.

    Unknown users, and users the policy does not let recover this way, get the
    same answer as everyone else: a challenge that no code will ever satisfy.
    """
    username = _string(body, "username")
    factor_type = str(_string(body, "factorType") or "").upper()
    if factor_type not in RECOVERY_CHANNELS:
        raise ValidationFailed("recoveryRequest", ["factorType: must be one of SMS, CALL or EMAIL"])
    relay_state = _string(body, "relayState", required=False)
    assert username is not None
    channel = RECOVERY_CHANNELS[factor_type]
    # Before anybody is looked up, so every username string gets the same 429.
    # (Aliases of one user, login and short name, are two strings: the send
    # throttle of the factor behind them is then hit, and not shown.)
    factor_verification.claim_recovery_send(ctx, channel, "username:" + username.strip().lower())
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.by_login(username) or uow.users.by_shortname(username)
        policy = effective_for(ctx, uow, user) if user is not None else None
        user_factors = uow.factors.for_user(user.id) if user is not None else []
    eligible = (
        user is not None
        and policy is not None
        and _may_recover(user, policy, factor_type, recovery_type)
    )
    factor = None
    if eligible and channel != "email":
        factor = next((f for f in user_factors if f.active and f.kind.channel == channel), None)
    if factor_type == "EMAIL":
        if eligible and user is not None and policy is not None:
            _send_recovery_email(ctx, user, policy, recovery_type)
        return View(
            Status.RECOVERY_CHALLENGE,
            relay_state=relay_state,
            factor_result="WAITING",
            recovery_type=recovery_type.value,
            recovery_factor_type=factor_type,
        )
    if factor is not None:
        factor_verification.send_recovery_code(ctx, factor)
    ttl = ctx.settings.state_token_ttl
    expires = ctx.clock() + timedelta(seconds=ttl)
    tx = Tx(
        user_id=user.id if factor is not None and user is not None else None,
        status=Status.RECOVERY_CHALLENGE,
        progress=Progress(recovery_type=recovery_type),
        expires_at=okta_timestamp(expires),
        relay_state=relay_state,
        recovery_factor_id=factor.id if factor is not None else None,
        recovery_factor_type=factor_type,
        prior_factor_ids=[f.id for f in user_factors if f.active],
    )
    token = ctx.stores.transactions.create(tx.to_doc(), ttl)
    # A resend right away waits as a second send would, for a decoy too.
    factor_verification.claim_recovery_send(ctx, channel, _resend_subject(token))
    return View(
        Status.RECOVERY_CHALLENGE,
        state_token=token,
        expires_at=expires,
        relay_state=relay_state,
        recovery_type=recovery_type.value,
        recovery_factor_type=factor_type,
    )


def _may_recover(
    user: User, policy: EffectivePolicy, factor_type: str, recovery_type: RecoveryType
) -> bool:
    settings = policy.password
    if RECOVERY_POLICY_KEYS[factor_type] not in settings.recovery_factors:
        return False
    if recovery_type is RecoveryType.UNLOCK:
        return settings.self_service_unlock and user.status == UserStatus.LOCKED_OUT
    return settings.self_service_password_reset and user.status in (
        UserStatus.ACTIVE,
        UserStatus.PASSWORD_EXPIRED,
        UserStatus.LOCKED_OUT,
        UserStatus.RECOVERY,
    )


UNLOCK_TOKEN = "unlock"


def _send_recovery_email(
    ctx: Context, user: User, policy: EffectivePolicy, recovery_type: RecoveryType
) -> None:
    try:
        if recovery_type is RecoveryType.PASSWORD:
            activation.issue_recovery(ctx, user, send_email=True, settings=policy.password)
        else:
            _send_unlock_email(ctx, user, activation.recovery_ttl(ctx, policy.password))
    except Exception:  # the answer must not reveal whether the e-mail went out
        log.exception("recovery e-mail to user %s could not be sent", user.id)


def _send_unlock_email(ctx: Context, user: User, ttl: int) -> None:
    tokens = ctx.stores.one_time_tokens
    token = tokens.new_token()  # issued once the e-mail is on its way
    email = str(user.profile.get("email") or "")
    link = ctx.url(f"/signin/unlock/{token}")
    org = ctx.settings.org_name
    ctx.delivery.send(
        Message(
            "email",
            email,
            f"{org}: unlock your account",
            f"Someone asked to unlock the {org} account {user.login}. "
            f"To unlock it, open {link}\n\nIf it was not you, ignore this message.",
        )
    )
    tokens.issue(UNLOCK_TOKEN, user.id, ttl, token)


def _resend_subject(state_token: str) -> str:
    return "transaction:" + state_token


def _recovery_factor_id(tx: Tx, factor_type: str) -> str:
    """The recovery factor of a real transaction, for the type in the path."""
    if factor_type.upper() != tx.recovery_factor_type or tx.recovery_factor_id is None:
        raise ApiError("E0000079")
    return tx.recovery_factor_id


def recovery_verify(ctx: Context, state_token: Any, factor_type: str, body: dict[str, Any]) -> View:
    def precheck(tx: Tx) -> None:
        if factor_type.upper() != tx.recovery_factor_type:
            raise ApiError("E0000079")
        _required(body, "passCode")

    def act(call: Call) -> None:
        tx = call.tx
        factor = _factor_of(call, _recovery_factor_id(tx, factor_type))
        # A wrong code does not count towards lockout here: a decoy cannot count
        # it, and locking (E0000069) would tell who is real. The code itself
        # dies after OTP_MAX_ATTEMPTS tries, and sends are throttled.
        call.counts_failures = False
        _check_factor(ctx, call, factor, _required(body, "passCode"))
        tx.progress.recovery_verified = True
        # The code went to an active phone factor the user had: it proves that
        # factor, as a verify in MFA_CHALLENGE would (docs/security.md).
        if factor in _prior_factors(tx, call.factors):
            _mark_verified(ctx, call, factor)

    return _run(ctx, state_token, Action.RECOVERY_VERIFY, act, precheck)


def recovery_resend(ctx: Context, state_token: Any, factor_type: str) -> View:
    def precheck(tx: Tx) -> None:
        if factor_type.upper() != tx.recovery_factor_type:
            raise ApiError("E0000079")
        channel = RECOVERY_CHANNELS[str(tx.recovery_factor_type)]
        factor_verification.claim_recovery_send(ctx, channel, _resend_subject(str(state_token)))

    def act(call: Call) -> None:
        factor_id = _recovery_factor_id(call.tx, factor_type)
        factor_verification.send_recovery_code(ctx, _factor_of(call, factor_id))

    return _run(ctx, state_token, Action.RECOVERY_RESEND, act, precheck)


def recovery_token(ctx: Context, body: dict[str, Any]) -> View:
    """``/authn/recovery/token``: the token from reset_password or the e-mail link."""
    token = _required(body, "recoveryToken")
    tokens = ctx.stores.one_time_tokens
    recovery_type = RecoveryType.PASSWORD
    user_id = tokens.consume(activation.RECOVERY, token)
    if user_id is None:
        user_id = tokens.consume(UNLOCK_TOKEN, token)
        recovery_type = RecoveryType.UNLOCK
    if user_id is None:
        raise InvalidToken()
    tx = Tx(
        user_id=user_id,
        status=Status.UNAUTHENTICATED,
        progress=Progress(recovery_type=recovery_type, recovery_verified=True),
        expires_at="",
        relay_state=_string(body, "relayState", required=False),
    )
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is None or user.status in CANNOT_SIGN_IN:
            raise InvalidToken()
    return _begin_recovery(ctx, tx)


def _begin_recovery(ctx: Context, tx: Tx) -> View:
    assert tx.user_id is not None
    with ctx.stores.unit_of_work() as uow:
        user, policy, user_factors = _read_user(ctx, uow, tx)
    tx.prior_factor_ids = [f.id for f in user_factors if f.active]
    call = Call(None, tx, user, policy, user_factors)
    facts = _facts(ctx, user, policy, user_factors, tx)
    tx.status = authn.next_status(facts, tx.progress)
    if tx.status is Status.SUCCESS:  # unlock by e-mail link, no question
        view = _success(ctx, call)
        _flush(ctx, call.also)
        return _after_success(ctx, call, view)
    ttl = ctx.settings.state_token_ttl
    tx.expires_at = okta_timestamp(ctx.clock() + timedelta(seconds=ttl))
    token = ctx.stores.transactions.create(tx.to_doc(), ttl)
    return _view(ctx, call, state_token=token)


def recovery_answer(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        answer = _required(body, "answer")
        call.judged = True
        if not credentials.verify_recovery_answer(ctx, call.user, answer):
            locked = _attempt_failed(ctx, call.user.id, call.policy, call.slot)
            if locked and call.loaded is not None:
                _finish_quietly(ctx, call.loaded)
            raise ApiError("E0000087")
        call.tx.progress.recovery_answered = True
        call.also.append(ctx.stores.failed_attempts.staged_clear(call.user.id))

    return _run(ctx, state_token, Action.RECOVERY_ANSWER, act, guess=True)


def reset_password(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        new = _required(body, "newPassword")
        with ctx.stores.unit_of_work() as uow:
            user = uow.users.get(call.user.id)
            if user is None:
                raise InvalidToken()
            _set_password(ctx, uow, user, new)
            if call.tx.progress.activating and user.activated is None:
                user.activated = ctx.clock()
            user.set_status(UserStatus.ACTIVE, ctx.clock())
            uow.users.save(user)
        ctx.stores.failed_attempts.clear(user.id)
        activation.forget_tokens(ctx, user.id)
        sessions.end_all_for_user(ctx, user.id)
        call.user = user
        call.tx.progress.password_reset = True
        call.tx.password_verified_at = okta_timestamp(ctx.clock())

    return _run(ctx, state_token, Action.RESET_PASSWORD, act)


# ---- activation -----------------------------------------------------------------------------


def activate(ctx: Context, body: dict[str, Any]) -> View:
    """``POST /api/v1/authn {"token": activationToken}``: the e-mailed activation
    link. A user without a password chooses one (PASSWORD_RESET), then signs in."""
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise ValidationFailed("authRequest", ["token: The field cannot be left blank"])
    user_id = ctx.stores.one_time_tokens.consume(activation.ACTIVATION, token)
    if user_id is None:
        raise _authentication_failed()
    with ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        if user is None or user.status not in (UserStatus.PROVISIONED, UserStatus.STAGED):
            raise _authentication_failed()
        if user.has_password:  # activated with the password it was created with
            user.activated = ctx.clock()
            user.set_status(UserStatus.ACTIVE, ctx.clock())
            uow.users.save(user)
        elif user.status == UserStatus.STAGED:
            user.set_status(UserStatus.PROVISIONED, ctx.clock())
            uow.users.save(user)
    relay_state = _string(body, "relayState", required=False)
    if user.has_password:
        tx = Tx(user_id, Status.UNAUTHENTICATED, Progress(), "", relay_state=relay_state)
        return _begin(ctx, tx)
    progress = Progress(
        recovery_type=RecoveryType.PASSWORD, recovery_verified=True, activating=True
    )
    tx = Tx(user_id, Status.UNAUTHENTICATED, progress, "", relay_state=relay_state)
    return _begin_recovery(ctx, tx)
