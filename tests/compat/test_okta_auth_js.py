"""The real ``@okta/okta-auth-js`` (pinned in package.json: the 7.x line,
which still has the classic Authentication API) against a live Portcullis.

The SDK runs in Node (``tests/compat/authjs/flows.mjs``), configured as an
application would be, with a plain-http issuer on the server; this side sets
up users, factors and policies through the admin API, runs one scenario per
test and checks what it reports: primary auth, MFA_REQUIRED and a TOTP
verify to SUCCESS and the ``sid`` cookie hand-off; MFA_ENROLL with Google
Authenticator; cancel; a wrong and a replayed code as ``AuthApiError``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import PASSWORD, ROOT, LiveServer

pytestmark = pytest.mark.integration
FLOWS = Path(__file__).parent / "authjs" / "flows.mjs"


def _run(scenario: str, server: LiveServer, **values: Any) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(FLOWS), scenario, json.dumps({"base": server.base, **values})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{scenario} failed in Node:\n{done.stderr}{done.stdout}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def server(node_packages: Path, live_server: LiveServer) -> LiveServer:
    return live_server


def _mfa_user(server: LiveServer, login: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A user whose sign-on policy requires MFA, with Google Authenticator active."""
    admin = server.admin
    group_id = admin.group(f"MFA required: {login}")
    admin.require_mfa(group_id)
    user = admin.user(login, group_id)
    return user, admin.active_totp(user["id"])


def test_mfa_required_totp_success_and_session_cookie(server: LiveServer) -> None:
    login = "kate.required@example.com"
    user, factor = _mfa_user(server, login)
    result = _run("mfa-required", server, login=login, password=PASSWORD, secret=factor["secret"])
    assert result["statuses"] == ["MFA_REQUIRED", "SUCCESS"]
    session = result["session"]
    assert session["userId"] == user["id"] and session["login"] == login
    assert session["status"] == "ACTIVE"
    assert set(session["amr"]) == {"pwd", "otp", "mfa"}
    assert session["mfaActive"] is True
    live = server.admin("GET", f"/api/v1/sessions/{session['id']}")
    assert live["userId"] == user["id"]


def test_mfa_enroll_google_authenticator(server: LiveServer) -> None:
    login = "kate.enrol@example.com"
    admin = server.admin
    group_id = admin.group("Google Authenticator required")
    admin.require_google_authenticator(group_id)
    user = admin.user(login, group_id)
    result = _run("mfa-enroll", server, login=login, password=PASSWORD)
    assert result["statuses"] == ["MFA_ENROLL", "MFA_ENROLL_ACTIVATE", "SUCCESS"]
    assert result["session"]["userId"] == user["id"]
    assert "otp" in result["session"]["amr"]
    factors = admin("GET", f"/api/v1/users/{user['id']}/factors")
    assert [(f["factorType"], f["provider"], f["status"]) for f in factors] == [
        ("token:software:totp", "GOOGLE", "ACTIVE")
    ]


def test_cancel(server: LiveServer) -> None:
    login = "kate.cancel@example.com"
    _mfa_user(server, login)
    result = _run("cancel", server, login=login, password=PASSWORD)
    assert result["statuses"] == ["MFA_REQUIRED", "UNAUTHENTICATED"]
    assert result["afterCancel"]["errorCode"] == "E0000011"


def test_wrong_and_replayed_codes_are_auth_api_errors(server: LiveServer) -> None:
    login = "kate.replay@example.com"
    user, factor = _mfa_user(server, login)
    result = _run(
        "wrong-and-replayed-code", server, login=login, password=PASSWORD, secret=factor["secret"]
    )
    assert result["statuses"] == ["MFA_REQUIRED", "SUCCESS", "MFA_REQUIRED"]
    assert result["badPassword"]["errorCode"] == "E0000004"
    assert result["wrong"] == {
        "errorCode": "E0000068",
        "errorSummary": "Invalid Passcode/Answer",
        "status": 403,
    }
    assert result["replayed"]["errorCode"] == "E0000082"
    assert result["replayed"]["status"] == 403
    # Two failed checks (the password, the wrong code) do not lock the user out.
    assert server.admin("GET", f"/api/v1/users/{user['id']}")["status"] == "ACTIVE"
