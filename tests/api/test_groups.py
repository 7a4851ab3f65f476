"""/api/v1/groups: groups, membership and the built-in Everyone group."""

from __future__ import annotations

from typing import Any

import pytest


def _group(api: Any, name: str = "West Coast Users", **profile: Any) -> dict[str, Any]:
    r = api.post("/api/v1/groups", json={"profile": {"name": name, **profile}})
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def test_create_and_get(api: Any) -> None:
    group = _group(api, description="Users on the west coast")
    assert group["id"].startswith("00g") and len(group["id"]) == 20
    assert group["type"] == "OKTA_GROUP"
    assert group["objectClass"] == ["okta:user_group"]
    assert group["profile"] == {
        "name": "West Coast Users",
        "description": "Users on the west coast",
    }
    assert group["_links"]["users"]["href"] == (
        f"http://portcullis.test/api/v1/groups/{group['id']}/users"
    )
    assert api.get(f"/api/v1/groups/{group['id']}").get_json() == group


def test_everyone_is_built_in_and_protected(api: Any, make_user: Any) -> None:
    (everyone,) = api.get("/api/v1/groups?q=Every").get_json()
    assert everyone["type"] == "BUILT_IN" and everyone["profile"]["name"] == "Everyone"
    user = make_user()
    for response in (
        api.put(f"/api/v1/groups/{everyone['id']}", json={"profile": {"name": "All"}}),
        api.delete(f"/api/v1/groups/{everyone['id']}"),
        api.delete(f"/api/v1/groups/{everyone['id']}/users/{user['id']}"),
    ):
        assert response.status_code == 403
        assert response.get_json()["errorCode"] == "E0000006"
    members = api.get(f"/api/v1/groups/{everyone['id']}/users").get_json()
    assert [m["id"] for m in members] == [user["id"]]


def test_duplicate_and_missing_names(api: Any) -> None:
    _group(api, "Engineering")
    dup = api.post("/api/v1/groups", json={"profile": {"name": "engineering"}})
    assert dup.status_code == 400 and dup.get_json()["errorCode"] == "E0000001"
    for body in ({"profile": {}}, {"profile": {"name": ""}}, {"profile": "x"}, {}):
        r = api.post("/api/v1/groups", json=body)
        assert r.status_code == 400, body
        assert r.get_json()["errorCode"] == "E0000001"


def test_list_with_q_limit_and_cursor(api: Any) -> None:
    for name in ("Alpha", "Alps", "Beta"):
        _group(api, name)
    names = [g["profile"]["name"] for g in api.get("/api/v1/groups?q=al").get_json()]
    assert names == ["Alpha", "Alps"]
    first = api.get("/api/v1/groups?limit=2")
    assert [g["profile"]["name"] for g in first.get_json()] == ["Everyone", "Alpha"]
    assert 'rel="next"' in ", ".join(first.headers.getlist("Link"))
    filtered = api.get("/api/v1/groups", query_string={"filter": 'type eq "OKTA_GROUP"'})
    assert len(filtered.get_json()) == 3


def test_update_replaces_profile(api: Any) -> None:
    group = _group(api, description="old")
    r = api.put(f"/api/v1/groups/{group['id']}", json={"profile": {"name": "Renamed"}})
    assert r.status_code == 200
    assert r.get_json()["profile"] == {"name": "Renamed"}


def test_membership(api: Any, make_user: Any, clock: Any) -> None:
    group = _group(api)
    user = make_user()
    clock.advance(minutes=1)
    r = api.put(f"/api/v1/groups/{group['id']}/users/{user['id']}")
    assert r.status_code == 204 and r.get_data() == b""
    # adding twice is harmless
    assert api.put(f"/api/v1/groups/{group['id']}/users/{user['id']}").status_code == 204
    members = api.get(f"/api/v1/groups/{group['id']}/users").get_json()
    assert [m["id"] for m in members] == [user["id"]]
    refreshed = api.get(f"/api/v1/groups/{group['id']}").get_json()
    assert refreshed["lastMembershipUpdated"] == "2026-01-15T09:31:00.000Z"
    names = {g["profile"]["name"] for g in api.get(f"/api/v1/users/{user['id']}/groups").get_json()}
    assert names == {"Everyone", "West Coast Users"}
    assert api.delete(f"/api/v1/groups/{group['id']}/users/{user['id']}").status_code == 204
    assert api.get(f"/api/v1/groups/{group['id']}/users").get_json() == []


def test_membership_pagination(api: Any, make_user: Any) -> None:
    group = _group(api)
    users = [make_user(f"m{i}@example.com")["id"] for i in range(3)]
    for uid in users:
        api.put(f"/api/v1/groups/{group['id']}/users/{uid}")
    first = api.get(f"/api/v1/groups/{group['id']}/users?limit=2")
    assert [u["id"] for u in first.get_json()] == users[:2]
    next_url = (
        ", ".join(first.headers.getlist("Link"))
        .split("<")[2]
        .split(">")[0]
        .replace("http://portcullis.test", "")
    )
    assert [u["id"] for u in api.get(next_url).get_json()] == users[2:]


def test_deleting_a_group_keeps_its_users(api: Any, make_user: Any) -> None:
    group = _group(api)
    user = make_user()
    api.put(f"/api/v1/groups/{group['id']}/users/{user['id']}")
    assert api.delete(f"/api/v1/groups/{group['id']}").status_code == 204
    assert api.get(f"/api/v1/groups/{group['id']}").status_code == 404
    assert api.get(f"/api/v1/users/{user['id']}").status_code == 200


def test_deleting_a_user_removes_memberships(api: Any, make_user: Any) -> None:
    group = _group(api)
    user = make_user()
    api.put(f"/api/v1/groups/{group['id']}/users/{user['id']}")
    api.delete(f"/api/v1/users/{user['id']}")
    api.delete(f"/api/v1/users/{user['id']}")
    assert api.get(f"/api/v1/groups/{group['id']}/users").get_json() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/groups/00gnope"),
        ("PUT", "/api/v1/groups/00gnope/users/00unope"),
        ("DELETE", "/api/v1/groups/00gnope"),
        ("GET", "/api/v1/groups/00gnope/users"),
        ("GET", "/api/v1/users/00unope/groups"),
    ],
)
def test_unknown_ids_are_404(api: Any, method: str, path: str) -> None:
    r = api.request(method, path)
    assert r.status_code == 404
    assert r.get_json()["errorCode"] == "E0000007"


def test_adding_an_unknown_user_is_404(api: Any) -> None:
    group = _group(api)
    r = api.put(f"/api/v1/groups/{group['id']}/users/00unope")
    assert r.status_code == 404
    assert "(User)" in r.get_json()["errorSummary"]


def test_membership_stamp_follows_every_change(api: Any, clock: Any) -> None:
    group = _group(api)
    clock.advance(minutes=1)
    user = api.post(
        "/api/v1/users",
        json={
            "profile": {
                "login": "g@example.com",
                "email": "g@example.com",
                "firstName": "G",
                "lastName": "H",
            },
            "groupIds": [group["id"]],
        },
    ).get_json()
    stamp = api.get(f"/api/v1/groups/{group['id']}").get_json()["lastMembershipUpdated"]
    assert stamp == "2026-01-15T09:31:00.000Z"
    clock.advance(minutes=1)
    api.delete(f"/api/v1/users/{user['id']}")
    api.delete(f"/api/v1/users/{user['id']}")
    stamp = api.get(f"/api/v1/groups/{group['id']}").get_json()["lastMembershipUpdated"]
    assert stamp == "2026-01-15T09:32:00.000Z"
