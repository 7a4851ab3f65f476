"""users, groups, api tokens

Revision ID: 0001
Revises:
Create Date: 2026-11-22 18:17:08.336764
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_window', sa.String(length=8), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('groups',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_lower', sa.String(length=255), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_membership_updated', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('name_lower')
    )
    op.create_table('users',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('login', sa.String(length=255), nullable=False),
    sa.Column('login_lower', sa.String(length=255), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('password_history', sa.JSON(), nullable=False),
    sa.Column('recovery_question', sa.Text(), nullable=True),
    sa.Column('recovery_answer_hash', sa.Text(), nullable=True),
    sa.Column('transitioning_to_status', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('login_lower')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_last_updated'), ['last_updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_status'), ['status'], unique=False)

    op.create_table('group_members',
    sa.Column('group_id', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.String(length=20), nullable=False),
    sa.Column('added', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id')
    )
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.create_index('ix_group_members_user', ['user_id'], unique=False)

    _insert_everyone()


def _insert_everyone() -> None:
    # The built-in group every user belongs to, as in every Okta org.
    now = datetime.now(UTC)
    alphabet = string.ascii_letters + string.digits
    groups = sa.table(
        "groups",
        sa.column("id", sa.String),
        sa.column("type", sa.String),
        sa.column("name", sa.String),
        sa.column("name_lower", sa.String),
        sa.column("profile", sa.JSON),
        sa.column("created", sa.DateTime(timezone=True)),
        sa.column("last_updated", sa.DateTime(timezone=True)),
        sa.column("last_membership_updated", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        groups,
        [
            {
                "id": "00g" + "".join(secrets.choice(alphabet) for _ in range(17)),
                "type": "BUILT_IN",
                "name": "Everyone",
                "name_lower": "everyone",
                "profile": {"name": "Everyone", "description": "All users in your organization"},
                "created": now,
                "last_updated": now,
                "last_membership_updated": now,
            }
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.drop_index('ix_group_members_user')

    op.drop_table('group_members')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_status'))
        batch_op.drop_index(batch_op.f('ix_users_last_updated'))

    op.drop_table('users')
    op.drop_table('groups')
    op.drop_table('api_tokens')
