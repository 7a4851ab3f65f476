"""users: an index for the short-name sign-in's prefix search

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:10:00

``POST /api/v1/authn`` with a username that is no login looks for a login
that begins with ``username@`` (Okta's short name). ``LIKE 'name@%'`` cannot
use the unique index on ``login_lower`` under PostgreSQL's usual collations:
with a million users that was a sequential scan for every unknown username
an anonymous caller sent. ``text_pattern_ops`` makes it an index range scan.
"""

from __future__ import annotations

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_users_login_lower_pattern',
        'users',
        ['login_lower'],
        postgresql_ops={'login_lower': 'text_pattern_ops'},
    )


def downgrade() -> None:
    op.drop_index('ix_users_login_lower_pattern', table_name='users')
