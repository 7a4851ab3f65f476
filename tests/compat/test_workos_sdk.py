"""The real ``workos`` Python SDK (pinned in the dev extras, the version whose
calls the seed guide shows) against a live Portcullis: enroll, challenge,
verify, the two challenge errors, get and delete."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from workos import WorkOSClient
from workos.exceptions import BadRequestException, NotFoundException

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    instance = tmp_path_factory.mktemp("workos-sdk")
    port = _free_port()
    env = {
        **os.environ,
        "PORTCULLIS_INSTANCE": str(instance),
        "REDIS_URL": "fakeredis://",
        "PORT": str(port),
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("DATABASE_URL", None)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    created = subprocess.run(
        [*flask, "create-api-key", "--name", "sdk"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    yield {"base": base, "key": key, "instance": instance}
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def workos(server: dict[str, Any]) -> WorkOSClient:
    assert server["key"].startswith("sk_")
    return WorkOSClient(
        api_key=server["key"], client_id="client_portcullis", base_url=server["base"] + "/"
    )


def _latest_sms_code(instance: Path) -> str:
    lines = (instance / "outbox.log").read_text().splitlines()
    return re.search(r"\b(\d{6})\b", lines[-1]).group(1)  # type: ignore[union-attr]


def test_totp_enroll_challenge_verify(workos: WorkOSClient) -> None:
    factor = workos.mfa.enroll_factor(
        type="totp", totp_issuer="Foo Corp", totp_user="alan@foo-corp.com"
    )
    assert factor.id.startswith("auth_factor_") and factor.type == "totp"
    assert factor.totp.qr_code.startswith("data:image/png;base64,")  # type: ignore[union-attr]
    secret = factor.totp.secret  # type: ignore[union-attr]
    challenge = workos.mfa.challenge_factor(authentication_factor_id=factor.id)
    assert challenge.authentication_factor_id == factor.id and challenge.expires_at is None
    wrong = workos.mfa.verify_challenge(authentication_challenge_id=challenge.id, code="000000")
    assert wrong.valid is False
    right = workos.mfa.verify_challenge(
        authentication_challenge_id=challenge.id, code=pyotp.TOTP(secret).now()
    )
    assert right.valid is True and right.challenge.id == challenge.id
    with pytest.raises(BadRequestException) as error:
        workos.mfa.verify_challenge(
            authentication_challenge_id=challenge.id, code=pyotp.TOTP(secret).now()
        )
    assert error.value.code == "authentication_challenge_previously_verified"
    fetched = workos.mfa.get_factor(factor.id)
    assert fetched.totp.issuer == "Foo Corp"  # type: ignore[union-attr]
    workos.mfa.delete_factor(factor.id)
    with pytest.raises(NotFoundException):
        workos.mfa.get_factor(factor.id)


def test_sms_enroll_challenge_verify(workos: WorkOSClient, server: dict[str, Any]) -> None:
    factor = workos.mfa.enroll_factor(type="sms", phone_number="+15052694259")
    assert factor.sms.phone_number == "+15052694259"  # type: ignore[union-attr]
    challenge = workos.mfa.challenge_factor(
        authentication_factor_id=factor.id, sms_template="Your FooCorp code is {{code}}."
    )
    assert challenge.expires_at is not None
    code = _latest_sms_code(server["instance"])
    bad = "000000" if code != "000000" else "111111"
    assert (
        workos.mfa.verify_challenge(authentication_challenge_id=challenge.id, code=bad).valid
        is False
    )
    assert (
        workos.mfa.verify_challenge(authentication_challenge_id=challenge.id, code=code).valid
        is True
    )


def test_errors_reach_the_sdk(workos: WorkOSClient) -> None:
    with pytest.raises(BadRequestException) as invalid:
        workos.mfa.enroll_factor(type="sms", phone_number="not-a-number")
    assert invalid.value.code == "invalid_request_parameters"
    with pytest.raises(NotFoundException):
        workos.mfa.verify_challenge(authentication_challenge_id="auth_challenge_nope", code="1")


def test_expired_challenge(tmp_path: Path) -> None:
    """Expiry needs ten minutes to pass, so this one runs the SDK against the
    app in-process (httpx's WSGI transport) with a clock the test moves."""
    import httpx

    from app import create_app
    from app.services import workos_mfa
    from app.store import migrations
    from tests.conftest import FrozenClock, settings_for

    clock = FrozenClock()
    app = create_app(settings_for(tmp_path), clock=clock)
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, key = workos_mfa.create_api_key(ctx, "sdk")
    client = WorkOSClient(
        api_key=key, client_id="client_portcullis", base_url="http://portcullis.test/"
    )
    client._http_client._client = httpx.Client(  # type: ignore[attr-defined]
        transport=httpx.WSGITransport(app=app), base_url="http://portcullis.test/"
    )
    factor = client.mfa.enroll_factor(type="sms", phone_number="+15052694259")
    challenge = client.mfa.challenge_factor(authentication_factor_id=factor.id)
    clock.advance(minutes=10)
    with pytest.raises(BadRequestException) as expired:
        client.mfa.verify_challenge(authentication_challenge_id=challenge.id, code="123456")
    assert expired.value.code == "authentication_challenge_expired"
