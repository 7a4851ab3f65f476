"""The runner of the /api/v1/authn transaction engine.

Every call is: load the transaction (taking its lease) → check the action
against ``ALLOWED`` → act → ask ``next_status`` → save with compare-and-set
(or, on SUCCESS, end the transaction and mint a one-time ``sessionToken``).
Flows (the sibling modules) only act; they do not decide statuses:
``app.domain.authn.next_status`` does, here, from the facts read fresh on
every call (the user may have been locked or had a factor reset meanwhile)
and the progress kept in the transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from app.domain import authn
from app.domain.authn import CANNOT_SIGN_IN, Action, Status
from app.domain.clock import parse_timestamp
from app.domain.errors import ApiError, InvalidToken
from app.domain.factors import Factor
from app.domain.policy import EffectivePolicy
from app.domain.users import User, UserStatus
from app.services import factor_verification
from app.services.authn.call import Call, Tx, in_flow, okta_timestamp
from app.services.authn.lockout import admit, factor_failed, give_back, locked_out
from app.services.authn.success import record_success, success, undo_success
from app.services.authn.view import Answered, View, build_view, recovery_type
from app.services.context import Context
from app.store import UnitOfWork
from app.store.atomic import Write
from app.store.transactions import Busy, Conflict, Loaded, Refused


def effective_for(ctx: Context, uow: UnitOfWork, user: User) -> EffectivePolicy:
    """The policies that apply to ``user`` (app.services.policies evaluates them).

    Every flow reaches it as ``transaction.effective_for``, so that one
    module attribute is the seam tests and scripts replace."""
    from app.services.policies import effective_for as evaluate

    policy: EffectivePolicy = evaluate(ctx, uow, user)
    return policy


# ---- loading -----------------------------------------------------------------------------


def _expired(ctx: Context, tx: Tx) -> bool:
    return parse_timestamp(tx.expires_at) <= ctx.clock()


def _read_user(
    ctx: Context, uow: UnitOfWork, tx: Tx, *, policy: EffectivePolicy | None = None
) -> tuple[User, EffectivePolicy, list[Factor]]:
    """The transaction's user as stored now, the policy (``policy`` if the
    caller just evaluated it) and the user's factors as the flow sees them."""
    assert tx.user_id is not None
    found = uow.factors.user_with_factors(tx.user_id)
    if found is None:
        raise InvalidToken()
    user, user_factors = found
    activating = tx.progress.activating and user.status == UserStatus.PROVISIONED
    if user.status in CANNOT_SIGN_IN and not activating:
        raise InvalidToken()
    policy = policy or effective_for(ctx, uow, user)
    return user, policy, in_flow(tx, user_factors)


def open_call(
    ctx: Context,
    state_token: str | None,
    action: Action,
    precheck: Callable[[Tx], None] | None = None,
    guess: bool = False,
) -> Call:
    """Load (and lease) the transaction and read its user fresh. A ``guess``
    (a code or answer to judge) counts its attempt with the lease, before the
    user is read: see :func:`lockout.admit`. ``precheck``: refusals that a
    decoy must give exactly as a real transaction does."""
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
        with ctx.stores.reading() as uow:
            user, policy, user_factors = _read_user(ctx, uow, tx)
    except BaseException:
        if action is not Action.READ:
            store.release(loaded)
        give_back(ctx, loaded.doc.get("user_id"), loaded.slot)
        raise
    call = Call(loaded if action is not Action.READ else None, tx, user, policy, user_factors)
    call.slot = loaded.slot
    return admit(ctx, call, state_token, action)


def _decoy(ctx: Context, loaded: Loaded, tx: Tx, action: Action) -> Call:
    """A recovery begun for an unknown or ineligible user behaves like a real one
    (it can be read, resent and cancelled) except that no code ever matches."""
    store = ctx.stores.transactions
    if action is Action.CANCEL:
        finish(ctx, loaded)
        raise Answered(View(Status.UNAUTHENTICATED, relay_state=tx.relay_state))
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
    raise Answered(
        View(
            tx.status,
            state_token=loaded.token,
            expires_at=parse_timestamp(tx.expires_at),
            relay_state=tx.relay_state,
            recovery_type=recovery_type(tx),
            recovery_factor_type=tx.recovery_factor_type,
        )
    )


def run(
    ctx: Context,
    state_token: Any,
    action: Action,
    act: Callable[[Call], View | None],
    precheck: Callable[[Tx], None] | None = None,
    *,
    guess: bool = False,
) -> View:
    """Open the transaction, apply ``act(call)``, settle and save it.
    ``guess``: the call carries a code or answer, so it counts as an attempt."""
    assert action is not Action.READ, "a read never advances a transaction"
    try:
        call = open_call(ctx, state_token, action, precheck, guess)
    except Answered as answered:
        return answered.view
    try:
        view = act(call)
        # None: settle; else the action answered itself (cancel).
        return settle(ctx, call) if view is None else view
    except BaseException:
        if call.loaded is not None:  # a no-op once the save dropped the lease
            ctx.stores.transactions.release(call.loaded)
        raise
    finally:
        if not call.judged:  # a send, a bad request: no attempt was made
            give_back(ctx, call.user.id, call.slot)


def settle(ctx: Context, call: Call) -> View:
    """Decide the next status (the one place a status is decided), then end
    the transaction at SUCCESS or store it, with the call's staged writes.

    ``call.loaded`` is the leased transaction of a running call; None for a
    transaction that begins now (:func:`begin`), which is created here, in
    the same round trip as its writes, or never stored at all (SUCCESS at
    once, or a user locked out meanwhile)."""
    tx = call.tx
    tx.status = authn.next_status(call.facts(ctx.clock()), tx.progress)
    store = ctx.stores.transactions
    if tx.status is Status.SUCCESS:
        return _won(ctx, call, success(ctx, call))
    if call.loaded is None and tx.status is Status.LOCKED_OUT:  # nothing to continue
        store.flush(call.also)
        return locked_out(call.policy)
    ttl = ctx.settings.state_token_ttl
    tx.expires_at = okta_timestamp(ctx.clock() + timedelta(seconds=ttl))
    if call.loaded is None:
        token = store.create(tx.to_doc(), ttl, call.also)
    else:
        _commit(ctx, call, finish=False)
        token = call.loaded.token
    return build_view(ctx, call, state_token=token)


def _won(ctx: Context, call: Call, view: View) -> View:
    """End the transaction at SUCCESS in both stores, or in neither.

    The database's changes (``lastLogin``, the factors enrolled in the flow)
    are written and their rows locked first, then the transaction is finished
    in Redis with its sessionToken and factor check, then the database
    commits. A refused check or a lost lease rolls the database back; a
    database that dies before its commit has the Redis half voided, and the
    client, answered 503, never held the sessionToken."""
    store = ctx.stores.transactions
    won = False
    try:
        with ctx.stores.unit_of_work() as uow:
            record_success(ctx, call, uow)
            uow.session.flush()  # written and locked: only the commit is left
            if call.loaded is None:
                store.flush(call.also)
            else:
                _commit(ctx, call, finish=True)
            won = True
    except BaseException:
        if won:
            # Best effort: if Redis went too, the token dies with its TTL,
            # never having reached the client.
            with contextlib.suppress(Exception):
                undo_success(ctx, call, view)
        raise
    return view


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
                factor_failed(ctx, call, call.pending.error)
            raise call.pending.error from None
        finally:
            store.release(call.loaded)


def finish(ctx: Context, loaded: Loaded, also: list[Write] | None = None) -> None:
    try:
        ctx.stores.transactions.finish(loaded, also or ())
    except Conflict as exc:
        raise InvalidToken() from exc


# ---- new transactions ---------------------------------------------------------------------


def begin(
    ctx: Context, tx: Tx, also: list[Write] | None = None, policy: EffectivePolicy | None = None
) -> View:
    """Settle a new transaction (sign-in, activation, a recovery link) in its
    first status: one round trip to Redis, with the ``also`` writes. The user
    is read again (a password check took a while); ``policy``, evaluated just
    before, is not."""
    assert tx.user_id is not None
    with ctx.stores.reading() as uow:
        user, policy, user_factors = _read_user(ctx, uow, tx, policy=policy)
    return settle(ctx, Call(None, tx, user, policy, user_factors, also=list(also or ())))
