"""policies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 23:50:00

Creates the policy tables and the three default policies every org starts
with (PASSWORD, MFA_ENROLL, OKTA_SIGN_ON), each with its default rule, applied
to the built-in Everyone group. The documents are frozen here as Okta's
defaults were on this date; later changes go through the Policies API.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_ALPHABET = string.ascii_letters + string.digits


def _id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(17))


PASSWORD_SETTINGS = {
    "password": {
        "complexity": {
            "minLength": 8,
            "minLowerCase": 1,
            "minUpperCase": 1,
            "minNumber": 1,
            "minSymbol": 0,
            "excludeUsername": True,
            "excludeAttributes": [],
        },
        "age": {"maxAgeDays": 0, "expireWarnDays": 0, "minAgeMinutes": 0, "historyCount": 4},
        "lockout": {
            "maxAttempts": 10,
            "autoUnlockMinutes": None,
            "showLockoutFailures": False,
        },
    },
    "recovery": {
        "factors": {
            "recovery_question": {"status": "ACTIVE", "properties": {"complexity": {"minLength": 4}}},
            "okta_email": {
                "status": "ACTIVE",
                "properties": {"recoveryToken": {"tokenLifetimeMinutes": 60}},
            },
            "okta_sms": {"status": "INACTIVE"},
            "okta_call": {"status": "INACTIVE"},
        }
    },
}
PASSWORD_RULE = {
    "passwordChange": {"access": "ALLOW"},
    "selfServicePasswordReset": {"access": "ALLOW"},
    "selfServiceUnlock": {"access": "DENY"},
}
ENROLL_SETTINGS = {
    "type": "FACTORS",
    "factors": {
        key: {"consent": {"type": "NONE"}, "enroll": {"self": "OPTIONAL"}}
        for key in ("google_otp", "okta_otp", "okta_sms", "okta_call", "okta_email", "okta_question")
    },
}
ENROLL_RULE = {"enroll": {"self": "CHALLENGE"}}
SIGN_ON_RULE = {
    "signon": {
        "access": "ALLOW",
        "requireFactor": False,
        "primaryFactor": "PASSWORD",
        "rememberDeviceByDefault": False,
        "session": {
            "usePersistentCookie": False,
            "maxSessionIdleMinutes": 120,
            "maxSessionLifetimeMinutes": 0,
        },
    }
}
RULE_CONDITIONS = {"network": {"connection": "ANYWHERE"}}


def upgrade() -> None:
    policies = op.create_table('policies',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('system', sa.Boolean(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policies_type'), ['type'], unique=False)

    rules = op.create_table('policy_rules',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('policy_id', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('system', sa.Boolean(), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('policy_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_rules_policy_id'), ['policy_id'], unique=False)

    _insert_defaults(policies, rules)


def _insert_defaults(policies: sa.Table, rules: sa.Table) -> None:
    everyone = op.get_bind().execute(
        sa.text("SELECT id FROM groups WHERE name_lower = 'everyone'")
    ).scalar_one()
    now = datetime.now(UTC)
    conditions = {"people": {"groups": {"include": [everyone]}}}
    defaults = [
        ("PASSWORD", "The default password policy", PASSWORD_SETTINGS, "PASSWORD", PASSWORD_RULE),
        ("MFA_ENROLL", "The default MFA enrollment policy", ENROLL_SETTINGS, "MFA_ENROLL", ENROLL_RULE),
        ("OKTA_SIGN_ON", "The default sign-on policy", {}, "SIGN_ON", SIGN_ON_RULE),
    ]
    policy_rows, rule_rows = [], []
    for kind, description, settings, rule_type, actions in defaults:
        policy_id = _id("00p")
        policy_rows.append(
            {
                "id": policy_id,
                "type": kind,
                "name": "Default Policy",
                "description": description,
                "status": "ACTIVE",
                "priority": 1,
                "system": True,
                "conditions": conditions,
                "settings": settings,
                "created": now,
                "last_updated": now,
            }
        )
        rule_rows.append(
            {
                "id": _id("0pr"),
                "policy_id": policy_id,
                "type": rule_type,
                "name": "Default Rule",
                "status": "ACTIVE",
                "priority": 1,
                "system": True,
                "conditions": RULE_CONDITIONS,
                "actions": actions,
                "created": now,
                "last_updated": now,
            }
        )
    op.bulk_insert(policies, policy_rows)
    op.bulk_insert(rules, rule_rows)


def downgrade() -> None:
    with op.batch_alter_table('policy_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_rules_policy_id'))

    op.drop_table('policy_rules')
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policies_type'))

    op.drop_table('policies')
