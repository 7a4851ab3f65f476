"""policy_version: the number every policy or rule change raises

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:00:00

Sign-in reads the active policies on every call. With this one-row table a
process keeps them while the number stays the same, and reads the number in
the same query as the user's groups (app.store.policies): every change to a
policy or a rule raises it in the change's own transaction, so no process
evaluates a policy that has changed once the change is committed. A later
migration that changes policies or rules must raise it too.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'policy_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    # Not 1: a table dropped (downgrade) and made again must not repeat a
    # number a running process may still hold policies under.
    op.bulk_insert(table, [{'id': 1, 'version': time.time_ns() // 1000}])


def downgrade() -> None:
    op.drop_table('policy_version')
