"""POST/PUT /api/v1/users/{id} and DELETE."""

from __future__ import annotations

from typing import Any

from tests.conftest import profile


def test_partial_update_changes_only_what_is_given(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user(nickName="Zac")
    clock.advance(minutes=5)
    r = api.post(f"/api/v1/users/{user['id']}", json={"profile": {"firstName": "Isaac"}})
    assert r.status_code == 200
    updated = r.get_json()
    assert updated["profile"]["firstName"] == "Isaac"
    assert updated["profile"]["nickName"] == "Zac"
    assert updated["lastUpdated"] == "2026-01-15T09:35:00.000Z"
    assert updated["created"] == user["created"]


def test_full_update_replaces_the_profile(api: Any, make_user: Any) -> None:
    user = make_user(nickName="Zac")
    new = profile("isaac.brock@example.com", firstName="Isaac")
    r = api.put(f"/api/v1/users/{user['id']}", json={"profile": new})
    assert r.status_code == 200
    # nickName is gone; unset mobilePhone and secondEmail show as null, as in Okta.
    assert r.get_json()["profile"] == {"mobilePhone": None, "secondEmail": None, **new}


def test_full_update_without_required_attributes_fails_whole(api: Any, make_user: Any) -> None:
    user = make_user(nickName="Zac")
    r = api.put(
        f"/api/v1/users/{user['id']}", json={"profile": {"login": user["profile"]["login"]}}
    )
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["profile"]["nickName"] == "Zac"


def test_update_to_a_taken_login_is_rejected(api: Any, make_user: Any) -> None:
    make_user("taken@example.com")
    user = make_user("free@example.com")
    r = api.post(f"/api/v1/users/{user['id']}", json={"profile": {"login": "TAKEN@example.com"}})
    assert r.status_code == 400
    assert "already exists" in r.get_json()["errorCauses"][0]["errorSummary"]


def test_admin_can_set_a_password(api: Any, make_user: Any) -> None:
    user = make_user(password=None, activate=False)
    r = api.post(
        f"/api/v1/users/{user['id']}",
        json={"credentials": {"password": {"value": "An0ther-Secret"}}},
    )
    assert r.status_code == 200
    assert r.get_json()["credentials"]["password"] == {}


def test_update_unknown_user_is_404(api: Any) -> None:
    r = api.post("/api/v1/users/00unknown", json={"profile": {"firstName": "X"}})
    assert r.status_code == 404


def test_first_delete_deactivates_second_deletes(api: Any, make_user: Any) -> None:
    user = make_user()
    r = api.delete(f"/api/v1/users/{user['id']}")
    assert r.status_code == 204
    assert r.get_data() == b""
    assert api.get(f"/api/v1/users/{user['id']}").get_json()["status"] == "DEPROVISIONED"
    assert api.delete(f"/api/v1/users/{user['id']}").status_code == 204
    gone = api.get(f"/api/v1/users/{user['id']}")
    assert gone.status_code == 404 and gone.get_json()["errorCode"] == "E0000007"
    # the login is free again
    assert make_user()["profile"]["login"] == user["profile"]["login"]


def test_delete_unknown_user_is_404(api: Any) -> None:
    assert api.delete("/api/v1/users/00unknown").status_code == 404
