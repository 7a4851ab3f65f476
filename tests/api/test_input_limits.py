"""Input limits at the door: the body cap (413), relayState and password lengths (400).

What someone who knows nothing could try: a huge body to any route (Okta's
APIs, the WorkOS API, a path that does not exist), declared or chunked; a
huge relayState on a recovery for a username that does not exist (the decoy
transaction used to keep it in Redis); a huge password on sign-in.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from redis.exceptions import ResponseError

from app.services.authn import transaction as authn_service
from tests.api.test_authn import (
    E164,
    LOGIN,
    PHONE,
    Policy,
    _recovery_policy,
    authn,
    enroll_active,
)
from tests.conftest import PASSWORD

LIMIT = 1024 * 1024  # REQUEST_BODY_MAX_BYTES' default
OVER = b'{"username": "' + b"a" * LIMIT + b'"}'


def _authn_keys(ctx: Any) -> list[str]:
    return [k for k in ctx.stores.redis.scan_iter(match="authn:*") if not k.endswith(":lease")]


def _assert_okta_413(r: Any) -> None:
    assert r.status_code == 413, r.get_data(as_text=True)[:300]
    body = r.get_json()
    assert body["errorCode"] == "E0000001" and body["errorLink"] == "E0000001"
    assert body["errorSummary"] == "Api validation failed: requestBody"
    assert body["errorId"].startswith("oae")
    assert body["errorCauses"] == [
        {"errorSummary": f"requestBody: The request body cannot exceed {LIMIT} bytes."}
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/authn",
        "/api/v1/authn/recovery/password",
        "/api/v1/users",
        "/api/v1/sessions",
        "/api/v1/no-such-path",
    ],
)
def test_a_body_over_the_cap_is_413_in_okta_shape(api: Any, ctx: Any, path: str) -> None:
    r = api.post(path, data=OVER, content_type="application/json")
    _assert_okta_413(r)
    assert _authn_keys(ctx) == []


def test_the_cap_is_checked_on_the_header_before_the_body_is_read(anonymous: Any) -> None:
    class Unreadable(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("the body was read")

        readline = read  # type: ignore[assignment]

    r = anonymous.post(
        "/api/v1/authn",
        input_stream=Unreadable(),
        headers={"Content-Type": "application/json"},
        environ_overrides={"CONTENT_LENGTH": str(LIMIT + 1)},
    )
    _assert_okta_413(r)


def test_a_chunked_body_over_the_cap_is_413_not_truncated(anonymous: Any, ctx: Any) -> None:
    # No Content-Length: werkzeug alone would cut the stream at the cap and parse the rest.
    big = json.dumps({"username": "nobody", "factorType": "SMS", "relayState": "r" * LIMIT})
    r = anonymous.post(
        "/api/v1/authn/recovery/password",
        input_stream=io.BytesIO(big.encode()),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    _assert_okta_413(r)
    assert _authn_keys(ctx) == []


def test_a_chunked_body_under_the_cap_is_read_whole(anonymous: Any, make_user: Any) -> None:
    make_user()
    body = json.dumps({"username": LOGIN, "password": PASSWORD}).encode()
    r = anonymous.post(
        "/api/v1/authn",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "SUCCESS"


def test_a_body_at_the_cap_is_not_refused_for_its_size(api: Any) -> None:
    body = b'{"profile": {"login": "' + b"a" * (LIMIT - 40) + b'"}}'
    assert len(body) <= LIMIT
    r = api.post("/api/v1/users", data=body, content_type="application/json")
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000001"  # the profile rules


def test_the_workos_api_answers_413_in_its_own_shape(app: Any) -> None:
    r = app.test_client().post(
        "/auth/factors/enroll",
        data=OVER,
        content_type="application/json",
        headers={"Authorization": "Bearer sk_whatever"},
    )
    assert r.status_code == 413
    assert r.get_json() == {
        "code": "request_entity_too_large",
        "message": f"The request body cannot exceed {LIMIT} bytes.",
    }


def test_the_cap_is_a_setting(tmp_path: Any, clock: Any) -> None:
    from app import create_app
    from app.store import migrations
    from tests.conftest import settings_for

    application = create_app(settings_for(tmp_path, request_body_max_bytes=64), clock=clock)
    migrations.upgrade(application.extensions["portcullis"].stores.database)
    client = application.test_client()
    r = client.post("/api/v1/authn", json={"username": "u" * 64, "password": "p"})
    assert r.status_code == 413
    assert r.get_json()["errorCauses"] == [
        {"errorSummary": "requestBody: The request body cannot exceed 64 bytes."}
    ]
    assert client.post("/api/v1/authn", json={"username": "u", "password": "p"}).status_code == 401


# ---- relayState and passwords ------------------------------------------------------------


def _assert_too_long(r: Any, field: str, limit: int) -> None:
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    assert body["errorSummary"] == f"Api validation failed: {field}"
    assert body["errorCauses"] == [
        {"errorSummary": f"{field}: The field cannot exceed {limit} characters."}
    ]


RELAY_LIMIT = 2048
PASSWORD_LIMIT = 256


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("", {"username": LOGIN, "password": PASSWORD}),
        ("", {"token": "an-activation-token"}),
        ("/recovery/password", {"username": "nobody@example.com", "factorType": "SMS"}),
        ("/recovery/unlock", {"username": "nobody@example.com", "factorType": "CALL"}),
        ("/recovery/token", {"recoveryToken": "whatever"}),
    ],
)
def test_a_relay_state_over_the_limit_is_refused(
    anonymous: Any, make_user: Any, ctx: Any, path: str, body: dict[str, Any]
) -> None:
    make_user()
    r = authn(anonymous, path, relayState="r" * (RELAY_LIMIT + 1), **body)
    _assert_too_long(r, "relayState", RELAY_LIMIT)
    assert _authn_keys(ctx) == []  # nothing stored, not even a decoy


def test_a_relay_state_at_the_limit_is_kept(anonymous: Any, make_user: Any) -> None:
    make_user()
    relay = "/" + "r" * (RELAY_LIMIT - 1)
    r = authn(anonymous, username=LOGIN, password=PASSWORD, relayState=relay)
    assert r.status_code == 200 and r.get_json()["relayState"] == relay


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"username": "nobody@example.com"}, "password"),
        ("", {"username": LOGIN}, "password"),
        ("/credentials/change_password", {"stateToken": "x", "oldPassword": "o"}, "newPassword"),
        ("/credentials/change_password", {"stateToken": "x", "newPassword": "n"}, "oldPassword"),
        ("/credentials/reset_password", {"stateToken": "x"}, "newPassword"),
    ],
)
def test_a_password_over_the_limit_is_refused_by_authn(
    anonymous: Any, make_user: Any, path: str, body: dict[str, Any], field: str
) -> None:
    make_user()
    r = authn(anonymous, path, **{field: "P4ss-" + "w" * PASSWORD_LIMIT}, **body)
    _assert_too_long(r, field, PASSWORD_LIMIT)


def test_an_over_long_password_does_not_count_towards_lockout(
    anonymous: Any, make_user: Any
) -> None:
    make_user()
    for _ in range(12):
        r = authn(anonymous, username=LOGIN, password="x" * (PASSWORD_LIMIT + 1))
        assert r.status_code == 400
    assert authn(anonymous, username=LOGIN, password=PASSWORD).get_json()["status"] == "SUCCESS"


def test_a_password_over_the_limit_is_refused_by_the_users_api(api: Any, make_user: Any) -> None:
    long = "P4ss-" + "w" * PASSWORD_LIMIT
    new_user = {"login": "a@x.io", "email": "a@x.io", "firstName": "A", "lastName": "B"}
    create = {"profile": new_user, "credentials": {"password": {"value": long}}}
    r = api.post("/api/v1/users", json=create)
    _assert_too_long(r, "credentials.password.value", PASSWORD_LIMIT)
    user = make_user()
    base = f"/api/v1/users/{user['id']}"
    r = api.post(base, json={"credentials": {"password": {"value": long}}})
    _assert_too_long(r, "credentials.password.value", PASSWORD_LIMIT)
    r = api.post(
        f"{base}/credentials/change_password",
        json={"oldPassword": {"value": PASSWORD}, "newPassword": {"value": long}},
    )
    _assert_too_long(r, "newPassword.value", PASSWORD_LIMIT)
    r = api.post(
        f"{base}/credentials/forgot_password",
        json={"password": {"value": long}, "recovery_question": {"answer": "a"}},
    )
    _assert_too_long(r, "password.value", PASSWORD_LIMIT)
    r = api.post(
        f"{base}/credentials/change_recovery_question",
        json={"password": {"value": long}, "recovery_question": {"question": "q", "answer": "a"}},
    )
    _assert_too_long(r, "password.value", PASSWORD_LIMIT)


def test_the_field_limits_are_settings(tmp_path: Any, clock: Any) -> None:
    from app import create_app
    from app.store import migrations
    from tests.conftest import settings_for

    settings = settings_for(tmp_path, relay_state_max_length=4, password_max_length=8)
    application = create_app(settings, clock=clock)
    migrations.upgrade(application.extensions["portcullis"].stores.database)
    client = application.test_client()
    r = client.post("/api/v1/authn", json={"username": "u", "password": "p", "relayState": "/abcd"})
    _assert_too_long(r, "relayState", 4)
    r = client.post("/api/v1/authn", json={"username": "u", "password": "123456789"})
    _assert_too_long(r, "password", 8)


# ---- the decoy transaction ---------------------------------------------------------------


def test_a_decoy_costs_no_more_redis_memory_than_a_real_recovery(
    anonymous: Any,
    api: Any,
    make_user: Any,
    outbox: Any,
    clock: Any,
    ctx: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = Policy()
    monkeypatch.setattr(authn_service, "effective_for", lambda ctx, uow, user: policy.value)
    user = make_user()
    enroll_active(api, user, "sms", outbox, phoneNumber=PHONE)
    _recovery_policy(policy)
    clock.advance(seconds=31)
    relay = "/" + "r" * (RELAY_LIMIT - 1)  # the most anyone may store
    redis = ctx.stores.redis

    def memory(key: str) -> int | None:
        try:  # real Redis; fakeredis has no MEMORY command
            return int(redis.memory_usage(key) or 0)
        except ResponseError:
            return None

    def stored_after(username: str) -> tuple[int, int | None]:
        before = set(_authn_keys(ctx))
        r = authn(
            anonymous, "/recovery/password", username=username, factorType="SMS", relayState=relay
        )
        assert r.status_code == 200 and r.get_json()["status"] == "RECOVERY_CHALLENGE"
        (key,) = set(_authn_keys(ctx)) - before
        return len(redis.get(key)), memory(key)

    real_bytes, real_memory = stored_after(LOGIN)
    decoy_bytes, decoy_memory = stored_after("nobody@example.com")
    assert outbox.messages(to=E164)  # the real one sent a code: it was a real transaction
    assert decoy_bytes <= real_bytes
    if real_memory is not None:
        assert decoy_memory is not None and decoy_memory <= real_memory
    # bounded by the limit: the relayState and a few hundred bytes of bookkeeping
    assert real_bytes < RELAY_LIMIT + 1024
