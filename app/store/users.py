"""The user repository: domain User objects in, domain User objects out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.domain.filters import Expression
from app.domain.users import RecoveryQuestion, User, UserStatus
from app.store.db import flush_unique
from app.store.models import GroupMemberRow, UserRow
from app.store.query import UnsupportedFilter, compile_filter

#: Attributes a user listing may filter on, besides ``profile.*``.
FILTER_COLUMNS = {
    "id": UserRow.id,
    "status": UserRow.status,
    "created": UserRow.created,
    "lastUpdated": UserRow.last_updated,
    "statusChanged": UserRow.status_changed,
    "activated": UserRow.activated,
    "lastLogin": UserRow.last_login,
    "passwordChanged": UserRow.password_changed,
    "profile.login": UserRow.login_lower,
}


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _to_domain(row: UserRow) -> User:
    question = None
    if row.recovery_question is not None and row.recovery_answer_hash is not None:
        question = RecoveryQuestion(row.recovery_question, row.recovery_answer_hash)
    return User(
        id=row.id,
        status=UserStatus(row.status),
        profile=dict(row.profile),
        created=_aware(row.created),  # type: ignore[arg-type]
        last_updated=_aware(row.last_updated),  # type: ignore[arg-type]
        status_changed=_aware(row.status_changed),
        activated=_aware(row.activated),
        last_login=_aware(row.last_login),
        password_changed=_aware(row.password_changed),
        password_hash=row.password_hash,
        password_history=list(row.password_history or []),
        recovery_question=question,
        transitioning_to_status=row.transitioning_to_status,
        seq=row.seq,
    )


def _copy_into(row: UserRow, user: User) -> None:
    row.id = user.id
    row.status = user.status.value
    row.login = user.login
    row.login_lower = user.login.lower()
    row.profile = dict(user.profile)
    row.created = user.created
    row.last_updated = user.last_updated
    row.status_changed = user.status_changed
    row.activated = user.activated
    row.last_login = user.last_login
    row.password_changed = user.password_changed
    row.password_hash = user.password_hash
    row.password_history = list(user.password_history)
    row.recovery_question = user.recovery_question.question if user.recovery_question else None
    row.recovery_answer_hash = (
        user.recovery_question.answer_hash if user.recovery_question else None
    )
    row.transitioning_to_status = user.transitioning_to_status


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        row = UserRow()
        _copy_into(row, user)
        self.session.add(row)
        flush_unique(self.session)
        user.seq = row.seq
        return user

    def save(self, user: User) -> None:
        row = self._row(user.id)
        if row is None:
            raise LookupError(user.id)
        _copy_into(row, user)
        flush_unique(self.session)

    def touch_last_login(self, user_id: str, when: datetime) -> None:
        """Set ``lastLogin`` alone (one UPDATE; a sign-in changes nothing else)."""
        self.session.execute(update(UserRow).where(UserRow.id == user_id).values(last_login=when))

    def delete(self, user_id: str) -> None:
        """Delete the row; memberships go with it (call the group repository's
        ``remove_user_everywhere`` first to stamp the groups)."""
        self.session.execute(delete(GroupMemberRow).where(GroupMemberRow.user_id == user_id))
        self.session.execute(delete(UserRow).where(UserRow.id == user_id))

    def get(self, user_id: str) -> User | None:
        row = self._row(user_id)
        return _to_domain(row) if row else None

    def status_of(self, user_id: str) -> UserStatus | None:
        """The user's status alone (None: no such user)."""
        status = self.session.scalar(select(UserRow.status).where(UserRow.id == user_id))
        return UserStatus(status) if status is not None else None

    def by_login(self, login: str) -> User | None:
        row = self.session.scalar(select(UserRow).where(UserRow.login_lower == login.lower()))
        return _to_domain(row) if row else None

    def by_shortname(self, shortname: str) -> User | None:
        """The one user whose login is ``shortname@…``; None if none or ambiguous."""
        prefix = shortname.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.session.scalars(
            select(UserRow).where(UserRow.login_lower.like(prefix + "@%", escape="\\")).limit(2)
        ).all()
        return _to_domain(rows[0]) if len(rows) == 1 else None

    def find(self, id_or_login: str) -> User | None:
        """By id, login, or unambiguous login short name, as Okta resolves ``{id}``."""
        return (
            self.get(id_or_login)
            or self.by_login(id_or_login)
            or (self.by_shortname(id_or_login) if "@" not in id_or_login else None)
        )

    def login_taken(self, login: str, except_id: str | None = None) -> bool:
        query = select(func.count()).where(UserRow.login_lower == login.lower())
        if except_id:
            query = query.where(UserRow.id != except_id)
        return bool(self.session.scalar(query))

    def query(
        self,
        *,
        q: str | None = None,
        tree: Expression | None = None,
        search: Expression | None = None,
        after_seq: int | None = None,
        limit: int = 200,
        ids: list[str] | None = None,
        exclude_status: str | None = None,
    ) -> list[User]:
        query = select(UserRow).order_by(UserRow.seq).limit(limit)
        conditions: list[ColumnElement[bool]] = []
        if q:
            conditions.append(_q_condition(q))
        dialect = self.session.get_bind().dialect.name
        for field, expression in (("filter", tree), ("search", search)):
            if expression is None:
                continue
            try:
                conditions.append(
                    compile_filter(expression, FILTER_COLUMNS, UserRow.profile, dialect=dialect)
                )
            except UnsupportedFilter as exc:
                raise UnsupportedFilter(str(exc), field) from exc
        if after_seq is not None:
            conditions.append(UserRow.seq > after_seq)
        if ids is not None:
            conditions.append(UserRow.id.in_(ids))
        if exclude_status is not None:
            conditions.append(UserRow.status != exclude_status)
        if conditions:
            query = query.where(*conditions)
        return [_to_domain(row) for row in self.session.scalars(query)]

    def _row(self, user_id: str) -> UserRow | None:
        return self.session.scalar(select(UserRow).where(UserRow.id == user_id))


def _q_condition(q: str) -> ColumnElement[bool]:
    # Okta: q matches the start of firstName, lastName or email (and login).
    prefix = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    fields: list[Any] = [
        func.lower(UserRow.profile[name].as_string()) for name in ("firstName", "lastName", "email")
    ]
    fields.append(UserRow.login_lower)
    return or_(*(field.like(prefix, escape="\\") for field in fields))
