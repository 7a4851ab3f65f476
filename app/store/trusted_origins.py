"""The trusted-origin repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.origins import OriginStatus, Scope, TrustedOrigin
from app.store.db import flush_unique
from app.store.models import TrustedOriginRow
from app.store.users import _aware


def _to_domain(row: TrustedOriginRow) -> TrustedOrigin:
    return TrustedOrigin(
        id=row.id,
        name=row.name,
        origin=row.origin,
        scopes=[Scope(s) for s in row.scopes],
        status=OriginStatus(row.status),
        created=_aware(row.created),  # type: ignore[arg-type]
        created_by=row.created_by,
        last_updated=_aware(row.last_updated),  # type: ignore[arg-type]
        last_updated_by=row.last_updated_by,
        seq=row.seq,
    )


def _copy_into(row: TrustedOriginRow, origin: TrustedOrigin) -> None:
    row.name = origin.name
    row.origin = origin.origin
    row.scopes = [s.value for s in origin.scopes]
    row.status = origin.status.value
    row.last_updated = origin.last_updated
    row.last_updated_by = origin.last_updated_by


class TrustedOriginRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, origin: TrustedOrigin) -> TrustedOrigin:
        row = TrustedOriginRow(id=origin.id, created=origin.created, created_by=origin.created_by)
        _copy_into(row, origin)
        self.session.add(row)
        flush_unique(self.session)
        origin.seq = row.seq
        return origin

    def _row(self, origin_id: str) -> TrustedOriginRow | None:
        return self.session.scalars(
            select(TrustedOriginRow).where(TrustedOriginRow.id == origin_id)
        ).one_or_none()

    def get(self, origin_id: str) -> TrustedOrigin | None:
        row = self._row(origin_id)
        return _to_domain(row) if row else None

    def save(self, origin: TrustedOrigin) -> None:
        row = self._row(origin.id)
        if row is not None:
            _copy_into(row, origin)
            flush_unique(self.session)

    def delete(self, origin_id: str) -> None:
        row = self._row(origin_id)
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    def by_origin(self, origin: str) -> TrustedOrigin | None:
        row = self.session.scalars(
            select(TrustedOriginRow).where(TrustedOriginRow.origin == origin)
        ).one_or_none()
        return _to_domain(row) if row else None

    def list(self, after: int | None, limit: int) -> list[TrustedOrigin]:
        query = select(TrustedOriginRow).order_by(TrustedOriginRow.seq).limit(limit)
        if after is not None:
            query = query.where(TrustedOriginRow.seq > after)
        return [_to_domain(r) for r in self.session.scalars(query)]
