"""``flask bootstrap``: the first admin token reaches a terminal, never a log.

``make run`` runs it on every start; under systemd, Docker or CI its stdout
is a log file that others read. Someone who can read that log must not find
a working SSWS token in it.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from app import cli


def _bootstrap(app: Any) -> tuple[str, str]:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    token_file = Path(app.instance_path) / "admin-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    return result.output, token_file.read_text().strip()


def test_not_a_terminal_prints_where_the_token_is_not_the_token(app: Any) -> None:
    output, token = _bootstrap(app)
    assert token and token not in output and "SSWS" not in output
    assert str(Path(app.instance_path) / "admin-token") in output


def test_a_terminal_is_shown_the_token_once(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_is_terminal", lambda: True)
    output, token = _bootstrap(app)
    assert f"Authorization: SSWS {token}" in output
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["bootstrap"]).output == ""  # first start only


def test_the_token_in_the_file_works(app: Any) -> None:
    _, token = _bootstrap(app)
    r = app.test_client().get("/api/v1/users", headers={"Authorization": f"SSWS {token}"})
    assert r.status_code == 200
