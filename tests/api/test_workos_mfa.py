"""The WorkOS-style MFA API through the Flask test client (both backends)."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from typing import Any

import pyotp
import pytest

from app.domain.factors import totp as totp_maths
from app.services import workos_mfa


class WorkosClient:
    def __init__(self, client: Any, key: str | None) -> None:
        self.client, self.key = client, key

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if self.key:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def mfa(app: Any, ctx: Any) -> WorkosClient:
    _, key = workos_mfa.create_api_key(ctx, "tests")
    return WorkosClient(app.test_client(), key)


def _totp(mfa: WorkosClient, **extra: Any) -> dict[str, Any]:
    r = mfa.post(
        "/auth/factors/enroll",
        json={"type": "totp", "totp_issuer": "Foo Corp", "totp_user": "alan@foo-corp.com", **extra},
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _sms(mfa: WorkosClient) -> dict[str, Any]:
    r = mfa.post("/auth/factors/enroll", json={"type": "sms", "phone_number": "+1 505 269 4259"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def _code_now(factor: dict[str, Any], clock: Any, offset: int = 0) -> str:
    return pyotp.HOTP(factor["totp"]["secret"]).at(totp_maths.counter_at(clock()) + offset)


def test_enroll_totp(mfa: WorkosClient) -> None:
    factor = _totp(mfa, user_id="user_01E4ZCR3C56J083X43JQXF3JK5")
    assert re.fullmatch(r"auth_factor_[0-9A-HJKMNP-TV-Z]{26}", factor["id"])
    assert factor["object"] == "authentication_factor" and factor["type"] == "totp"
    assert factor["user_id"] == "user_01E4ZCR3C56J083X43JQXF3JK5"
    assert factor["created_at"] == "2026-01-15T09:30:00.000Z" == factor["updated_at"]
    totp = factor["totp"]
    assert totp["issuer"] == "Foo Corp" and totp["user"] == "alan@foo-corp.com"
    assert totp["uri"].startswith("otpauth://totp/Foo%20Corp:alan@foo-corp.com?secret=")
    assert pyotp.parse_uri(totp["uri"]).secret == totp["secret"]
    assert totp["qr_code"].startswith("data:image/png;base64,")
    assert base64.b64decode(totp["qr_code"].split(",", 1)[1]).startswith(b"\x89PNG")


def test_secret_and_qr_code_only_at_enrolment(mfa: WorkosClient) -> None:
    factor = _totp(mfa)
    again = mfa.request("GET", f"/auth/factors/{factor['id']}").get_json()
    assert again["totp"] == {"issuer": "Foo Corp", "user": "alan@foo-corp.com"}
    assert "user_id" not in again


def test_totp_challenge_and_verify(mfa: WorkosClient, clock: Any) -> None:
    factor = _totp(mfa)
    r = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={})
    assert r.status_code == 201
    challenge = r.get_json()
    assert re.fullmatch(r"auth_challenge_[0-9A-Z]{26}", challenge["id"])
    assert challenge["authentication_factor_id"] == factor["id"]
    assert "expires_at" not in challenge  # does not apply to TOTP
    wrong = mfa.post(f"/auth/challenges/{challenge['id']}/verify", json={"code": "000000"})
    assert wrong.status_code == 200 and wrong.get_json()["valid"] is False
    code = _code_now(factor, clock)
    ok = mfa.post(f"/auth/challenges/{challenge['id']}/verify", json={"code": code})
    assert ok.status_code == 200
    assert ok.get_json()["valid"] is True
    assert ok.get_json()["challenge"]["id"] == challenge["id"]
    again = mfa.post(f"/auth/challenges/{challenge['id']}/verify", json={"code": code})
    assert again.get_json() == {
        "code": "authentication_challenge_previously_verified",
        "message": f"The authentication challenge '{challenge['id']}' has already been verified.",
    }
    # the same TOTP code on a new challenge is a replay: valid false
    second = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).get_json()
    replay = mfa.post(f"/auth/challenges/{second['id']}/verify", json={"code": code})
    assert replay.status_code == 200 and replay.get_json()["valid"] is False


@pytest.mark.parametrize("max_attempts", [2, 7])
def test_totp_attempts_are_capped_by_otp_max_attempts(
    mfa: WorkosClient, clock: Any, ctx: Any, max_attempts: int
) -> None:
    """OTP_MAX_ATTEMPTS codes are checked per challenge; after that many wrong
    ones even the right code is refused (the same cap as delivered codes)."""
    ctx.settings = replace(ctx.settings, otp_max_attempts=max_attempts)
    factor = _totp(mfa)
    challenge = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).get_json()
    verify = f"/auth/challenges/{challenge['id']}/verify"
    for _ in range(max_attempts - 1):
        mfa.post(verify, json={"code": "000000"})
    last_try = mfa.post(verify, json={"code": _code_now(factor, clock)})
    assert last_try.get_json()["valid"] is True  # the last attempt allowed still counts

    factor = _totp(mfa)
    challenge = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).get_json()
    verify = f"/auth/challenges/{challenge['id']}/verify"
    for _ in range(max_attempts):
        mfa.post(verify, json={"code": "000000"})
    too_late = mfa.post(verify, json={"code": _code_now(factor, clock)})
    assert too_late.status_code == 200 and too_late.get_json()["valid"] is False


def test_sms_challenge_sends_a_code_with_the_template(
    mfa: WorkosClient, outbox: Any, clock: Any
) -> None:
    factor = _sms(mfa)
    assert factor["sms"] == {"phone_number": "+15052694259"}
    r = mfa.post(
        f"/auth/factors/{factor['id']}/challenge",
        json={"sms_template": "Your FooCorp code is {{code}}."},
    )
    assert r.status_code == 201
    challenge = r.get_json()
    assert challenge["expires_at"] == "2026-01-15T09:40:00.000Z"  # 10 minutes
    (message,) = outbox.messages(to="+15052694259")
    code = re.fullmatch(r"Your FooCorp code is (\d{6})\.", message.body).group(1)  # type: ignore[union-attr]
    bad = mfa.post(
        f"/auth/challenges/{challenge['id']}/verify",
        json={"code": "000000" if code != "000000" else "111111"},
    )
    assert bad.get_json()["valid"] is False
    ok = mfa.post(f"/auth/challenges/{challenge['id']}/verify", json={"code": code})
    assert ok.get_json()["valid"] is True


def test_sms_challenge_expires_after_ten_minutes(
    mfa: WorkosClient, outbox: Any, clock: Any
) -> None:
    factor = _sms(mfa)
    challenge = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).get_json()
    code = re.search(r"\d{6}", outbox.messages()[0].body).group(0)  # type: ignore[union-attr]
    clock.advance(minutes=10)
    r = mfa.post(f"/auth/challenges/{challenge['id']}/verify", json={"code": code})
    assert r.status_code == 422
    assert r.get_json()["code"] == "authentication_challenge_expired"
    assert challenge["id"] in r.get_json()["message"]


def test_sms_resend_throttle(mfa: WorkosClient, clock: Any) -> None:
    factor = _sms(mfa)
    assert mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).status_code == 201
    r = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 30
    clock.advance(seconds=30)
    assert mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "sms", "phone_number": "555"}, "phone_number"),
        ({"type": "sms"}, "phone_number"),
        ({"type": "totp", "totp_issuer": "Foo"}, "totp_user"),
        ({"type": "webauthn"}, "type"),
        ({}, "type"),
        ({"type": 5}, "type"),
    ],
)
def test_enroll_bad_input_is_422(mfa: WorkosClient, body: dict[str, Any], field: str) -> None:
    r = mfa.post("/auth/factors/enroll", json=body)
    assert r.status_code == 422
    err = r.get_json()
    assert err["code"] == "invalid_request_parameters"
    assert err["errors"][0]["field"] == field


def test_template_without_code_is_422(mfa: WorkosClient) -> None:
    factor = _sms(mfa)
    r = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={"sms_template": "no code"})
    assert r.status_code == 422


def test_unknown_ids_are_404(mfa: WorkosClient) -> None:
    for method, path, body in [
        ("GET", "/auth/factors/auth_factor_nope", None),
        ("DELETE", "/auth/factors/auth_factor_nope", None),
        ("POST", "/auth/factors/auth_factor_nope/challenge", {}),
        ("POST", "/auth/challenges/auth_challenge_nope/verify", {"code": "123456"}),
    ]:
        r = mfa.request(method, path, json=body)
        assert r.status_code == 404, path
        assert r.get_json()["code"] == "entity_not_found"


def test_delete_factor(mfa: WorkosClient) -> None:
    factor = _totp(mfa)
    challenge = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).get_json()
    r = mfa.request("DELETE", f"/auth/factors/{factor['id']}")
    assert r.status_code == 204 and r.get_data() == b"" and "Content-Type" not in r.headers
    assert mfa.request("GET", f"/auth/factors/{factor['id']}").status_code == 404
    verify = mfa.post(f"/auth/challenges/{challenge['id']}/verify", json={"code": "123456"})
    assert verify.status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer sk_wrong", "SSWS x", "Basic abc"])
def test_a_valid_api_key_is_required(app: Any, header: str | None) -> None:
    client = WorkosClient(app.test_client(), None)
    headers = {"Authorization": header} if header else {}
    r = client.post("/auth/factors/enroll", json={"type": "totp"}, headers=headers)
    assert r.status_code == 401
    assert "message" in r.get_json() and "errorCode" not in r.get_json()


def test_ssws_tokens_and_api_keys_are_separate(app: Any, admin_token: str) -> None:
    client = WorkosClient(app.test_client(), admin_token)
    assert client.request("GET", "/auth/factors/x").status_code == 401


def test_revoked_key_stops_working(mfa: WorkosClient, ctx: Any) -> None:
    (key,) = workos_mfa.list_api_keys(ctx)
    assert mfa.request("GET", "/auth/factors/x").status_code == 404
    workos_mfa.revoke_api_key(ctx, key.id)
    assert mfa.request("GET", "/auth/factors/x").status_code == 401


def test_malformed_json_in_workos_shape(mfa: WorkosClient) -> None:
    r = mfa.post("/auth/factors/enroll", data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["code"] == "invalid_json"


def test_factor_secret_is_encrypted_at_rest(mfa: WorkosClient, ctx: Any) -> None:
    from sqlalchemy import text

    factor = _totp(mfa)
    with ctx.stores.database.engine.connect() as conn:
        row = conn.execute(text("select * from workos_factors")).mappings().one()
    assert factor["totp"]["secret"] not in str(dict(row))
    assert str(row["secret_sealed"]).startswith("v1.")


def test_challenge_time_moves_with_the_clock(mfa: WorkosClient, clock: Any) -> None:
    factor = _sms(mfa)
    clock.advance(minutes=1)
    challenge = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).get_json()
    assert challenge["created_at"] == "2026-01-15T09:31:00.000Z"


def test_challenges_are_kept_for_workos_challenge_retention(tmp_path: Any) -> None:
    """Each challenge (and its attempt count) is one Redis key for the retention,
    so that setting bounds their memory (make soak runs with 300 s)."""
    from app import create_app
    from app.store import migrations
    from tests.conftest import settings_for

    app = create_app(settings_for(tmp_path, workos_challenge_retention=300))
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, key = workos_mfa.create_api_key(ctx, "tests")
    mfa = WorkosClient(app.test_client(), key)
    factor = _totp(mfa)
    challenge = mfa.post(f"/auth/factors/{factor['id']}/challenge", json={}).get_json()
    r = mfa.post(f"/auth/challenges/{challenge['id']}/verify", json={"code": "000000"})
    assert r.get_json()["valid"] is False
    stored = f"workos:challenge:{{{challenge['id']}}}"
    assert 290 < ctx.stores.redis.ttl(stored) <= 300
    assert 290 < ctx.stores.redis.ttl(stored + ":attempts") <= 300
    ctx.stores.database.dispose()


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_retention_under_one_second_is_refused(value: str) -> None:
    from app.config import Settings

    with pytest.raises(ValueError, match="WORKOS_CHALLENGE_RETENTION"):
        Settings.from_env(
            {
                "WORKOS_CHALLENGE_RETENTION": value,
                "SECRET_KEY": "s",
                "ENCRYPTION_KEY": "e",
                "DATABASE_URL": "sqlite://",
            }
        )
