"""Moves that every status knows or that step back: read, cancel, skip, previous."""

from __future__ import annotations

from typing import Any

from app.domain import authn
from app.domain.authn import Action, Progress, Status
from app.domain.errors import ApiError
from app.domain.factors import FactorStatus
from app.services import factors
from app.services.authn import transaction
from app.services.authn.call import Call, find
from app.services.authn.view import Answered, View, build_view
from app.services.context import Context


def read(ctx: Context, state_token: Any) -> View:
    """``POST /api/v1/authn {"stateToken"}``: the transaction as it stands."""
    try:
        call = transaction.open_call(ctx, state_token, Action.READ)
    except Answered as answered:
        return answered.view
    return build_view(ctx, call, state_token=str(state_token))


def cancel(ctx: Context, state_token: Any) -> View:
    def act(call: Call) -> View:
        assert call.loaded is not None
        transaction.finish(ctx, call.loaded)
        _discard_enrollments(ctx, call.user.id, call.tx.progress)
        return View(Status.UNAUTHENTICATED, relay_state=call.tx.relay_state)

    return transaction.run(ctx, state_token, Action.CANCEL, act)


def _discard_enrollments(ctx: Context, user_id: str, progress: Progress) -> None:
    """A cancelled transaction takes its enrolments with it (they were never active)."""
    held = [*progress.enrolled_factor_ids, progress.enrolling_factor_id]
    with ctx.stores.unit_of_work() as uow:
        for factor_id in filter(None, held):
            factor = uow.factors.get(user_id, factor_id)
            if factor is not None and factor.status is FactorStatus.PENDING_ACTIVATION:
                uow.factors.delete(factor.id)


def skip(ctx: Context, state_token: Any) -> View:
    def act(call: Call) -> None:
        progress = call.tx.progress
        if call.tx.status is Status.PASSWORD_WARN:
            progress.warn_skipped = True
            return
        if not authn.may_skip_enrollment(call.facts(ctx.clock()), progress):
            raise ApiError("E0000079")
        progress.enroll_skipped = True

    return transaction.run(ctx, state_token, Action.SKIP, act)


def previous(ctx: Context, state_token: Any) -> View:
    def act(call: Call) -> None:
        progress = call.tx.progress
        if call.tx.status is Status.MFA_ENROLL_ACTIVATE:
            pending = find(call.factors, progress.enrolling_factor_id)
            if pending is not None and not pending.active:
                factors.delete(ctx, call.user.id, pending.id)
                call.factors.remove(pending)
            progress.enrolling_factor_id = None
        else:
            progress.challenged_factor_id = None
        progress.webauthn_challenge = None

    return transaction.run(ctx, state_token, Action.PREVIOUS, act)
