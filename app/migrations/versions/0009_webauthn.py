"""factors: WebAuthn credentials, and several WebAuthn factors per user

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:40:00

A user may register one WebAuthn factor per authenticator, so the rule "one
factor of each type per user" becomes a partial unique index that leaves
``webauthn`` out. Each WebAuthn factor's credential (its id, unique across
all users, the COSE public key, the signature counter, the AAGUID and the
transports) lives in ``webauthn_credentials`` and goes with its factor.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

NOT_WEBAUTHN = sa.text("factor_type <> 'webauthn'")


def upgrade() -> None:
    with op.batch_alter_table('factors', schema=None) as batch_op:
        batch_op.drop_constraint('uq_factors_user_type', type_='unique')
    op.create_index(
        'uq_factors_user_type',
        'factors',
        ['user_id', 'factor_type', 'provider'],
        unique=True,
        sqlite_where=NOT_WEBAUTHN,
        postgresql_where=NOT_WEBAUTHN,
    )
    op.create_table(
        'webauthn_credentials',
        sa.Column('factor_id', sa.String(length=20), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('aaguid', sa.String(length=36), nullable=False),
        sa.Column('transports', sa.JSON(), nullable=False),
        sa.Column('attestation_format', sa.String(length=32), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['factor_id'], ['factors.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('factor_id'),
        sa.UniqueConstraint('credential_id', name='uq_webauthn_credential_id'),
    )


def downgrade() -> None:
    op.drop_table('webauthn_credentials')
    op.execute("DELETE FROM factors WHERE factor_type = 'webauthn'")
    op.drop_index('uq_factors_user_type', table_name='factors')
    with op.batch_alter_table('factors', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            'uq_factors_user_type', ['user_id', 'factor_type', 'provider']
        )
