"""``DATABASE_PREPARED_STATEMENTS`` (docs/scaling.md, pgbouncer).

psycopg prepares a statement on the server once it has run five times on one
connection. Behind pgbouncer in transaction mode without
``max_prepared_statements`` the next transaction may run on another server
connection, and the request fails with "prepared statement … does not exist"
(tried by hand with Debian 12's pgbouncer 1.18: 46 of 320 concurrent admin
requests failed, 44 with a 500; with the setting off, none). Here, straight on
PostgreSQL: with the setting off nothing is ever prepared on the server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.config import Settings
from tests.conftest import settings_for

pytestmark = pytest.mark.integration


def _prepared_after_repeats(postgres_url: str, tmp_path: Path, **overrides: bool) -> int:
    """How many statements the server holds prepared on one connection after
    the same query ran ten times on it."""
    settings = settings_for(tmp_path, database_url=postgres_url, **overrides)
    database = create_app(settings).extensions["portcullis"].stores.database
    try:
        with database.engine.connect() as conn:
            for n in range(10):
                conn.execute(text("SELECT :n + 1"), {"n": n})
            return int(conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar())
    finally:
        database.dispose()


def test_statements_are_prepared_by_default(postgres_url: str, tmp_path: Path) -> None:
    assert _prepared_after_repeats(postgres_url, tmp_path) >= 1


def test_switched_off_nothing_is_prepared_on_the_server(postgres_url: str, tmp_path: Path) -> None:
    assert _prepared_after_repeats(postgres_url, tmp_path, database_prepared_statements=False) == 0


def test_the_setting_reads_its_variable(tmp_path: Path) -> None:
    env = {"PORTCULLIS_INSTANCE": str(tmp_path), "SECRET_KEY": "s", "ENCRYPTION_KEY": "e"}
    assert Settings.from_env(env).database_prepared_statements is True
    off = Settings.from_env({**env, "DATABASE_PREPARED_STATEMENTS": "false"})
    assert off.database_prepared_statements is False
