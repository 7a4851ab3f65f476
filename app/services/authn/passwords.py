"""PASSWORD_WARN / PASSWORD_EXPIRED (change_password) and PASSWORD_RESET
(reset_password, at the end of a recovery or an activation)."""

from __future__ import annotations

from typing import Any

from app.domain.authn import Action, Status
from app.domain.errors import ApiError, InvalidToken, ValidationFailed
from app.domain.users import User, UserStatus
from app.services import activation, credentials, sessions
from app.services.authn import transaction
from app.services.authn.call import Call, okta_timestamp
from app.services.authn.inputs import required
from app.services.authn.view import View
from app.services.context import Context
from app.store import UnitOfWork


def _set_password(
    ctx: Context, uow: UnitOfWork, user: User, new_password: str, *, voluntary: bool = False
) -> None:
    """The policy's complexity and history (and, for a change the user chose to
    make, its minimum age); failures as 403 E0000080, as /authn answers."""
    try:
        credentials.set_password(ctx, uow, user, new_password, min_age=voluntary)
    except credentials.PolicyUnmet as exc:
        # Okta states every requirement of the policy in one cause (the
        # Sign-In Widget shows only the first), with no field name.
        raise ApiError("E0000080", causes=[exc.sentence]) from exc
    except ValidationFailed as exc:  # history, minimum age
        causes = [cause.partition(": ")[2] or cause for cause in exc.causes]
        raise ApiError("E0000080", causes=causes) from exc


def change_password(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        old, new = required(body, "oldPassword"), required(body, "newPassword")
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
            sessions.end_all_before_commit(ctx, uow, user.id)
        call.user = user
        call.tx.password_verified_at = okta_timestamp(ctx.clock())

    return transaction.run(ctx, state_token, Action.CHANGE_PASSWORD, act)


def reset_password(ctx: Context, state_token: Any, body: dict[str, Any]) -> View:
    def act(call: Call) -> None:
        new = required(body, "newPassword")
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
            sessions.end_all_before_commit(ctx, uow, user.id)
        call.user = user
        call.tx.progress.password_reset = True
        call.tx.password_verified_at = okta_timestamp(ctx.clock())

    return transaction.run(ctx, state_token, Action.RESET_PASSWORD, act)
