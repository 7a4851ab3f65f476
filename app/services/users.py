"""Users: create, read, list, update, delete (Okta's Users API)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain import filters, ids, lengths
from app.domain.errors import ApiError, NotFound, ValidationFailed
from app.domain.users import (
    REQUIRED_PROFILE_ATTRIBUTES,
    STANDARD_PROFILE_ATTRIBUTES,
    User,
    UserStatus,
)
from app.services import activation, credentials, sessions
from app.services.context import Context
from app.store import UnitOfWork
from app.store.db import DuplicateKey
from app.store.query import UnsupportedFilter

MAX_LIMIT = 200
CURSOR = re.compile(lengths.CURSOR_PATTERN)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_ATTRIBUTES = ("email", "secondEmail")
DUPLICATE = "An object with this field already exists in the current organization"


@dataclass(frozen=True)
class Page:
    """One page of a listing and the cursor for the next, if there is one."""

    items: list[Any]
    next_after: str | None
    limit: int  # the limit applied (a requested one above the maximum is capped)


def find_user(uow: UnitOfWork, id_or_login: str) -> User:
    user = uow.users.find(id_or_login)
    if user is None:
        raise NotFound(id_or_login, "User")
    return user


def validate_profile(uow: UnitOfWork, profile: dict[str, Any], user_id: str | None) -> None:
    """Okta's default schema: required attributes, e-mail formats, unique login."""
    causes: list[str] = [
        f"{name}: Not a valid string"
        for name in STANDARD_PROFILE_ATTRIBUTES
        if profile.get(name) is not None and not isinstance(profile[name], str)
    ]
    for name in REQUIRED_PROFILE_ATTRIBUTES:
        value = profile.get(name)
        if (isinstance(value, str) and not value.strip()) or value is None:
            causes.append(f"{name}: The field cannot be left blank")
    login = profile.get("login")
    if isinstance(login, str) and login.strip():
        if not EMAIL.match(login) or len(login) > lengths.LOGIN:
            causes.append("login: Username must be in the form of an email address")
        elif uow.users.login_taken(login, except_id=user_id):
            causes.append(f"login: {DUPLICATE}")
    for name in EMAIL_ATTRIBUTES:
        value = profile.get(name)
        if isinstance(value, str) and value and not EMAIL.match(value):
            causes.append(f"{name}: Does not match required pattern")
    if causes:
        field = causes[0].split(":", 1)[0]
        raise ValidationFailed(field, causes)


def create_user(
    ctx: Context,
    profile: dict[str, Any],
    creds: dict[str, Any] | None,
    group_ids: list[str],
    *,
    activate: bool,
    next_login: str | None,
) -> tuple[User, str | None]:
    """Create a user as ``POST /api/v1/users`` does.

    Returns the user and, when an activation e-mail is due, the activation
    token (the caller's lifecycle service sends it).
    """
    now = ctx.clock()
    creds = creds or {}
    with ctx.stores.unit_of_work() as uow:
        validate_profile(uow, profile, None)
        user = User(
            id=ids.new_id(ids.USER),
            status=UserStatus.STAGED,
            profile=profile,
            created=now,
            last_updated=now,
        )
        groups = _resolve_groups(uow, group_ids)
        apply_credentials(ctx, uow, user, creds, check_history=False, groups=groups)
        if activate:
            _activate_new(user, next_login, now)
        try:
            uow.users.add(user)
        except DuplicateKey as exc:  # a concurrent request took the login
            raise ValidationFailed("login", [f"login: {DUPLICATE}"]) from exc
        everyone = uow.groups.everyone()
        for group_id in [everyone.id, *groups]:
            uow.groups.add_member(group_id, user.id, now)
    token = None
    if user.status == UserStatus.PROVISIONED:
        try:
            token = activation.issue_activation(ctx, user, send_email=True)
        except activation.EmailNotDelivered:
            # The user exists either way (as in Okta, the e-mail is best effort);
            # lifecycle/reactivate sends a new one. The failure is logged.
            token = None
    return user, token


def _activate_new(user: User, next_login: str | None, now: datetime) -> None:
    if user.has_password:
        expired = next_login == "changePassword"
        user.set_status(UserStatus.PASSWORD_EXPIRED if expired else UserStatus.ACTIVE, now)
        user.activated = now
    else:
        # Without a password the user finishes activation through the e-mailed link.
        user.set_status(UserStatus.PROVISIONED, now)


def _resolve_groups(uow: UnitOfWork, group_ids: list[str]) -> list[str]:
    causes = []
    resolved = []
    for group_id in dict.fromkeys(group_ids):
        group = uow.groups.get(group_id)
        if group is None:
            causes.append(f"groupIds: Group {group_id} does not exist")
        elif not group.built_in:  # everyone is in Everyone already
            resolved.append(group.id)
    if causes:
        raise ValidationFailed("groupIds", causes)
    return resolved


def apply_credentials(
    ctx: Context,
    uow: UnitOfWork,
    user: User,
    creds: dict[str, Any],
    *,
    check_history: bool = True,
    groups: list[str] | None = None,
) -> None:
    """Set the password (value or imported hash) and recovery question given."""
    password = creds.get("password") or {}
    if "value" in password and "hash" in password:
        raise ValidationFailed(
            "password", ["password: Specify either a password value or a hash, not both"]
        )
    if "value" in password:
        credentials.set_password(
            ctx, uow, user, password["value"], check_history=check_history, groups=groups or ()
        )
    elif "hash" in password:
        credentials.set_imported_hash(user, password["hash"])
        user.password_changed = ctx.clock()
    question = creds.get("recovery_question")
    if question:
        credentials.set_recovery_question(
            user, question.get("question", ""), question.get("answer", ""), ctx.hasher
        )


def get_user(ctx: Context, id_or_login: str) -> User:
    with ctx.stores.unit_of_work() as uow:
        return find_user(uow, id_or_login)


def parse_expression(raw: str | None, field: str) -> filters.Expression | None:
    if not raw:
        return None
    try:
        return filters.parse(raw)
    except filters.FilterSyntaxError as exc:
        raise ValidationFailed(field, [f"{field}: {exc}"]) from exc


def parse_cursor(after: str | None) -> int | None:
    """The sequence number an ``after`` cursor stands for; 400 for anything
    this server never issues (``CURSOR``; ``"²".isdigit()`` is true, yet
    ``int`` refuses it)."""
    if after is None or after == "":
        return None
    if not CURSOR.fullmatch(after):
        raise ValidationFailed("after", ["after: Invalid cursor"])
    return int(after)


def list_users(
    ctx: Context,
    *,
    q: str | None,
    filter_: str | None,
    search: str | None,
    after: str | None,
    limit: int,
) -> Page:
    """``GET /api/v1/users``: ordered by creation, ``after`` is an opaque cursor."""
    limit = max(1, min(limit, MAX_LIMIT))
    tree = parse_expression(filter_, "filter")
    search_tree = parse_expression(search, "search")
    with ctx.stores.unit_of_work() as uow:
        try:
            found = uow.users.query(
                q=q,
                tree=tree,
                search=search_tree,
                after_seq=parse_cursor(after),
                limit=limit + 1,
                # Okta: without filter or search, DEPROVISIONED users are left out.
                exclude_status=None if (tree or search_tree) else UserStatus.DEPROVISIONED.value,
            )
        except UnsupportedFilter as exc:
            raise ValidationFailed(exc.field, [f"{exc.field}: {exc}"]) from exc
    more = len(found) > limit
    items = found[:limit]
    return Page(items, str(items[-1].seq) if more and items else None, limit)


def update_user(ctx: Context, id_or_login: str, body: dict[str, Any], *, replace: bool) -> User:
    """``POST`` (partial: given attributes change) or ``PUT`` (profile replaced)."""
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        if "profile" in body:
            profile = body["profile"] if replace else {**user.profile, **body["profile"]}
            profile = {k: v for k, v in profile.items() if v is not None or not replace}
            validate_profile(uow, profile, user.id)
            user.profile = profile
        elif replace:
            raise ValidationFailed("profile", ["profile: The field cannot be left blank"])
        if body.get("credentials"):
            apply_credentials(ctx, uow, user, body["credentials"])
        user.last_updated = ctx.clock()
        try:
            uow.users.save(user)
        except DuplicateKey as exc:
            raise ValidationFailed("login", [f"login: {DUPLICATE}"]) from exc
        if (body.get("credentials") or {}).get("password"):  # a new password ends every session
            sessions.end_all_before_commit(ctx, uow, user.id)
    return user


def require_status(user: User, allowed: frozenset[UserStatus], code: str) -> None:
    if user.status not in allowed:
        raise ApiError(code)
