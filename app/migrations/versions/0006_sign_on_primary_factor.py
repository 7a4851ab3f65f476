"""sign-on rules: primaryFactor in Okta's vocabulary

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00

0005 gave the default sign-on rule ``actions.signon.primaryFactor: "PASSWORD"``,
a value outside Okta's enum (``PASSWORD_IDP``, ``PASSWORD_IDP_ANY_FACTOR``):
Okta's own SDKs refuse to read a rule that carries it, so listing the default
policy's rules failed in Okta's Python SDK. ``PASSWORD_IDP`` ("users must always
use a password to establish a session") is what the value meant and what
Portcullis does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_RULES = sa.table(
    'policy_rules',
    sa.column('id', sa.String()),
    sa.column('actions', sa.JSON()),
)


def _rewrite(old: str, new: str) -> None:
    """Every rule whose ``actions.signon.primaryFactor`` is ``old`` gets ``new``
    (read and written in Python: JSON functions differ between SQLite and
    PostgreSQL)."""
    bind = op.get_bind()
    for rule_id, actions in bind.execute(sa.select(_RULES.c.id, _RULES.c.actions)).all():
        signon: Any = (actions or {}).get('signon') if isinstance(actions, dict) else None
        if isinstance(signon, dict) and signon.get('primaryFactor') == old:
            changed = {**actions, 'signon': {**signon, 'primaryFactor': new}}
            bind.execute(_RULES.update().where(_RULES.c.id == rule_id).values(actions=changed))


def upgrade() -> None:
    _rewrite('PASSWORD', 'PASSWORD_IDP')


def downgrade() -> None:
    # Nothing to undo: PASSWORD_IDP is read the same way by 0005's schema, and a
    # rule an admin set to PASSWORD_IDP cannot be told from one rewritten here.
    pass
