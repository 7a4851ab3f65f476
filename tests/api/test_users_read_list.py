"""GET /api/v1/users/{id} and GET /api/v1/users: lookup, q, filter, search, pagination."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest


def test_get_by_id_login_and_shortname(api: Any, make_user: Any) -> None:
    user = make_user("jeff.beck@example.com")
    for key in (user["id"], "jeff.beck@example.com", "JEFF.BECK@example.com", "jeff.beck"):
        r = api.get(f"/api/v1/users/{key}")
        assert r.status_code == 200, key
        assert r.get_json()["id"] == user["id"]


def test_ambiguous_shortname_is_not_found(api: Any, make_user: Any) -> None:
    make_user("jeff@example.com")
    make_user("jeff@example.org")
    r = api.get("/api/v1/users/jeff")
    assert r.status_code == 404


def test_unknown_user_is_404_e0000007(api: Any) -> None:
    r = api.get("/api/v1/users/00unope")
    assert r.status_code == 404
    assert r.get_json()["errorCode"] == "E0000007"
    assert r.get_json()["errorSummary"] == "Not found: Resource not found: 00unope (User)"


def _next(response: Any) -> str | None:
    match = re.search(r'<([^>]+)>; rel="next"', ", ".join(response.headers.getlist("Link")))
    if not match:
        return None
    url = urlparse(match.group(1))
    return f"{url.path}?{url.query}"


def test_pagination_follows_link_next_while_users_are_added(api: Any, make_user: Any) -> None:
    created = [make_user(f"user{i}@example.com")["id"] for i in range(5)]
    first = api.get("/api/v1/users?limit=2")
    assert first.status_code == 200
    assert '<http://portcullis.test/api/v1/users?limit=2>; rel="self"' in ", ".join(
        first.headers.getlist("Link")
    )
    seen = [u["id"] for u in first.get_json()]
    # Users added mid-walk appear at the end, never shift what is still unseen.
    created.append(make_user("late@example.com")["id"])
    url = _next(first)
    while url:
        assert parse_qs(urlparse(url).query)["limit"] == ["2"]
        page = api.get(url)
        assert page.status_code == 200
        seen += [u["id"] for u in page.get_json()]
        url = _next(page)
    assert seen == created


def test_last_page_has_no_next(api: Any, make_user: Any) -> None:
    make_user("a@example.com")
    r = api.get("/api/v1/users?limit=1")
    assert 'rel="next"' not in ", ".join(r.headers.getlist("Link"))


@pytest.mark.parametrize("after", ["abc", "-1"])
def test_bad_cursor_is_400(api: Any, after: str) -> None:
    r = api.get(f"/api/v1/users?after={after}")
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"


def test_limit_must_be_positive(api: Any) -> None:
    assert api.get("/api/v1/users?limit=0").status_code == 400
    assert api.get("/api/v1/users?limit=ten").status_code == 400


def test_q_matches_name_and_email_prefixes(api: Any, make_user: Any) -> None:
    make_user("jeff.beck@example.com")
    make_user("ada.lovelace@example.com")
    found = [u["profile"]["login"] for u in api.get("/api/v1/users?q=ada").get_json()]
    assert found == ["ada.lovelace@example.com"]
    found = [u["profile"]["login"] for u in api.get("/api/v1/users?q=Brock").get_json()]
    assert sorted(found) == ["ada.lovelace@example.com", "jeff.beck@example.com"]


def test_filters(api: Any, make_user: Any, clock: Any) -> None:
    jeff = make_user("jeff.beck@example.com")
    clock.advance(days=1)
    ada = make_user("ada.lovelace@example.com")
    staged = make_user("staged@example.com", password=None, activate=False)

    def ids(expression: str) -> list[str]:
        r = api.get("/api/v1/users", query_string={"filter": expression})
        assert r.status_code == 200, r.get_json()
        return [u["id"] for u in r.get_json()]

    assert ids('status eq "STAGED"') == [staged["id"]]
    assert ids('status eq "ACTIVE"') == [jeff["id"], ada["id"]]
    assert ids('lastUpdated gt "2026-01-15T12:00:00.000Z"') == [ada["id"], staged["id"]]
    assert ids('profile.login eq "JEFF.BECK@example.com"') == [jeff["id"]]
    assert ids('status eq "ACTIVE" and (profile.firstName eq "Ada" or id eq "nobody")') == [
        ada["id"]
    ]
    r = api.get("/api/v1/users", query_string={"search": 'profile.email sw "ada"'})
    assert [u["id"] for u in r.get_json()] == [ada["id"]]


@pytest.mark.parametrize(
    "expression",
    [
        "status eq",
        'status equals "ACTIVE"',
        'password eq "x"',
        '(status eq "ACTIVE"',
        'lastUpdated gt "yesterday"',
        'status eq "A" junk',
    ],
)
def test_bad_filters_are_400(api: Any, expression: str) -> None:
    r = api.get("/api/v1/users", query_string={"filter": expression})
    assert r.status_code == 400, expression
    assert r.get_json()["errorCode"] == "E0000001"
    assert r.get_json()["errorCauses"][0]["errorSummary"].startswith("filter:")


def test_number_and_boolean_filters_on_custom_attributes(api: Any, make_user: Any) -> None:
    five = make_user("five@example.com", level=5, vip=True)
    make_user("ten@example.com", level=10, vip=False)
    make_user("odd@example.com", level="high", vip="yes")  # other types never break a query

    def ids(expression: str) -> list[str]:
        r = api.get("/api/v1/users", query_string={"search": expression})
        assert r.status_code == 200, r.get_json()
        return [u["profile"]["login"] for u in r.get_json()]

    assert ids("profile.level eq 5") == ["five@example.com"]
    assert ids("profile.level lt 7") == ["five@example.com"]
    assert ids("profile.level ge 5") == ["five@example.com", "ten@example.com"]
    assert ids("profile.vip eq true") == ["five@example.com"]
    assert ids('profile.level eq "high"') == ["odd@example.com"]
    assert five["profile"]["level"] == 5


def test_an_error_names_the_parameter_it_came_from(api: Any) -> None:
    r = api.get(
        "/api/v1/users", query_string={"filter": 'status eq "ACTIVE"', "search": 'bogus eq "x"'}
    )
    assert r.get_json()["errorCauses"][0]["errorSummary"].startswith("search:")
    r = api.get(
        "/api/v1/users", query_string={"filter": 'bogus eq "x"', "search": 'status eq "ACTIVE"'}
    )
    assert r.get_json()["errorCauses"][0]["errorSummary"].startswith("filter:")


def test_link_header_shows_the_limit_applied(api: Any, make_user: Any) -> None:
    make_user()
    r = api.get("/api/v1/users?limit=5000")
    assert "limit=200" in ", ".join(r.headers.getlist("Link"))


def test_deprovisioned_users_only_through_filter_or_search(api: Any, make_user: Any) -> None:
    kept = make_user("kept@example.com")
    gone = make_user("gone@example.com")
    api.post(f"/api/v1/users/{gone['id']}/lifecycle/deactivate")
    assert [u["id"] for u in api.get("/api/v1/users").get_json()] == [kept["id"]]
    assert api.get("/api/v1/users?q=gone").get_json() == []
    r = api.get("/api/v1/users", query_string={"filter": 'status eq "DEPROVISIONED"'})
    assert [u["id"] for u in r.get_json()] == [gone["id"]]


def test_listings_show_only_self_links_and_one_link_header_per_relation(
    api: Any, make_user: Any
) -> None:
    make_user("a@example.com")
    make_user("b@example.com")
    r = api.get("/api/v1/users?limit=1")
    (user,) = r.get_json()
    assert set(user["_links"]) == {"self"}
    links = r.headers.getlist("Link")
    assert links == [
        '<http://portcullis.test/api/v1/users?limit=1>; rel="self"',
        f'<http://portcullis.test/api/v1/users?limit=1&after={user_seq(links)}>; rel="next"',
    ]


def user_seq(links: list[str]) -> str:
    return re.search(r"after=([^&>]+)", links[1]).group(1)  # type: ignore[union-attr]
