"""factors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:54:18.772028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('factors',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.String(length=20), nullable=False),
    sa.Column('factor_type', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'factor_type', 'provider', name='uq_factors_user_type')
    )
    with op.batch_alter_table('factors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_factors_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('factors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_factors_user_id'))

    op.drop_table('factors')
