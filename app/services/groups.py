"""Groups and membership (Okta's Groups API)."""

from __future__ import annotations

from typing import Any

from app.domain import ids, lengths
from app.domain.errors import ApiError, NotFound, ValidationFailed
from app.domain.groups import OKTA_GROUP, Group
from app.domain.users import User
from app.services.context import Context
from app.services.users import Page, find_user, parse_cursor, parse_expression
from app.store import UnitOfWork
from app.store.db import DuplicateKey
from app.store.query import UnsupportedFilter

MAX_GROUPS = 10000
MAX_MEMBERS = 1000


def _find(uow: UnitOfWork, group_id: str) -> Group:
    group = uow.groups.get(group_id)
    if group is None:
        raise NotFound(group_id, "UserGroup")
    return group


def _validate_profile(uow: UnitOfWork, profile: dict[str, Any], group_id: str | None) -> None:
    name = profile.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("name", ["name: The field cannot be left blank"])
    # The lower-case key (unique, for lookups) is stored too, and can be the
    # longer of the two: "İ" lower-cases to two characters.
    if len(name.lower()) > lengths.GROUP_NAME:
        raise ValidationFailed(
            "name",
            [f"name: The field cannot exceed {lengths.GROUP_NAME} characters in lower case."],
        )
    if uow.groups.name_taken(name, except_id=group_id):
        raise _duplicate_name()


def _duplicate_name() -> ValidationFailed:
    return ValidationFailed(
        "name", ["name: An object with this field already exists in the current organization"]
    )


def _not_built_in(group: Group) -> None:
    if group.built_in:
        raise ApiError("E0000006")


def create_group(ctx: Context, profile: dict[str, Any]) -> Group:
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        _validate_profile(uow, profile, None)
        group = Group(
            id=ids.new_id(ids.GROUP),
            type=OKTA_GROUP,
            profile=profile,
            created=now,
            last_updated=now,
            last_membership_updated=now,
        )
        try:
            return uow.groups.add(group)
        except DuplicateKey as exc:
            raise _duplicate_name() from exc


def get_group(ctx: Context, group_id: str) -> Group:
    with ctx.stores.unit_of_work() as uow:
        return _find(uow, group_id)


def list_groups(
    ctx: Context, *, q: str | None, filter_: str | None, after: str | None, limit: int
) -> Page:
    limit = max(1, min(limit, MAX_GROUPS))
    tree = parse_expression(filter_, "filter")
    with ctx.stores.unit_of_work() as uow:
        try:
            found = uow.groups.query(q=q, tree=tree, after_seq=parse_cursor(after), limit=limit + 1)
        except UnsupportedFilter as exc:
            raise ValidationFailed("filter", [f"filter: {exc}"]) from exc
    items = found[:limit]
    return Page(items, str(items[-1].seq) if len(found) > limit and items else None, limit)


def update_group(ctx: Context, group_id: str, profile: dict[str, Any]) -> Group:
    """``PUT``: the profile is replaced."""
    with ctx.stores.unit_of_work() as uow:
        group = _find(uow, group_id)
        _not_built_in(group)
        _validate_profile(uow, profile, group.id)
        group.profile = profile
        group.last_updated = ctx.clock()
        try:
            uow.groups.save(group)
        except DuplicateKey as exc:
            raise _duplicate_name() from exc
        return group


def delete_group(ctx: Context, group_id: str) -> None:
    with ctx.stores.unit_of_work() as uow:
        group = _find(uow, group_id)
        _not_built_in(group)
        uow.groups.delete(group.id)


def add_member(ctx: Context, group_id: str, user_id: str) -> None:
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        group = _find(uow, group_id)
        _not_built_in(group)
        user = find_user(uow, user_id)
        uow.groups.add_member(group.id, user.id, now)


def remove_member(ctx: Context, group_id: str, user_id: str) -> None:
    now = ctx.clock()
    with ctx.stores.unit_of_work() as uow:
        group = _find(uow, group_id)
        _not_built_in(group)
        user = find_user(uow, user_id)
        uow.groups.remove_member(group.id, user.id, now)


def list_members(ctx: Context, group_id: str, *, after: str | None, limit: int) -> Page:
    limit = max(1, min(limit, MAX_MEMBERS))
    with ctx.stores.unit_of_work() as uow:
        group = _find(uow, group_id)
        pairs = uow.groups.member_ids(group.id, parse_cursor(after), limit + 1)
        page = pairs[:limit]
        users: list[User] = uow.users.query(ids=[uid for uid, _ in page], limit=limit)
    more = len(pairs) > limit
    return Page(users, str(page[-1][1]) if more and page else None, limit)


def groups_of_user(ctx: Context, id_or_login: str) -> list[Group]:
    with ctx.stores.unit_of_work() as uow:
        user = find_user(uow, id_or_login)
        return uow.groups.query(member=user.id, limit=MAX_GROUPS)
