"""SQLAlchemy 2.0 table definitions. Only repositories in app/store use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class UserRow(Base):
    __tablename__ = "users"

    # seq orders listings and backs the pagination cursor: it only grows, so a
    # cursor stays correct while users are added.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    login: Mapped[str] = mapped_column(String(255))
    login_lower: Mapped[str] = mapped_column(String(255), unique=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime]
    last_updated: Mapped[datetime] = mapped_column(index=True)
    status_changed: Mapped[datetime | None]
    activated: Mapped[datetime | None]
    last_login: Mapped[datetime | None]
    password_changed: Mapped[datetime | None]
    password_hash: Mapped[str | None] = mapped_column(Text)
    password_history: Mapped[list[str]] = mapped_column(JSON, default=list)
    recovery_question: Mapped[str | None] = mapped_column(Text)
    recovery_answer_hash: Mapped[str | None] = mapped_column(Text)
    transitioning_to_status: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        # A sign-in by short name looks for ``login_lower LIKE 'name@%'``: on
        # PostgreSQL only a text_pattern_ops index serves a prefix LIKE under a
        # non-C collation (the unique index above does not).
        Index(
            "ix_users_login_lower_pattern",
            "login_lower",
            postgresql_ops={"login_lower": "text_pattern_ops"},
        ),
    )


class GroupRow(Base):
    __tablename__ = "groups"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(20), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    name_lower: Mapped[str] = mapped_column(String(255), unique=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime]
    last_updated: Mapped[datetime]
    last_membership_updated: Mapped[datetime]


class GroupMemberRow(Base):
    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    added: Mapped[datetime]

    __table_args__ = (Index("ix_group_members_user", "user_id"),)


class _SecretCredentialColumns:
    """A bearer credential stored only as its SHA-256 hash."""

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_window: Mapped[str] = mapped_column(String(8))
    created: Mapped[datetime]
    last_used: Mapped[datetime | None]
    revoked: Mapped[datetime | None]


class ApiTokenRow(_SecretCredentialColumns, Base):
    """SSWS tokens of the Okta-style admin APIs."""

    __tablename__ = "api_tokens"


class ApiKeyRow(_SecretCredentialColumns, Base):
    """``sk_…`` keys of the WorkOS-style MFA API, kept apart from SSWS tokens."""

    __tablename__ = "api_keys"


class FactorRow(Base):
    __tablename__ = "factors"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    factor_type: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    # AES-GCM sealed (app.domain.secret_box), bound to the factor id.
    secret_sealed: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime]
    last_updated: Mapped[datetime]

    __table_args__ = (
        # One factor of each type per user, but one WebAuthn factor per authenticator.
        Index(
            "uq_factors_user_type",
            "user_id",
            "factor_type",
            "provider",
            unique=True,
            sqlite_where=text("factor_type <> 'webauthn'"),
            postgresql_where=text("factor_type <> 'webauthn'"),
        ),
    )


class WebauthnCredentialRow(Base):
    """The credential of a WebAuthn factor (its id is unique across users)."""

    __tablename__ = "webauthn_credentials"

    factor_id: Mapped[str] = mapped_column(
        ForeignKey("factors.id", ondelete="CASCADE"), primary_key=True
    )
    credential_id: Mapped[str] = mapped_column(String(1400))  # base64url of ≤ 1023 bytes
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE
    sign_count: Mapped[int] = mapped_column(BigInteger)
    aaguid: Mapped[str] = mapped_column(String(36))
    transports: Mapped[list[str]] = mapped_column(JSON)
    attestation_format: Mapped[str] = mapped_column(String(32))
    created: Mapped[datetime]

    __table_args__ = (UniqueConstraint("credential_id", name="uq_webauthn_credential_id"),)


class WorkosFactorRow(Base):
    """A factor of the WorkOS-style MFA API: owned by the calling application,
    optionally labelled with its own ``user_id`` (no Portcullis user)."""

    __tablename__ = "workos_factors"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)
    totp_issuer: Mapped[str | None] = mapped_column(String(255))
    totp_user: Mapped[str | None] = mapped_column(String(255))
    phone_number: Mapped[str | None] = mapped_column(String(20))
    secret_sealed: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime]
    last_updated: Mapped[datetime]


class TrustedOriginRow(Base):
    """An origin browser clients may call from (CORS) or be sent to (REDIRECT)."""

    __tablename__ = "trusted_origins"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(255), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(40))
    last_updated: Mapped[datetime]
    last_updated_by: Mapped[str] = mapped_column(String(40))


class PolicyRow(Base):
    """An Okta policy (PASSWORD, MFA_ENROLL, OKTA_SIGN_ON) with its settings as JSON."""

    __tablename__ = "policies"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(20), unique=True)
    type: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    system: Mapped[bool]
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime]
    last_updated: Mapped[datetime]


class PolicyRuleRow(Base):
    """A rule of a policy: conditions, actions and a priority within the policy."""

    __tablename__ = "policy_rules"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(20), unique=True)
    policy_id: Mapped[str] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    system: Mapped[bool]
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    actions: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[datetime]
    last_updated: Mapped[datetime]


class PolicyVersionRow(Base):
    """One row: a number that every change to a policy or a rule raises, in the
    same transaction, so that a process may keep the active policies for as
    long as the number stays the same (app.store.policies.PolicyCache)."""

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
