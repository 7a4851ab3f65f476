"""``GET /healthz`` (readiness) reads the schema version when a worker starts
and then only while it is not at head (issue 13), and ``flask db check``
reads it on demand.

What a failure could do: a server whose database nobody migrated must stay
out of the load balancer (503 naming the fix) however many probes it has
answered, and must come in once someone migrates, without a restart.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from app.api import health
from app.store import migrations

UNMIGRATED = "failed: schema at empty, run `flask --app wsgi db upgrade`"


def _ready(client: Any) -> tuple[int, dict[str, str]]:
    r = client.get("/healthz")
    return r.status_code, r.get_json()["checks"]


def test_ready_reads_the_schema_version_once_not_on_every_probe(
    anonymous: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _ready(anonymous) == (200, {"database": "ok", "redis": "ok"})
    reads: list[object] = []
    monkeypatch.setattr(migrations, "current", lambda database: reads.append(database))
    for _ in range(3):
        assert _ready(anonymous) == (200, {"database": "ok", "redis": "ok"})
    assert reads == []


def test_a_database_migrated_after_start_up_is_ready_without_a_restart(
    app: Any, anonymous: Any, ctx: Any, caplog: pytest.LogCaptureFixture
) -> None:
    migrations.downgrade(ctx.stores.database, "base")
    caplog.set_level(logging.INFO, logger="portcullis.schema")
    health.check_schema(app)  # what gunicorn.conf.py runs as each worker starts
    assert [r.getMessage() for r in caplog.records] == [
        f"database {UNMIGRATED.removeprefix('failed: ')}: /healthz answers 503 until then"
    ]
    for _ in range(2):  # every probe reads again, and keeps the server out
        assert _ready(anonymous) == (503, {"database": UNMIGRATED, "redis": "ok"})
    assert len(caplog.records) == 1  # one warning, not one per probe

    migrations.upgrade(ctx.stores.database)
    assert _ready(anonymous) == (200, {"database": "ok", "redis": "ok"})
    assert caplog.records[-1].getMessage() == f"database schema now at head {migrations.head()}"


def test_a_database_that_does_not_answer_is_named_and_read_again(
    app: Any, anonymous: Any, ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError())

    with monkeypatch.context() as patch:
        patch.setattr(ctx.stores.database, "ping", down)
        patch.setattr(migrations, "current", down)
        health.check_schema(app)  # a worker starting before its database: not fatal
        assert _ready(anonymous) == (503, {"database": "failed: OperationalError", "redis": "ok"})
    assert _ready(anonymous) == (200, {"database": "ok", "redis": "ok"})


def test_db_check_exits_non_zero_unless_the_schema_is_at_head(app: Any, ctx: Any) -> None:
    runner = app.test_cli_runner()
    at_head = runner.invoke(args=["db", "check"])
    assert at_head.exit_code == 0 and f"at {migrations.head()} (head)" in at_head.output

    migrations.downgrade(ctx.stores.database, "base")
    behind = runner.invoke(args=["db", "check"])
    assert behind.exit_code == 1
    assert "schema at empty, run `flask --app wsgi db upgrade`" in behind.output
