"""Schema migrations with Alembic, run from code (``flask db upgrade`` and ``make run``)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.store.db import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
UPGRADE_COMMAND = "flask --app wsgi db upgrade"
log = logging.getLogger("portcullis.schema")


def alembic_config(database: Database) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(database: Database, revision: str) -> None:
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def revision(database: Database, message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def head() -> str | None:
    """The newest revision this code knows (read from the scripts, cached)."""
    global _HEAD
    if _HEAD is None:
        from alembic.script import ScriptDirectory

        config = Config(str(MIGRATIONS / "alembic.ini"))
        config.set_main_option("script_location", str(MIGRATIONS))
        _HEAD = ScriptDirectory.from_config(config).get_current_head()
    return _HEAD


_HEAD: str | None = None


def behind_head(database: Database) -> str | None:
    """None when the schema is at this code's head; else what to tell the operator."""
    revision = current(database)
    if revision == head():
        return None
    return f"schema at {revision or 'empty'}, run `{UPGRADE_COMMAND}`"


class SchemaCheck:
    """Whether the database's schema is at this code's head, as last read.

    Readiness probes come every few seconds from every orchestrator, and
    reading the version configures an Alembic migration context and queries
    (issue 13). The schema moves only when someone migrates, so it is read at
    start-up and then again only while it was not found at head: a migration
    done after start-up is seen by the next probe, and the good case reads
    nothing. A downgrade beneath a running server is not seen until it
    restarts (``flask --app wsgi db check`` reads the database itself).
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._at_head = False
        self._told: str | None = None  # the last problem logged, so a probe logs nothing new

    def problem(self) -> str | None:
        """None at head; else what to tell the operator.

        Reads the database unless an earlier call found it at head. A database
        that does not answer raises the driver's error.
        """
        if self._at_head:
            return None
        problem = behind_head(self._database)
        if problem is None:
            self._at_head = True
            if self._told is not None:
                log.info("database schema now at head %s", head())
        elif problem != self._told:
            log.warning("database %s: /healthz answers 503 until then", problem)
        self._told = problem
        return problem
