"""The group repository, including membership."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.filters import Expression
from app.domain.groups import EVERYONE, Group
from app.store.db import flush_unique
from app.store.models import GroupMemberRow, GroupRow, UserRow
from app.store.query import compile_filter
from app.store.users import _aware

FILTER_COLUMNS = {
    "id": GroupRow.id,
    "type": GroupRow.type,
    "created": GroupRow.created,
    "lastUpdated": GroupRow.last_updated,
    "lastMembershipUpdated": GroupRow.last_membership_updated,
    "profile.name": GroupRow.name_lower,
}


def _to_domain(row: GroupRow) -> Group:
    return Group(
        id=row.id,
        type=row.type,
        profile=dict(row.profile),
        created=_aware(row.created),  # type: ignore[arg-type]
        last_updated=_aware(row.last_updated),  # type: ignore[arg-type]
        last_membership_updated=_aware(row.last_membership_updated),  # type: ignore[arg-type]
        seq=row.seq,
    )


class GroupRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, group: Group) -> Group:
        row = GroupRow(
            id=group.id,
            type=group.type,
            name=group.name,
            name_lower=group.name.lower(),
            profile=dict(group.profile),
            created=group.created,
            last_updated=group.last_updated,
            last_membership_updated=group.last_membership_updated,
        )
        self.session.add(row)
        flush_unique(self.session)
        group.seq = row.seq
        return group

    def save(self, group: Group) -> None:
        row = self._row(group.id)
        if row is None:
            raise LookupError(group.id)
        row.name = group.name
        row.name_lower = group.name.lower()
        row.profile = dict(group.profile)
        row.last_updated = group.last_updated
        row.last_membership_updated = group.last_membership_updated
        flush_unique(self.session)

    def delete(self, group_id: str) -> None:
        self.session.execute(delete(GroupMemberRow).where(GroupMemberRow.group_id == group_id))
        self.session.execute(delete(GroupRow).where(GroupRow.id == group_id))

    def get(self, group_id: str) -> Group | None:
        row = self._row(group_id)
        return _to_domain(row) if row else None

    def everyone(self) -> Group:
        row = self.session.scalar(select(GroupRow).where(GroupRow.name_lower == EVERYONE.lower()))
        if row is None:
            raise LookupError("the Everyone group is missing: run the migrations")
        return _to_domain(row)

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        query = select(func.count()).where(GroupRow.name_lower == name.lower())
        if except_id:
            query = query.where(GroupRow.id != except_id)
        return bool(self.session.scalar(query))

    def query(
        self,
        *,
        q: str | None = None,
        tree: Expression | None = None,
        after_seq: int | None = None,
        limit: int = 200,
        member: str | None = None,
    ) -> list[Group]:
        query = select(GroupRow).order_by(GroupRow.seq).limit(limit)
        conditions: list[ColumnElement[bool]] = []
        if q:
            escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(GroupRow.name_lower.like(escaped + "%", escape="\\"))
        if tree is not None:
            dialect = self.session.get_bind().dialect.name
            conditions.append(
                compile_filter(tree, FILTER_COLUMNS, GroupRow.profile, dialect=dialect)
            )
        if after_seq is not None:
            conditions.append(GroupRow.seq > after_seq)
        if member is not None:
            query = query.join(GroupMemberRow, GroupMemberRow.group_id == GroupRow.id)
            conditions.append(GroupMemberRow.user_id == member)
        return [_to_domain(r) for r in self.session.scalars(query.where(*conditions))]

    def _membership_changed(self, group_ids: list[str], now: datetime) -> None:
        if group_ids:
            self.session.execute(
                update(GroupRow)
                .where(GroupRow.id.in_(group_ids))
                .values(last_membership_updated=now)
            )

    def add_member(self, group_id: str, user_id: str, now: datetime) -> bool:
        """Add a member (stamping ``lastMembershipUpdated``); False if already one."""
        exists = self.session.get(GroupMemberRow, (group_id, user_id))
        if exists is not None:
            return False
        try:
            # A savepoint, so a concurrent add of the same member is a no-op, not an error.
            with self.session.begin_nested():
                self.session.add(GroupMemberRow(group_id=group_id, user_id=user_id, added=now))
        except IntegrityError:
            return False
        self._membership_changed([group_id], now)
        return True

    def remove_member(self, group_id: str, user_id: str, now: datetime) -> bool:
        result = self.session.execute(
            delete(GroupMemberRow).where(
                GroupMemberRow.group_id == group_id, GroupMemberRow.user_id == user_id
            )
        )
        removed = bool(getattr(result, "rowcount", 0))
        if removed:
            self._membership_changed([group_id], now)
        return removed

    def remove_user_everywhere(self, user_id: str, now: datetime) -> None:
        """Before a user is deleted: leave every group, stamping each."""
        group_ids = list(
            self.session.scalars(
                select(GroupMemberRow.group_id).where(GroupMemberRow.user_id == user_id)
            )
        )
        self.session.execute(delete(GroupMemberRow).where(GroupMemberRow.user_id == user_id))
        self._membership_changed(group_ids, now)

    def ids_of_user(self, user_id: str) -> set[str]:
        """The ids of the user's groups, Everyone always among them (one query)."""
        query = union(
            select(GroupMemberRow.group_id).where(GroupMemberRow.user_id == user_id),
            select(GroupRow.id).where(GroupRow.name_lower == EVERYONE.lower()),
        )
        return {str(group_id) for (group_id,) in self.session.execute(query)}

    def member_ids(self, group_id: str, after_seq: int | None, limit: int) -> list[tuple[str, int]]:
        """Member user ids with their user seq (the cursor), in user order."""
        query = (
            select(UserRow.id, UserRow.seq)
            .join(GroupMemberRow, GroupMemberRow.user_id == UserRow.id)
            .where(GroupMemberRow.group_id == group_id)
            .order_by(UserRow.seq)
            .limit(limit)
        )
        if after_seq is not None:
            query = query.where(UserRow.seq > after_seq)
        return [(uid, seq) for uid, seq in self.session.execute(query)]

    def _row(self, group_id: str) -> GroupRow | None:
        return self.session.scalar(select(GroupRow).where(GroupRow.id == group_id))
