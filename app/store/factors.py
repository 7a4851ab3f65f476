"""The factor repository. Secrets are sealed on the way in and opened on the
way out, so no row ever holds a usable secret and no service sees a ciphertext."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.domain.factors import Factor, FactorStatus
from app.domain.factors.webauthn import Credential, b64url, from_b64url
from app.domain.secret_box import SecretBox, SecretBoxError
from app.domain.users import User
from app.store.db import flush_unique
from app.store.models import FactorRow, UserRow, WebauthnCredentialRow
from app.store.users import _aware
from app.store.users import _to_domain as users_to_domain

log = logging.getLogger("portcullis.store")


class FactorRepository:
    def __init__(self, session: Session, box: SecretBox) -> None:
        self.session = session
        self.box = box

    def _to_domain(self, row: FactorRow) -> Factor:
        secret = None
        if row.secret_sealed is not None:
            try:
                secret = self.box.open(row.secret_sealed, row.id.encode()).decode()
            except SecretBoxError:
                # Its key is no longer configured: the factor can be listed and
                # deleted, but never verified (a wrong key must not crash listings).
                log.error("factor %s: secret cannot be opened with ENCRYPTION_KEY", row.id)
        return Factor(
            id=row.id,
            user_id=row.user_id,
            factor_type=row.factor_type,
            provider=row.provider,
            status=FactorStatus(row.status),
            profile=dict(row.profile),
            created=_aware(row.created),  # type: ignore[arg-type]
            last_updated=_aware(row.last_updated),  # type: ignore[arg-type]
            secret=secret,
        )

    def _seal(self, factor: Factor) -> str | None:
        if factor.secret is None:
            return None
        return self.box.seal(factor.secret.encode(), factor.id.encode())

    def add(self, factor: Factor) -> Factor:
        self.session.add(
            FactorRow(
                id=factor.id,
                user_id=factor.user_id,
                factor_type=factor.factor_type,
                provider=factor.provider,
                status=factor.status.value,
                profile=dict(factor.profile),
                secret_sealed=self._seal(factor),
                created=factor.created,
                last_updated=factor.last_updated,
            )
        )
        flush_unique(self.session)
        return factor

    def save(self, factor: Factor) -> None:
        row = self.session.get(FactorRow, factor.id)
        if row is None:
            raise LookupError(factor.id)
        row.status = factor.status.value
        row.profile = dict(factor.profile)
        row.secret_sealed = self._seal(factor)
        row.last_updated = factor.last_updated
        flush_unique(self.session)

    def get(self, user_id: str, factor_id: str) -> Factor | None:
        """The factor only if it belongs to ``user_id``: another user's is "not found"."""
        row = self.session.get(FactorRow, factor_id)
        if row is None or row.user_id != user_id:
            return None
        return self._to_domain(row)

    def with_owner(self, user_key: str, factor_id: str) -> tuple[User, Factor] | None:
        """The factor and its user, in one query, when ``user_key`` is the
        user's id or login; None otherwise (no such factor of that user, or a
        short name: the caller resolves those the long way)."""
        found = self.session.execute(
            select(UserRow, FactorRow)
            .join(FactorRow, FactorRow.user_id == UserRow.id)
            .where(
                FactorRow.id == factor_id,
                or_(UserRow.id == user_key, UserRow.login_lower == user_key.lower()),
            )
        ).first()
        if found is None:
            return None
        user_row, factor_row = found
        return users_to_domain(user_row), self._to_domain(factor_row)

    def user_with_factors(self, user_id: str) -> tuple[User, list[Factor]] | None:
        """The user and all its factors (by enrolment), in one query."""
        rows = self.session.execute(
            select(UserRow, FactorRow)
            .outerjoin(FactorRow, FactorRow.user_id == UserRow.id)
            .where(UserRow.id == user_id)
            .order_by(FactorRow.created)
        ).all()
        if not rows:
            return None
        return users_to_domain(rows[0][0]), [self._to_domain(f) for _, f in rows if f is not None]

    def for_user(self, user_id: str) -> list[Factor]:
        rows = self.session.scalars(
            select(FactorRow).where(FactorRow.user_id == user_id).order_by(FactorRow.created)
        )
        return [self._to_domain(r) for r in rows]

    def delete(self, factor_id: str) -> None:
        self.session.execute(delete(FactorRow).where(FactorRow.id == factor_id))
        self.session.flush()

    def delete_for_user(self, user_id: str) -> int:
        result = self.session.execute(delete(FactorRow).where(FactorRow.user_id == user_id))
        return int(getattr(result, "rowcount", 0) or 0)

    def raw_secret(self, factor_id: str) -> str | None:
        """The sealed value as stored (for tests and key rotation)."""
        row = self.session.get(FactorRow, factor_id)
        return row.secret_sealed if row else None

    # ---- WebAuthn credentials ---------------------------------------------------------

    def add_credential(self, factor_id: str, credential: Credential, now: datetime) -> None:
        """Keep a WebAuthn factor's credential; :class:`DuplicateKey` when its id
        is registered already (to this user or another)."""
        self.session.add(
            WebauthnCredentialRow(
                factor_id=factor_id,
                credential_id=b64url(credential.credential_id),
                public_key=credential.public_key,
                sign_count=credential.sign_count,
                aaguid=credential.aaguid,
                transports=list(credential.transports),
                attestation_format=credential.attestation_format,
                created=now,
            )
        )
        flush_unique(self.session)

    def credential(self, factor_id: str) -> Credential | None:
        row = self.session.get(WebauthnCredentialRow, factor_id)
        if row is None:
            return None
        return Credential(
            credential_id=from_b64url(row.credential_id, "credentialId"),
            public_key=bytes(row.public_key),
            sign_count=int(row.sign_count),
            aaguid=row.aaguid,
            transports=tuple(row.transports or ()),
            attestation_format=row.attestation_format,
        )

    def credential_ids(self, user_id: str) -> list[bytes]:
        """The ids of the user's active WebAuthn credentials (excludeCredentials)."""
        rows = self.session.scalars(
            select(WebauthnCredentialRow.credential_id)
            .join(FactorRow, FactorRow.id == WebauthnCredentialRow.factor_id)
            .where(FactorRow.user_id == user_id, FactorRow.status == FactorStatus.ACTIVE.value)
        )
        return [from_b64url(value, "credentialId") for value in rows]

    def advance_sign_count(self, factor_id: str, seen: int, new: int) -> bool:
        """Store ``new`` only if the counter is still ``seen``: of two assertions
        that read the same counter, one moves it and the other is refused."""
        result = self.session.execute(
            update(WebauthnCredentialRow)
            .where(
                WebauthnCredentialRow.factor_id == factor_id,
                WebauthnCredentialRow.sign_count == seen,
            )
            .values(sign_count=new)
        )
        return bool(getattr(result, "rowcount", 0))
