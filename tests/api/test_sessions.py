"""/api/v1/sessions: sessions created from a sessionToken, by id and by cookie."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.domain.policy import EffectivePolicy, SignOnSettings
from app.services import sessions as session_service
from app.services.authn import transaction as authn_service
from tests.conftest import PASSWORD

LOGIN = "isaac.brock@example.com"
BASE = "http://portcullis.test/api/v1"


def session_token(client: Any, login: str = LOGIN) -> str:
    r = client.post("/api/v1/authn", json={"username": login, "password": PASSWORD})
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    return str(r.get_json()["sessionToken"])


@pytest.fixture
def sign_on(monkeypatch: pytest.MonkeyPatch) -> dict[str, EffectivePolicy]:
    holder = {"policy": EffectivePolicy()}
    monkeypatch.setattr(authn_service, "effective_for", lambda ctx, uow, user: holder["policy"])
    return holder


def test_create_session_from_a_session_token(
    api: Any, anonymous: Any, make_user: Any, clock: Any
) -> None:
    user = make_user()
    token = session_token(anonymous)
    r = api.post("/api/v1/sessions", json={"sessionToken": token})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["id"].startswith("102") and len(body["id"]) >= 25
    assert body["userId"] == user["id"]
    assert body["login"] == LOGIN
    assert body["status"] == "ACTIVE"
    assert body["createdAt"] == "2026-01-15T09:30:00.000Z"
    assert body["expiresAt"] == "2026-01-15T11:30:00.000Z"  # default idle: 120 minutes
    assert body["lastPasswordVerification"] == "2026-01-15T09:30:00.000Z"
    assert body["lastFactorVerification"] is None
    assert body["amr"] == ["pwd"]
    assert body["idp"]["type"] == "OKTA" and body["idp"]["id"].startswith("00o")
    assert body["mfaActive"] is False
    assert body["_links"] == {
        "self": {"href": f"{BASE}/sessions/{body['id']}", "hints": {"allow": ["GET", "DELETE"]}},
        "refresh": {
            "href": f"{BASE}/sessions/{body['id']}/lifecycle/refresh",
            "hints": {"allow": ["POST"]},
        },
        "user": {
            "name": "Isaac Brock",
            "href": f"{BASE}/users/{user['id']}",
            "hints": {"allow": ["GET"]},
        },
    }
    # One-time: the same token again is refused.
    again = api.post("/api/v1/sessions", json={"sessionToken": token})
    assert again.status_code == 403 and again.get_json()["errorCode"] == "E0000005"
    assert api.get(f"/api/v1/sessions/{body['id']}").get_json()["id"] == body["id"]


@pytest.mark.parametrize("token", ["", "20111nope", None])
def test_bad_session_tokens_are_refused(api: Any, token: Any) -> None:
    r = api.post("/api/v1/sessions", json={"sessionToken": token})
    assert r.status_code in (400, 403)
    assert r.get_json()["errorCode"] in ("E0000001", "E0000005")


def test_an_expired_session_token_is_refused(
    api: Any, anonymous: Any, make_user: Any, clock: Any
) -> None:
    make_user()
    token = session_token(anonymous)
    clock.advance(minutes=6)  # SESSION_TOKEN_TTL is five minutes
    r = api.post("/api/v1/sessions", json={"sessionToken": token})
    # Redis's TTL is real time; the grant's own expiry is checked against the app clock.
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000005"


def test_sessions_api_needs_a_token(anonymous: Any) -> None:
    r = anonymous.get("/api/v1/sessions/102abc")
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"


def test_refresh_extends_idle_only_until_the_absolute_lifetime(
    api: Any, anonymous: Any, make_user: Any, clock: Any, sign_on: dict[str, Any]
) -> None:
    make_user()
    sign_on["policy"] = replace(
        EffectivePolicy(),
        sign_on=SignOnSettings(max_session_idle_minutes=30, max_session_lifetime_minutes=60),
    )
    body = api.post("/api/v1/sessions", json={"sessionToken": session_token(anonymous)}).get_json()
    sid = body["id"]
    assert body["expiresAt"] == "2026-01-15T10:00:00.000Z"
    clock.advance(minutes=20)
    refreshed = api.post(f"/api/v1/sessions/{sid}/lifecycle/refresh").get_json()
    assert refreshed["expiresAt"] == "2026-01-15T10:20:00.000Z"
    clock.advance(minutes=25)
    capped = api.post(f"/api/v1/sessions/{sid}/lifecycle/refresh").get_json()
    assert capped["expiresAt"] == "2026-01-15T10:30:00.000Z"  # created + 60 minutes
    clock.advance(minutes=16)
    gone = api.get(f"/api/v1/sessions/{sid}")
    assert gone.status_code == 404 and gone.get_json()["errorCode"] == "E0000007"


def test_idle_session_expires(api: Any, anonymous: Any, make_user: Any, clock: Any) -> None:
    make_user()
    sid = api.post("/api/v1/sessions", json={"sessionToken": session_token(anonymous)}).get_json()[
        "id"
    ]
    clock.advance(minutes=119)
    assert api.get(f"/api/v1/sessions/{sid}").status_code == 200
    clock.advance(minutes=2)
    assert api.get(f"/api/v1/sessions/{sid}").status_code == 404


def test_delete_session_and_revoke_all(api: Any, anonymous: Any, make_user: Any) -> None:
    user = make_user()
    other = make_user("other@example.com")
    ids = [
        api.post("/api/v1/sessions", json={"sessionToken": session_token(anonymous)}).get_json()[
            "id"
        ]
        for _ in range(3)
    ]
    keep = api.post(
        "/api/v1/sessions", json={"sessionToken": session_token(anonymous, "other@example.com")}
    ).get_json()["id"]
    assert api.delete(f"/api/v1/sessions/{ids[0]}").status_code == 204
    assert api.get(f"/api/v1/sessions/{ids[0]}").status_code == 404
    assert api.delete(f"/api/v1/sessions/{ids[0]}").status_code == 404
    assert api.delete(f"/api/v1/users/{user['id']}/sessions").status_code == 204
    for sid in ids:
        assert api.get(f"/api/v1/sessions/{sid}").status_code == 404
    assert api.get(f"/api/v1/sessions/{keep}").status_code == 200
    assert api.delete("/api/v1/users/00uNOPE/sessions").status_code == 404
    assert other["id"]


def test_me_by_cookie(anonymous: Any, make_user: Any, ctx: Any, app: Any) -> None:
    make_user()
    browser = app.test_client()
    none = browser.get("/api/v1/sessions/me")
    assert none.status_code == 404 and none.get_json()["errorCode"] == "E0000007"
    with app.app_context():
        session = session_service.create(ctx, session_token(anonymous))
    browser.set_cookie("sid", session.cookie, domain="localhost")
    r = browser.get("/api/v1/sessions/me")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["id"] == session.id
    assert body["_links"]["self"]["href"] == f"{BASE}/sessions/me"
    assert body["_links"]["refresh"]["href"] == f"{BASE}/sessions/me/lifecycle/refresh"
    assert browser.post("/api/v1/sessions/me/lifecycle/refresh").status_code == 200
    out = browser.delete("/api/v1/sessions/me")
    assert out.status_code == 204
    assert "sid=;" in out.headers["Set-Cookie"]
    browser.set_cookie("sid", session.cookie, domain="localhost")
    assert browser.get("/api/v1/sessions/me").status_code == 404
    # The cookie value is stored only hashed.
    assert not any(session.cookie in k for k in ctx.stores.redis.keys("*"))


def test_amr_reflects_what_was_verified(
    api: Any, anonymous: Any, make_user: Any, sign_on: dict[str, Any]
) -> None:
    user = make_user()
    r = api.post(
        f"/api/v1/users/{user['id']}/factors",
        json={
            "factorType": "question",
            "profile": {"question": "name_of_first_plush_toy", "answer": "Mr Bunny Rabbit"},
        },
    )
    factor = r.get_json()
    sign_on["policy"] = EffectivePolicy(sign_on=SignOnSettings(require_factor=True))
    token = anonymous.post(
        "/api/v1/authn", json={"username": LOGIN, "password": PASSWORD}
    ).get_json()["stateToken"]
    done = anonymous.post(
        f"/api/v1/authn/factors/{factor['id']}/verify",
        json={"stateToken": token, "answer": "Mr Bunny Rabbit"},
    ).get_json()
    body = api.post("/api/v1/sessions", json={"sessionToken": done["sessionToken"]}).get_json()
    assert body["amr"] == ["pwd", "kba", "mfa"]
    assert body["mfaActive"] is True
    assert body["lastFactorVerification"] == "2026-01-15T09:30:00.000Z"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/credentials/change_password",
            {"oldPassword": {"value": PASSWORD}, "newPassword": {"value": "Another-Passw0rd"}},
        ),
        ("POST", "/lifecycle/reset_password?sendEmail=false", None),
        ("POST", "/lifecycle/suspend", None),
        ("POST", "/lifecycle/deactivate", None),
        ("POST", "/lifecycle/reset_factors", None),
        ("POST", "", {"credentials": {"password": {"value": "Another-Passw0rd"}}}),
    ],
)
def test_credential_and_status_changes_end_every_session(
    api: Any, anonymous: Any, make_user: Any, method: str, path: str, body: Any
) -> None:
    user = make_user()
    sid = api.post("/api/v1/sessions", json={"sessionToken": session_token(anonymous)}).get_json()[
        "id"
    ]
    r = api.request(method, f"/api/v1/users/{user['id']}{path}", json=body)
    assert r.status_code in (200, 204), r.get_json()
    assert api.get(f"/api/v1/sessions/{sid}").status_code == 404


def test_changing_the_profile_keeps_sessions(api: Any, anonymous: Any, make_user: Any) -> None:
    user = make_user()
    sid = api.post("/api/v1/sessions", json={"sessionToken": session_token(anonymous)}).get_json()[
        "id"
    ]
    api.post(f"/api/v1/users/{user['id']}", json={"profile": {"nickName": "Ike"}})
    assert api.get(f"/api/v1/sessions/{sid}").status_code == 200
