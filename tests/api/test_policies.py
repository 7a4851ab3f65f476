"""/api/v1/policies: Okta's Policy API, and the policies taking effect.

The default policies come from the migration; the tests create groups,
policies and rules over HTTP, then check that password changes and sign-in
follow the policy that applies to each user.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.services import policies
from tests.conftest import PASSWORD

BASE = "http://portcullis.test/api/v1/policies"
TYPES = ("PASSWORD", "MFA_ENROLL", "OKTA_SIGN_ON")


# ---- helpers ----------------------------------------------------------------------------


def everyone_id(api: Any) -> str:
    (everyone,) = api.get("/api/v1/groups?q=Everyone").get_json()
    return str(everyone["id"])


def make_group(api: Any, name: str, *members: dict[str, Any]) -> str:
    r = api.post("/api/v1/groups", json={"profile": {"name": name}})
    assert r.status_code == 200, r.get_json()
    group_id = str(r.get_json()["id"])
    for user in members:
        assert api.put(f"/api/v1/groups/{group_id}/users/{user['id']}").status_code == 204
    return group_id


def default_policy(api: Any, kind: str) -> dict[str, Any]:
    (policy,) = [p for p in api.get(f"/api/v1/policies?type={kind}").get_json() if p["system"]]
    return dict(policy)


def create_policy(api: Any, kind: str = "PASSWORD", query: str = "", **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"{kind} policy")
    r = api.post(f"/api/v1/policies{query}", json={"type": kind, **body})
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def for_groups(*group_ids: str) -> dict[str, Any]:
    return {"people": {"groups": {"include": list(group_ids)}}}


def create_rule(api: Any, policy_id: str, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Rule")
    r = api.post(f"/api/v1/policies/{policy_id}/rules", json=body)
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def names_by_priority(api: Any, kind: str) -> list[tuple[int, str]]:
    return [(p["priority"], p["name"]) for p in api.get(f"/api/v1/policies?type={kind}").get_json()]


def strict_password_settings(min_length: int = 14, **complexity: Any) -> dict[str, Any]:
    return {
        "password": {
            "complexity": {"minLength": min_length, "minSymbol": 1, **complexity},
            "age": {"historyCount": 0},
        }
    }


def change_password(api: Any, user_id: str, old: str, new: str) -> Any:
    return api.post(
        f"/api/v1/users/{user_id}/credentials/change_password",
        json={"oldPassword": {"value": old}, "newPassword": {"value": new}},
    )


def active_question(api: Any, user: dict[str, Any]) -> dict[str, Any]:
    """An active security question for ``user``: a factor a sign-on rule can ask for."""
    r = api.post(
        f"/api/v1/users/{user['id']}/factors?activate=true",
        json={
            "factorType": "question",
            "provider": "OKTA",
            "profile": {"question": "name_of_first_plush_toy", "answer": "Mr Bunny Rabbit"},
        },
    )
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def causes(response: Any) -> list[str]:
    return [c["errorSummary"] for c in response.get_json()["errorCauses"]]


# ---- the default policies ------------------------------------------------------------------


def test_default_password_policy_as_in_okta(api: Any) -> None:
    policy = default_policy(api, "PASSWORD")
    pid = policy["id"]
    assert pid.startswith("00p") and len(pid) == 20
    assert policy["type"] == "PASSWORD"
    assert policy["name"] == "Default Policy"
    assert (policy["status"], policy["priority"], policy["system"]) == ("ACTIVE", 1, True)
    assert policy["conditions"] == {"people": {"groups": {"include": [everyone_id(api)]}}}
    assert policy["settings"]["password"] == {
        "complexity": {
            "minLength": 8,
            "minLowerCase": 1,
            "minUpperCase": 1,
            "minNumber": 1,
            "minSymbol": 0,
            "excludeUsername": True,
            "excludeAttributes": [],
        },
        "age": {"maxAgeDays": 0, "expireWarnDays": 0, "minAgeMinutes": 0, "historyCount": 4},
        "lockout": {"maxAttempts": 10, "autoUnlockMinutes": None, "showLockoutFailures": False},
    }
    recovery = policy["settings"]["recovery"]["factors"]
    assert {k: v["status"] for k, v in recovery.items()} == {
        "okta_email": "ACTIVE",
        "recovery_question": "ACTIVE",
        "okta_sms": "INACTIVE",
        "okta_call": "INACTIVE",
    }
    # A system policy can be neither deleted nor deactivated: its links say so.
    assert policy["_links"] == {
        "self": {"href": f"{BASE}/{pid}", "hints": {"allow": ["GET", "PUT"]}},
        "rules": {"href": f"{BASE}/{pid}/rules", "hints": {"allow": ["GET", "POST"]}},
    }
    assert api.get(f"/api/v1/policies/{pid}").get_json() == policy
    (rule,) = api.get(f"/api/v1/policies/{pid}/rules").get_json()
    assert rule["id"].startswith("0pr") and len(rule["id"]) == 20
    assert (rule["name"], rule["type"], rule["system"], rule["priority"]) == (
        "Default Rule",
        "PASSWORD",
        True,
        1,
    )
    assert rule["conditions"] == {"network": {"connection": "ANYWHERE"}}
    assert rule["actions"] == {
        "passwordChange": {"access": "ALLOW"},
        "selfServicePasswordReset": {"access": "ALLOW"},
        "selfServiceUnlock": {"access": "DENY"},
    }
    assert rule["_links"] == {
        "self": {"href": f"{BASE}/{pid}/rules/{rule['id']}", "hints": {"allow": ["GET", "PUT"]}}
    }


def test_default_mfa_enroll_and_sign_on_policies(api: Any) -> None:
    enroll = default_policy(api, "MFA_ENROLL")
    factors = enroll["settings"]["factors"]
    assert sorted(factors) == sorted(
        ["google_otp", "okta_otp", "okta_sms", "okta_call", "okta_email", "okta_question"]
    )
    assert {f["enroll"]["self"] for f in factors.values()} == {"OPTIONAL"}
    sign_on = default_policy(api, "OKTA_SIGN_ON")
    (rule,) = api.get(f"/api/v1/policies/{sign_on['id']}/rules").get_json()
    assert rule["type"] == "SIGN_ON" and rule["name"] == "Default Rule"
    signon = rule["actions"]["signon"]
    assert (signon["access"], signon["requireFactor"]) == ("ALLOW", False)
    assert signon["session"]["maxSessionIdleMinutes"] == 120
    assert signon["session"]["maxSessionLifetimeMinutes"] == 0


def test_the_default_sign_on_rule_names_its_primary_factor_as_okta_does(api: Any) -> None:
    """Okta's enum is PASSWORD_IDP or PASSWORD_IDP_ANY_FACTOR: Okta's Python SDK
    refused to read the rule while it said PASSWORD."""
    sign_on = default_policy(api, "OKTA_SIGN_ON")
    (rule,) = api.get(f"/api/v1/policies/{sign_on['id']}/rules").get_json()
    assert rule["actions"]["signon"]["primaryFactor"] == "PASSWORD_IDP"


def test_migration_0006_rewrites_only_the_old_primary_factor(api: Any, ctx: Any) -> None:
    """A database migrated before 0006 keeps its rules; only PASSWORD changes."""
    import sqlalchemy as sa

    from app.store import migrations

    sign_on = default_policy(api, "OKTA_SIGN_ON")
    (old,) = api.get(f"/api/v1/policies/{sign_on['id']}/rules").get_json()
    policy = create_policy(api, "OKTA_SIGN_ON", conditions=for_groups(everyone_id(api)))
    any_factor = {"signon": {"access": "ALLOW", "primaryFactor": "PASSWORD_IDP_ANY_FACTOR"}}
    kept = create_rule(api, policy["id"], actions=any_factor)
    migrations.downgrade(ctx.stores.database, "0005")
    rules = sa.table("policy_rules", sa.column("id", sa.String()), sa.column("actions", sa.JSON()))
    signon = {**old["actions"]["signon"], "primaryFactor": "PASSWORD"}
    as_0005 = {**old["actions"], "signon": signon}
    with ctx.stores.database.engine.begin() as connection:
        connection.execute(rules.update().where(rules.c.id == old["id"]).values(actions=as_0005))

    migrations.upgrade(ctx.stores.database)
    rule = api.get(f"/api/v1/policies/{sign_on['id']}/rules/{old['id']}").get_json()
    assert rule["actions"] == old["actions"]
    assert rule["actions"]["signon"]["primaryFactor"] == "PASSWORD_IDP"
    again = api.get(f"/api/v1/policies/{policy['id']}/rules/{kept['id']}").get_json()
    assert again["actions"]["signon"]["primaryFactor"] == "PASSWORD_IDP_ANY_FACTOR"


def test_expand_rules_embeds_them(api: Any) -> None:
    policy = default_policy(api, "OKTA_SIGN_ON")
    body = api.get(f"/api/v1/policies/{policy['id']}?expand=rules").get_json()
    rules = api.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
    assert body["_embedded"] == {"rules": rules}
    assert "_embedded" not in api.get(f"/api/v1/policies/{policy['id']}").get_json()


def test_defaults_cannot_be_deleted_or_deactivated(api: Any) -> None:
    for kind in TYPES:
        policy = default_policy(api, kind)
        pid = policy["id"]
        (rule,) = api.get(f"/api/v1/policies/{pid}/rules").get_json()
        rule_url = f"/api/v1/policies/{pid}/rules/{rule['id']}"
        for response in (
            api.delete(f"/api/v1/policies/{pid}"),
            api.post(f"/api/v1/policies/{pid}/lifecycle/deactivate"),
            api.delete(rule_url),
            api.post(f"{rule_url}/lifecycle/deactivate"),
            api.put(f"/api/v1/policies/{pid}", json={**policy, "conditions": {}}),
            api.put(rule_url, json={**rule, "conditions": for_groups(everyone_id(api))}),
        ):
            assert response.status_code == 400, response.get_json()
            assert response.get_json()["errorCode"] == "E0000001"
        assert api.get(f"/api/v1/policies/{pid}").get_json()["status"] == "ACTIVE"
        assert api.get(rule_url).get_json()["status"] == "ACTIVE"
        # Activating what is active is harmless.
        assert api.post(f"/api/v1/policies/{pid}/lifecycle/activate").status_code == 204


def test_default_policy_settings_and_rule_actions_can_change(api: Any) -> None:
    policy = default_policy(api, "PASSWORD")
    changed = {**policy, "settings": strict_password_settings(10)}
    r = api.put(f"/api/v1/policies/{policy['id']}", json=changed)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["settings"] == strict_password_settings(10)
    assert r.get_json()["system"] is True
    (rule,) = api.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
    unlock = {**rule["actions"], "selfServiceUnlock": {"access": "ALLOW"}}
    r = api.put(
        f"/api/v1/policies/{policy['id']}/rules/{rule['id']}", json={**rule, "actions": unlock}
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["actions"]["selfServiceUnlock"] == {"access": "ALLOW"}


# ---- create, read, update, delete ------------------------------------------------------------


def test_create_get_update_delete(api: Any, clock: Any) -> None:
    admins = make_group(api, "Admins")
    policy = create_policy(
        api,
        description="Longer passwords for admins",
        conditions=for_groups(admins),
        settings=strict_password_settings(),
    )
    pid = policy["id"]
    assert pid.startswith("00p") and len(pid) == 20
    assert policy["status"] == "ACTIVE"  # ?activate defaults to true
    assert (policy["priority"], policy["system"]) == (1, False)
    assert policy["description"] == "Longer passwords for admins"
    assert policy["conditions"] == for_groups(admins)
    assert policy["created"] == policy["lastUpdated"] == "2026-01-15T09:30:00.000Z"
    assert policy["_links"] == {
        "self": {"href": f"{BASE}/{pid}", "hints": {"allow": ["GET", "PUT", "DELETE"]}},
        "deactivate": {"href": f"{BASE}/{pid}/lifecycle/deactivate", "hints": {"allow": ["POST"]}},
        "rules": {"href": f"{BASE}/{pid}/rules", "hints": {"allow": ["GET", "POST"]}},
    }
    assert api.get(f"/api/v1/policies/{pid}").get_json() == policy
    assert names_by_priority(api, "PASSWORD") == [(1, "PASSWORD policy"), (2, "Default Policy")]
    # A new policy has one ordinary rule with Okta's default actions, so it applies at once.
    (rule,) = api.get(f"/api/v1/policies/{pid}/rules").get_json()
    assert (rule["name"], rule["system"], rule["status"]) == ("Default Rule", False, "ACTIVE")
    assert "deactivate" in rule["_links"]

    clock.advance(minutes=5)
    r = api.put(
        f"/api/v1/policies/{pid}",
        json={**policy, "name": "Admins", "settings": strict_password_settings(16)},
    )
    assert r.status_code == 200, r.get_json()
    updated = r.get_json()
    assert updated["name"] == "Admins"
    assert updated["settings"]["password"]["complexity"]["minLength"] == 16
    assert updated["created"] == "2026-01-15T09:30:00.000Z"
    assert updated["lastUpdated"] == "2026-01-15T09:35:00.000Z"

    assert api.delete(f"/api/v1/policies/{pid}").status_code == 204
    for response in (
        api.get(f"/api/v1/policies/{pid}"),
        api.get(f"/api/v1/policies/{pid}/rules"),
        api.get(f"/api/v1/policies/{pid}/rules/{rule['id']}"),
        api.delete(f"/api/v1/policies/{pid}"),
    ):
        assert response.status_code == 404
        assert response.get_json()["errorCode"] == "E0000007"
    assert names_by_priority(api, "PASSWORD") == [(1, "Default Policy")]


def test_create_inactive_then_activate(api: Any) -> None:
    policy = create_policy(api, "OKTA_SIGN_ON", query="?activate=false")
    pid = policy["id"]
    assert policy["status"] == "INACTIVE"
    assert policy["_links"]["activate"] == {
        "href": f"{BASE}/{pid}/lifecycle/activate",
        "hints": {"allow": ["POST"]},
    }
    assert "deactivate" not in policy["_links"]
    r = api.post(f"/api/v1/policies/{pid}/lifecycle/activate")
    assert r.status_code == 204 and r.get_data() == b""
    assert api.get(f"/api/v1/policies/{pid}").get_json()["status"] == "ACTIVE"
    assert api.post(f"/api/v1/policies/{pid}/lifecycle/deactivate").status_code == 204
    assert api.get(f"/api/v1/policies/{pid}").get_json()["status"] == "INACTIVE"


def test_list_requires_a_type_and_filters_by_status(api: Any) -> None:
    for query in ("", "?type=", "?type=OAUTH_AUTHORIZATION_POLICY", "?type=password"):
        r = api.get(f"/api/v1/policies{query}")
        assert r.status_code == 400, query
        assert r.get_json()["errorCode"] == "E0000001"
    create_policy(api, "MFA_ENROLL", name="Off", query="?activate=false")
    assert names_by_priority(api, "MFA_ENROLL") == [(1, "Off"), (2, "Default Policy")]
    active = api.get("/api/v1/policies?type=MFA_ENROLL&status=ACTIVE").get_json()
    assert [p["name"] for p in active] == ["Default Policy"]
    inactive = api.get("/api/v1/policies?type=MFA_ENROLL&status=INACTIVE").get_json()
    assert [p["name"] for p in inactive] == ["Off"]
    assert api.get("/api/v1/policies?type=MFA_ENROLL&status=GONE").status_code == 400


def test_requires_an_api_token(anonymous: Any) -> None:
    r = anonymous.get("/api/v1/policies?type=PASSWORD")
    assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000011"


# ---- priorities ---------------------------------------------------------------------------


def test_inserting_at_a_priority_shifts_the_others_down(api: Any) -> None:
    for name in ("A", "B"):
        create_policy(api, "OKTA_SIGN_ON", name=name)
    # No priority: after the others, before the default.
    assert names_by_priority(api, "OKTA_SIGN_ON") == [(1, "A"), (2, "B"), (3, "Default Policy")]
    create_policy(api, "OKTA_SIGN_ON", name="C", priority=1)
    assert names_by_priority(api, "OKTA_SIGN_ON") == [
        (1, "C"),
        (2, "A"),
        (3, "B"),
        (4, "Default Policy"),
    ]
    create_policy(api, "OKTA_SIGN_ON", name="D", priority=99)
    assert names_by_priority(api, "OKTA_SIGN_ON")[-2:] == [(4, "D"), (5, "Default Policy")]
    # Moving one with PUT.
    (d,) = [p for p in api.get("/api/v1/policies?type=OKTA_SIGN_ON").get_json() if p["name"] == "D"]
    assert api.put(f"/api/v1/policies/{d['id']}", json={**d, "priority": 2}).status_code == 200
    assert names_by_priority(api, "OKTA_SIGN_ON") == [
        (1, "C"),
        (2, "D"),
        (3, "A"),
        (4, "B"),
        (5, "Default Policy"),
    ]
    # The default stays last whatever it is asked.
    default = default_policy(api, "OKTA_SIGN_ON")
    r = api.put(f"/api/v1/policies/{default['id']}", json={**default, "priority": 1})
    assert r.status_code == 200 and r.get_json()["priority"] == 5
    # Deleting closes the gap; other types are untouched.
    assert api.delete(f"/api/v1/policies/{d['id']}").status_code == 204
    assert [p for p, _ in names_by_priority(api, "OKTA_SIGN_ON")] == [1, 2, 3, 4]
    assert names_by_priority(api, "PASSWORD") == [(1, "Default Policy")]


def test_rule_priorities_keep_the_default_rule_last(api: Any) -> None:
    policy = default_policy(api, "OKTA_SIGN_ON")
    pid = policy["id"]
    first = create_rule(api, pid, name="First")
    assert first["priority"] == 1 and first["type"] == "SIGN_ON"
    create_rule(api, pid, name="Top", priority=1)
    create_rule(api, pid, name="Asked last", priority=50)
    rules = api.get(f"/api/v1/policies/{pid}/rules").get_json()
    assert [(r["priority"], r["name"]) for r in rules] == [
        (1, "Top"),
        (2, "First"),
        (3, "Asked last"),
        (4, "Default Rule"),
    ]


# ---- rules --------------------------------------------------------------------------------


def test_rule_crud_and_lifecycle(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    policy = create_policy(api, "OKTA_SIGN_ON")
    pid = policy["id"]
    rule = create_rule(
        api,
        pid,
        name="MFA everywhere",
        type="SIGN_ON",
        conditions={
            "people": {"users": {"exclude": [user["id"]]}},
            "network": {"connection": "ANYWHERE"},
        },
        actions={
            "signon": {"access": "ALLOW", "requireFactor": True, "factorPromptMode": "ALWAYS"}
        },
    )
    rid = rule["id"]
    assert rid.startswith("0pr") and len(rid) == 20
    assert (rule["status"], rule["system"], rule["priority"]) == ("ACTIVE", False, 2)
    assert rule["_links"] == {
        "self": {"href": f"{BASE}/{pid}/rules/{rid}", "hints": {"allow": ["GET", "PUT", "DELETE"]}},
        "deactivate": {
            "href": f"{BASE}/{pid}/rules/{rid}/lifecycle/deactivate",
            "hints": {"allow": ["POST"]},
        },
    }
    assert api.get(f"/api/v1/policies/{pid}/rules/{rid}").get_json() == rule

    clock.advance(minutes=1)
    r = api.put(
        f"/api/v1/policies/{pid}/rules/{rid}",
        json={**rule, "name": "Renamed", "actions": {"signon": {"access": "DENY"}}},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == "Renamed"
    assert r.get_json()["actions"] == {"signon": {"access": "DENY"}}
    assert r.get_json()["lastUpdated"] == "2026-01-15T09:31:00.000Z"

    assert api.post(f"/api/v1/policies/{pid}/rules/{rid}/lifecycle/deactivate").status_code == 204
    inactive = api.get(f"/api/v1/policies/{pid}/rules/{rid}").get_json()
    assert inactive["status"] == "INACTIVE" and "activate" in inactive["_links"]
    assert api.post(f"/api/v1/policies/{pid}/rules/{rid}/lifecycle/activate").status_code == 204

    # A rule is reached only through its own policy.
    other = default_policy(api, "OKTA_SIGN_ON")
    assert api.get(f"/api/v1/policies/{other['id']}/rules/{rid}").status_code == 404
    assert api.get(f"/api/v1/policies/{pid}/rules/0prNOPE").status_code == 404
    assert api.delete(f"/api/v1/policies/{pid}/rules/{rid}").status_code == 204
    assert api.get(f"/api/v1/policies/{pid}/rules/{rid}").status_code == 404
    # The first rule of a new policy is an ordinary one.
    (first,) = api.get(f"/api/v1/policies/{pid}/rules").get_json()
    assert api.delete(f"/api/v1/policies/{pid}/rules/{first['id']}").status_code == 204
    assert api.get(f"/api/v1/policies/{pid}/rules").get_json() == []


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ({"name": "x"}, "type: must be one of PASSWORD, MFA_ENROLL, OKTA_SIGN_ON"),
        ({"type": "ACCESS_POLICY", "name": "x"}, "type: must be one of"),
        ({"type": "PASSWORD"}, "name: The field cannot be left blank"),
        ({"type": "PASSWORD", "name": "  "}, "name: The field cannot be left blank"),
        ({"type": "PASSWORD", "name": "x", "priority": 0}, "priority: must be a whole number"),
        ({"type": "PASSWORD", "name": "x", "priority": "1"}, "priority: must be a whole number"),
        ({"type": "PASSWORD", "name": "x", "settings": []}, "settings: must be an object"),
        (
            {
                "type": "PASSWORD",
                "name": "x",
                "settings": {"password": {"complexity": {"minLength": 1}}},
            },
            "settings.password.complexity.minLength: must be a whole number from 4 to 256",
        ),
        (
            {
                "type": "MFA_ENROLL",
                "name": "x",
                "settings": {"factors": {"google_otp": {"enroll": {"self": "ALWAYS"}}}},
            },
            "settings.factors.google_otp.enroll.self: must be one of",
        ),
        (
            {
                "type": "PASSWORD",
                "name": "x",
                "conditions": {"people": {"groups": {"include": "all"}}},
            },
            "conditions.people.groups.include: must be a list of ids",
        ),
        (
            {"type": "PASSWORD", "name": "x", "conditions": for_groups("00gNOPE")},
            "conditions.people.groups: group 00gNOPE does not exist",
        ),
        (
            {
                "type": "PASSWORD",
                "name": "x",
                "conditions": {"people": {"users": {"include": ["00u1"]}}},
            },
            "conditions.people.users.include: a policy can only name groups",
        ),
        ({"type": "PASSWORD", "name": 5}, "name: Not a valid string."),
    ],
)
def test_create_policy_rejects(api: Any, body: dict[str, Any], cause: str) -> None:
    r = api.post("/api/v1/policies", json=body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["errorCode"] == "E0000001"
    assert any(c.startswith(cause) for c in causes(r)), causes(r)


@pytest.mark.parametrize(
    ("kind", "body", "cause"),
    [
        (
            "OKTA_SIGN_ON",
            {"type": "PASSWORD"},
            "type: the rules of OKTA_SIGN_ON policies are SIGN_ON",
        ),
        ("OKTA_SIGN_ON", {"actions": {"signon": {"access": "MAYBE"}}}, "actions.signon.access"),
        ("OKTA_SIGN_ON", {"actions": {"signon": {"factorPromptMode": "X"}}}, "actions.signon"),
        ("MFA_ENROLL", {"actions": {"enroll": {"self": "SOMETIMES"}}}, "actions.enroll.self"),
        ("PASSWORD", {"actions": {"selfServiceUnlock": "yes"}}, "actions.selfServiceUnlock"),
        (
            "PASSWORD",
            {"conditions": {"network": {"connection": "ZONE", "include": ["nzo1"]}}},
            "conditions.network.connection: only ANYWHERE is supported",
        ),
        ("PASSWORD", {"actions": "ALLOW"}, "actions: must be an object"),
        ("PASSWORD", {"name": ""}, "name: The field cannot be left blank"),
    ],
)
def test_create_rule_rejects(api: Any, kind: str, body: dict[str, Any], cause: str) -> None:
    policy = default_policy(api, kind)
    r = api.post(f"/api/v1/policies/{policy['id']}/rules", json={"name": "Rule", **body})
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["errorCode"] == "E0000001"
    assert any(c.startswith(cause) for c in causes(r)), causes(r)


def test_update_rejects_a_type_change(api: Any) -> None:
    policy = default_policy(api, "PASSWORD")
    r = api.put(f"/api/v1/policies/{policy['id']}", json={**policy, "type": "OKTA_SIGN_ON"})
    assert r.status_code == 400
    assert causes(r) == ["type: The type of a policy cannot change"]


def test_unknown_ids_are_404(api: Any) -> None:
    for method, path in (
        ("GET", "/api/v1/policies/00pNOPE"),
        ("PUT", "/api/v1/policies/00pNOPE"),
        ("DELETE", "/api/v1/policies/00pNOPE"),
        ("POST", "/api/v1/policies/00pNOPE/lifecycle/activate"),
        ("GET", "/api/v1/policies/00pNOPE/rules"),
        ("POST", "/api/v1/policies/00pNOPE/rules"),
        ("GET", "/api/v1/policies/00pNOPE/rules/0prNOPE"),
        ("POST", "/api/v1/policies/00pNOPE/rules/0prNOPE/lifecycle/deactivate"),
    ):
        r = api.request(method, path, json={"name": "x", "type": "PASSWORD"})
        assert r.status_code == 404, (method, path)
        assert r.get_json()["errorCode"] == "E0000007"
        assert r.get_json()["errorSummary"].startswith("Not found: Resource not found:")


GARBAGE: list[Any] = [
    None,
    [],
    "PASSWORD",
    17,
    {"type": None, "name": None},
    {"type": ["PASSWORD"], "name": "x"},
    {"type": "PASSWORD", "name": "x", "settings": {"password": {"lockout": []}}},
    {"type": "PASSWORD", "name": "x", "settings": {"recovery": {"factors": {"okta_sms": 1}}}},
    {"type": "MFA_ENROLL", "name": "x", "settings": {"factors": []}},
    {"type": "MFA_ENROLL", "name": "x", "settings": {"factors": {"google_otp": {"enroll": 3}}}},
    {"type": "OKTA_SIGN_ON", "name": "x", "conditions": {"people": {"users": []}}},
    {"type": "OKTA_SIGN_ON", "name": "x", "conditions": {"network": "ANYWHERE"}},
    {"type": "OKTA_SIGN_ON", "name": "x", "priority": 1.5},
    {"type": "OKTA_SIGN_ON", "name": "x", "priority": True},
    {"type": "OKTA_SIGN_ON", "name": "x", "description": ["x"]},
]


@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_is_a_400_never_a_500(api: Any, body: Any) -> None:
    created = api.post("/api/v1/policies", json=body)
    assert created.status_code == 400, created.get_json()
    default = default_policy(api, "OKTA_SIGN_ON")
    for path in (f"/api/v1/policies/{default['id']}", f"/api/v1/policies/{default['id']}/rules"):
        r = api.request("PUT" if path.endswith(default["id"]) else "POST", path, json=body)
        assert r.status_code == 400, (path, r.get_json())
        assert r.get_json()["errorCode"] in ("E0000001", "E0000003")


def test_malformed_json_is_e0000003(api: Any) -> None:
    r = api.post("/api/v1/policies", data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["errorCode"] == "E0000003"


# ---- which policy applies to whom ----------------------------------------------------------


def test_group_conditions_pick_the_policy_for_each_user(api: Any, make_user: Any, ctx: Any) -> None:
    admin = make_user("ada.admin@example.com")
    other = make_user("olga.other@example.com")
    admins = make_group(api, "Admins", admin)
    strict = create_policy(api, conditions=for_groups(admins), settings=strict_password_settings())
    default = default_policy(api, "PASSWORD")
    with ctx.stores.unit_of_work() as uow:
        assert (
            policies.effective_for(ctx, uow, uow.users.get(admin["id"])).password_policy_id
            == (strict["id"])
        )
        assert (
            policies.effective_for(ctx, uow, uow.users.get(other["id"])).password_policy_id
            == (default["id"])
        )
    r = change_password(api, admin["id"], PASSWORD, "Only-12-char")
    assert r.status_code == 400
    assert any("at least 14 characters" in c for c in causes(r)), causes(r)
    assert change_password(api, other["id"], PASSWORD, "Only-12-char").status_code == 200
    assert change_password(api, admin["id"], PASSWORD, "Fourteen-chars-1").status_code == 200
    # A deactivated policy no longer applies: the default does again.
    assert api.post(f"/api/v1/policies/{strict['id']}/lifecycle/deactivate").status_code == 204
    assert change_password(api, admin["id"], "Fourteen-chars-1", "Short-Again1").status_code == 200


def test_a_policy_whose_rules_do_not_match_is_passed_over(api: Any, make_user: Any) -> None:
    admin = make_user("ada.admin@example.com")
    admins = make_group(api, "Admins", admin)
    strict = create_policy(api, conditions=for_groups(admins), settings=strict_password_settings())
    (rule,) = api.get(f"/api/v1/policies/{strict['id']}/rules").get_json()
    excluded = {"people": {"users": {"exclude": [admin["id"]]}}}
    r = api.put(
        f"/api/v1/policies/{strict['id']}/rules/{rule['id']}", json={**rule, "conditions": excluded}
    )
    assert r.status_code == 200, r.get_json()
    assert change_password(api, admin["id"], PASSWORD, "Only-12-char").status_code == 200


def test_custom_complexity_applies_on_user_create(api: Any) -> None:
    contractors = make_group(api, "Contractors")
    create_policy(
        api,
        conditions=for_groups(contractors),
        settings=strict_password_settings(24, excludeAttributes=["lastName"]),
    )
    body = {
        "profile": {
            "login": "carla.contractor@example.com",
            "email": "carla.contractor@example.com",
            "firstName": "Carla",
            "lastName": "Contractor",
        },
        "credentials": {"password": {"value": PASSWORD}},
    }
    r = api.post("/api/v1/users", json={**body, "groupIds": [contractors]})
    assert r.status_code == 400
    assert any("at least 24 characters" in c for c in causes(r)), causes(r)
    r = api.post(
        "/api/v1/users",
        json={
            **body,
            "groupIds": [contractors],
            "credentials": {"password": {"value": "Contractor-pass-long-enough!"}},
        },
    )
    assert r.status_code == 400
    assert any("lastName" in c for c in causes(r)), causes(r)
    r = api.post(
        "/api/v1/users",
        json={
            **body,
            "groupIds": [contractors],
            "credentials": {"password": {"value": "A-passphrase-long-enough-1"}},
        },
    )
    assert r.status_code == 200, r.get_json()
    # Without the group, the default policy applies.
    other = {**body["profile"], "login": "dan@example.com", "email": "dan@example.com"}
    r = api.post("/api/v1/users", json={**body, "profile": other})
    assert r.status_code == 200, r.get_json()


def test_history_count_comes_from_the_policy(api: Any, make_user: Any) -> None:
    user = make_user()
    assert change_password(api, user["id"], PASSWORD, PASSWORD).status_code == 400
    default = default_policy(api, "PASSWORD")
    settings = default["settings"]
    settings["password"]["age"]["historyCount"] = 0
    r = api.put(f"/api/v1/policies/{default['id']}", json={**default, "settings": settings})
    assert r.status_code == 200, r.get_json()
    assert change_password(api, user["id"], PASSWORD, PASSWORD).status_code == 200


def test_common_passwords_are_refused_when_the_dictionary_says_so(api: Any, make_user: Any) -> None:
    user = make_user()
    assert change_password(api, user["id"], PASSWORD, "Welcome1").status_code == 200  # off
    default = default_policy(api, "PASSWORD")
    settings = default["settings"]
    settings["password"]["complexity"]["dictionary"] = {"common": {"exclude": True}}
    r = api.put(f"/api/v1/policies/{default['id']}", json={**default, "settings": settings})
    assert r.status_code == 200, r.get_json()
    refused = change_password(api, user["id"], "Welcome1", "Password123")
    assert refused.status_code == 400 and refused.get_json()["errorCode"] == "E0000001"
    assert causes(refused) == [
        "password: Password requirements were not met. Missing: not a commonly used password."
    ]
    body = {
        "profile": {
            "login": "c@example.com",
            "email": "c@example.com",
            "firstName": "Cee",
            "lastName": "Common",
        },
        "credentials": {"password": {"value": "Sunshine1"}},
    }
    created = api.post("/api/v1/users?activate=true", json=body)
    assert created.status_code == 400, created.get_json()
    assert causes(created) == [
        "password: Password requirements were not met. Missing: not a commonly used password."
    ]
    assert change_password(api, user["id"], "Welcome1", "Tr0ub4dour&3-horse").status_code == 200


def _set_default_password_policy(api: Any, **age: Any) -> dict[str, Any]:
    default = default_policy(api, "PASSWORD")
    settings = default["settings"]
    settings["password"]["age"].update(age)
    r = api.put(f"/api/v1/policies/{default['id']}", json={**default, "settings": settings})
    assert r.status_code == 200, r.get_json()
    return settings


def test_min_age_minutes_spaces_out_the_users_own_changes(
    api: Any, anonymous: Any, make_user: Any, clock: Any
) -> None:
    user = make_user()
    _set_default_password_policy(api, minAgeMinutes=60, historyCount=0)
    # The password set at creation counts as the last change.
    too_soon = change_password(api, user["id"], PASSWORD, "Second-Pass-2")
    assert too_soon.status_code == 400, too_soon.get_json()
    clock.advance(seconds=61 * 60)
    first = change_password(api, user["id"], PASSWORD, "Second-Pass-2")
    assert first.status_code == 200, first.get_json()
    clock.advance(seconds=59 * 60)
    again = change_password(api, user["id"], "Second-Pass-2", "Third-Pass-3")
    assert again.status_code == 400 and again.get_json()["errorCode"] == "E0000001"
    assert causes(again) == [
        "newPassword: The password was changed less than 60 minutes ago; "
        "the password policy allows another change only after that."
    ]
    # An expired password must change now, whatever its age (an admin's expire).
    assert api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password").status_code == 200
    forced = change_password(api, user["id"], "Second-Pass-2", "Third-Pass-3")
    assert forced.status_code == 200, forced.get_json()
    clock.advance(seconds=61 * 60)
    later = change_password(api, user["id"], "Third-Pass-3", "Fourth-Pass-4")
    assert later.status_code == 200, later.get_json()


def test_min_age_minutes_in_the_authn_password_warn_change(
    api: Any, anonymous: Any, make_user: Any, clock: Any
) -> None:
    make_user("warned@example.com")
    _set_default_password_policy(api, minAgeMinutes=60, maxAgeDays=2, expireWarnDays=1)
    clock.advance(seconds=26 * 3600)  # within the last day before expiry
    body = {"username": "warned@example.com", "password": PASSWORD}
    options = {"warnBeforePasswordExpired": True}
    warned = authn(anonymous, **body, options=options).get_json()
    assert warned["status"] == "PASSWORD_WARN", warned
    r = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=warned["stateToken"],
        oldPassword=PASSWORD,
        newPassword="Second-Pass-2",
    )
    assert r.get_json()["status"] == "SUCCESS", r.get_json()
    # A second voluntary change in the same hour: refused with E0000080 and a cause.
    _set_default_password_policy(api, minAgeMinutes=60, maxAgeDays=2, expireWarnDays=2)
    clock.advance(seconds=30 * 60)
    warned = authn(
        anonymous, username="warned@example.com", password="Second-Pass-2", options=options
    ).get_json()
    assert warned["status"] == "PASSWORD_WARN", warned
    r = authn(
        anonymous,
        "/credentials/change_password",
        stateToken=warned["stateToken"],
        oldPassword="Second-Pass-2",
        newPassword="Third-Pass-3",
    )
    assert r.status_code == 403 and r.get_json()["errorCode"] == "E0000080"
    assert "less than 60 minutes ago" in causes(r)[0]


def test_recovery_token_lifetime_comes_from_the_policy(
    api: Any, make_user: Any, ctx: Any, outbox: Any
) -> None:
    user = make_user()
    default = default_policy(api, "PASSWORD")
    settings = default["settings"]
    email = settings["recovery"]["factors"]["okta_email"]
    email["properties"]["recoveryToken"]["tokenLifetimeMinutes"] = 15
    r = api.put(f"/api/v1/policies/{default['id']}", json={**default, "settings": settings})
    assert r.status_code == 200, r.get_json()
    r = api.post(f"/api/v1/users/{user['id']}/credentials/forgot_password?sendEmail=true")
    assert r.status_code == 200, r.get_json()
    (message,) = outbox.messages(to=user["profile"]["email"])
    assert "expires in 15 minutes" in message.body
    ttls = [ctx.stores.redis.ttl(key) for key in ctx.stores.redis.scan_iter("*recovery*")]
    assert ttls and all(14 * 60 < ttl <= 15 * 60 for ttl in ttls), ttls


def test_temporary_password_meets_the_users_policy(api: Any, make_user: Any) -> None:
    user = make_user()
    default = default_policy(api, "PASSWORD")
    r = api.put(
        f"/api/v1/policies/{default['id']}",
        json={**default, "settings": strict_password_settings(30)},
    )
    assert r.status_code == 200, r.get_json()
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password?tempPassword=true")
    assert r.status_code == 200, r.get_json()
    temp = r.get_json()["tempPassword"]
    assert len(temp) >= 30 and any(not c.isalnum() for c in temp)


# ---- sign-in follows the policies ----------------------------------------------------------


def sign_in(anonymous: Any, login: str) -> dict[str, Any]:
    r = anonymous.post("/api/v1/authn", json={"username": login, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def test_sign_on_rule_requires_mfa_for_a_group(api: Any, anonymous: Any, make_user: Any) -> None:
    sales = make_user("sam.sales@example.com")
    other = make_user("olga.other@example.com")
    for user in (sales, other):
        active_question(api, user)
    group = make_group(api, "Sales", sales)
    policy = create_policy(api, "OKTA_SIGN_ON", name="Sales MFA", conditions=for_groups(group))
    create_rule(
        api,
        policy["id"],
        name="Require MFA",
        priority=1,
        actions={
            "signon": {"access": "ALLOW", "requireFactor": True, "factorPromptMode": "ALWAYS"}
        },
    )
    assert sign_in(anonymous, "sam.sales@example.com")["status"] == "MFA_REQUIRED"
    assert sign_in(anonymous, "olga.other@example.com")["status"] == "SUCCESS"


def test_enroll_policy_requires_google_authenticator_for_a_group(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    admin = make_user("ada.admin@example.com")
    make_user("olga.other@example.com")
    group = make_group(api, "Admins", admin)
    create_policy(
        api,
        "MFA_ENROLL",
        name="Admins enroll TOTP",
        conditions=for_groups(group),
        settings={"factors": {"google_otp": {"enroll": {"self": "REQUIRED"}}}},
    )
    body = sign_in(anonymous, "ada.admin@example.com")
    assert body["status"] == "MFA_ENROLL"
    offered = {(f["provider"], f["enrollment"]) for f in body["_embedded"]["factors"]}
    assert offered == {("GOOGLE", "REQUIRED")}
    assert sign_in(anonymous, "olga.other@example.com")["status"] == "SUCCESS"


# ---- more of the API: what an admin checks ----------------------------------------------------


def test_list_without_a_type_says_so(api: Any) -> None:
    r = api.get("/api/v1/policies")
    assert r.status_code == 400
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    assert causes(r) == ["type: The type query parameter is required"]


@pytest.mark.parametrize("kind", TYPES)
def test_each_type_lists_its_default_policy(api: Any, kind: str) -> None:
    r = api.get(f"/api/v1/policies?type={kind}")
    assert r.status_code == 200
    (policy,) = r.get_json()
    assert policy["type"] == kind
    assert policy["name"] == "Default Policy"
    assert policy["system"] is True
    assert (policy["status"], policy["priority"]) == ("ACTIVE", 1)
    assert everyone_id(api) in policy["conditions"]["people"]["groups"]["include"]
    (rule,) = api.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
    assert (rule["name"], rule["system"], rule["status"]) == ("Default Rule", True, "ACTIVE")


def test_a_policy_created_inactive_applies_only_once_activated(api: Any) -> None:
    group = make_group(api, "Contractors")
    policy = create_policy(
        api,
        query="?activate=false",
        conditions=for_groups(group),
        settings={"password": {"complexity": {"minLength": 12}}},
    )
    assert policy["status"] == "INACTIVE"
    assert api.get(f"/api/v1/policies/{policy['id']}").get_json()["status"] == "INACTIVE"
    # Its first rule is active: only the policy's own status holds it back.
    (rule,) = api.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
    assert rule["status"] == "ACTIVE"
    assert create_user(api, "first@example.com", "Short-pw1", group).status_code == 200
    assert api.post(f"/api/v1/policies/{policy['id']}/lifecycle/activate").status_code == 204
    r = create_user(api, "second@example.com", "Short-pw1", group)
    assert r.status_code == 400
    assert any("at least 12 characters" in c for c in causes(r)), causes(r)


def test_a_rule_created_inactive_applies_only_once_activated(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    make_user()
    sign_on = default_policy(api, "OKTA_SIGN_ON")
    r = api.post(
        f"/api/v1/policies/{sign_on['id']}/rules?activate=false",
        json={"name": "Nobody", "actions": {"signon": {"access": "DENY"}}},
    )
    assert r.status_code == 200, r.get_json()
    rule = r.get_json()
    assert rule["status"] == "INACTIVE" and rule["priority"] == 1
    assert "activate" in rule["_links"] and "deactivate" not in rule["_links"]
    assert sign_in(anonymous, "isaac.brock@example.com")["status"] == "SUCCESS"
    activate = f"/api/v1/policies/{sign_on['id']}/rules/{rule['id']}/lifecycle/activate"
    assert api.post(activate).status_code == 204
    denied = anonymous.post(
        "/api/v1/authn", json={"username": "isaac.brock@example.com", "password": PASSWORD}
    )
    assert denied.status_code == 401 and denied.get_json()["errorCode"] == "E0000004"


def rule_names(api: Any, policy_id: str) -> list[tuple[int, str]]:
    rules = api.get(f"/api/v1/policies/{policy_id}/rules").get_json()
    return [(r["priority"], r["name"]) for r in rules]


def test_rule_priorities_move_and_close_gaps(api: Any) -> None:
    pid = default_policy(api, "OKTA_SIGN_ON")["id"]
    a, b, c = (create_rule(api, pid, name=name) for name in "ABC")
    assert rule_names(api, pid) == [(1, "A"), (2, "B"), (3, "C"), (4, "Default Rule")]
    # PUT with a priority moves the rule; the others shift.
    r = api.put(f"/api/v1/policies/{pid}/rules/{c['id']}", json={**c, "priority": 1})
    assert r.status_code == 200 and r.get_json()["priority"] == 1
    assert rule_names(api, pid) == [(1, "C"), (2, "A"), (3, "B"), (4, "Default Rule")]
    # PUT without a priority leaves the order alone.
    r = api.put(f"/api/v1/policies/{pid}/rules/{b['id']}", json={"name": "B2"})
    assert r.status_code == 200, r.get_json()
    assert rule_names(api, pid) == [(1, "C"), (2, "A"), (3, "B2"), (4, "Default Rule")]
    # The default rule stays last whatever it is asked.
    (default,) = [r for r in api.get(f"/api/v1/policies/{pid}/rules").get_json() if r["system"]]
    r = api.put(f"/api/v1/policies/{pid}/rules/{default['id']}", json={**default, "priority": 1})
    assert r.status_code == 200 and r.get_json()["priority"] == 4
    # Deleting closes the gap.
    assert api.delete(f"/api/v1/policies/{pid}/rules/{a['id']}").status_code == 204
    assert rule_names(api, pid) == [(1, "C"), (2, "B2"), (3, "Default Rule")]


def test_policy_priority_past_the_end_and_delete_renumbers(api: Any) -> None:
    first = create_policy(api, "MFA_ENROLL", name="First")
    second = create_policy(api, "MFA_ENROLL", name="Second")
    r = api.put(f"/api/v1/policies/{first['id']}", json={**first, "priority": 50})
    assert r.status_code == 200 and r.get_json()["priority"] == 2
    assert names_by_priority(api, "MFA_ENROLL") == [
        (1, "Second"),
        (2, "First"),
        (3, "Default Policy"),
    ]
    assert api.delete(f"/api/v1/policies/{second['id']}").status_code == 204
    assert names_by_priority(api, "MFA_ENROLL") == [(1, "First"), (2, "Default Policy")]


def test_defaults_refusals_explain_themselves(api: Any) -> None:
    policy = default_policy(api, "MFA_ENROLL")
    pid = policy["id"]
    (rule,) = api.get(f"/api/v1/policies/{pid}/rules").get_json()
    rule_url = f"/api/v1/policies/{pid}/rules/{rule['id']}"
    expected = {
        ("DELETE", f"/api/v1/policies/{pid}"): "The default policy cannot be deleted",
        ("POST", f"/api/v1/policies/{pid}/lifecycle/deactivate"): (
            "The default policy cannot be deactivated"
        ),
        ("DELETE", rule_url): "The default rule cannot be deleted",
        ("POST", f"{rule_url}/lifecycle/deactivate"): "The default rule cannot be deactivated",
    }
    for (method, path), cause in expected.items():
        r = api.request(method, path)
        assert r.status_code == 400, (method, path)
        assert r.get_json()["errorCode"] == "E0000001"
        assert causes(r) == [cause]
    assert default_policy(api, "MFA_ENROLL") == policy
    assert api.get(rule_url).get_json() == rule


def test_unknown_rule_ids_are_404_on_every_rule_route(api: Any) -> None:
    pid = default_policy(api, "PASSWORD")["id"]
    other_type = default_policy(api, "OKTA_SIGN_ON")
    (foreign,) = api.get(f"/api/v1/policies/{other_type['id']}/rules").get_json()
    for rule_id in ("0prNOPE", foreign["id"]):
        base = f"/api/v1/policies/{pid}/rules/{rule_id}"
        for method, path in (
            ("GET", base),
            ("PUT", base),
            ("DELETE", base),
            ("POST", f"{base}/lifecycle/activate"),
            ("POST", f"{base}/lifecycle/deactivate"),
        ):
            r = api.request(method, path, json={"name": "x"})
            assert r.status_code == 404, (method, path)
            assert r.get_json()["errorCode"] == "E0000007"
    # The foreign rule is still there, in its own policy.
    assert api.get(f"/api/v1/policies/{other_type['id']}/rules/{foreign['id']}").status_code == 200


def test_bad_settings_are_refused_and_change_nothing(api: Any, clock: Any) -> None:
    policy = create_policy(api, settings=strict_password_settings(12))
    pid = policy["id"]
    clock.advance(minutes=5)
    bad = {
        "password": {
            "complexity": {"minLength": 3},
            "age": {"maxAgeDays": -1},
            "lockout": {"maxAttempts": "ten"},
        }
    }
    r = api.put(f"/api/v1/policies/{pid}", json={**policy, "name": "Renamed", "settings": bad})
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"
    assert sorted(causes(r)) == [
        "settings.password.age.maxAgeDays: must be a whole number from 0 to 999",
        "settings.password.complexity.minLength: must be a whole number from 4 to 256",
        "settings.password.lockout.maxAttempts: must be a whole number from 0 to 100",
    ]
    assert api.get(f"/api/v1/policies/{pid}").get_json() == policy

    # The same for a rule's actions, and for a policy that was never created.
    (rule,) = api.get(f"/api/v1/policies/{pid}/rules").get_json()
    r = api.put(
        f"/api/v1/policies/{pid}/rules/{rule['id']}",
        json={**rule, "name": "Renamed", "actions": {"selfServiceUnlock": {"access": "SOMETIMES"}}},
    )
    assert r.status_code == 400
    assert causes(r) == ["actions.selfServiceUnlock.access: must be one of ALLOW, DENY"]
    assert api.get(f"/api/v1/policies/{pid}/rules/{rule['id']}").get_json() == rule

    before = api.get("/api/v1/policies?type=MFA_ENROLL").get_json()
    r = api.post(
        "/api/v1/policies",
        json={
            "type": "MFA_ENROLL",
            "name": "Typo",
            "settings": {"factors": {"google_authenticator": {"enroll": {"self": "REQUIRED"}}}},
        },
    )
    assert r.status_code == 400
    assert causes(r)[0].startswith("settings.factors.google_authenticator: unknown factor")
    assert api.get("/api/v1/policies?type=MFA_ENROLL").get_json() == before


@pytest.mark.parametrize(
    ("kind", "body", "cause"),
    [
        (
            "OKTA_SIGN_ON",
            {"actions": {"signon": {"requireFactor": True, "factorPromptMode": "NEW_DEVICE"}}},
            "actions.signon.factorPromptMode: must be one of ALWAYS, DEVICE, SESSION",
        ),
        (
            "OKTA_SIGN_ON",
            {"actions": {"signon": {"session": {"maxSessionIdleMinutes": 0}}}},
            "actions.signon.session.maxSessionIdleMinutes: "
            "must be a whole number from 1 to 1000000",
        ),
        (
            "PASSWORD",
            {"actions": {"selfServicePasswordReset": {"access": True}}},
            "actions.selfServicePasswordReset.access: must be one of ALLOW, DENY",
        ),
        (
            "MFA_ENROLL",
            {"type": "SIGN_ON"},
            "type: the rules of MFA_ENROLL policies are MFA_ENROLL",
        ),
    ],
)
def test_bad_rule_actions_are_refused_with_their_cause(
    api: Any, kind: str, body: dict[str, Any], cause: str
) -> None:
    pid = default_policy(api, kind)["id"]
    before = api.get(f"/api/v1/policies/{pid}/rules").get_json()
    r = api.post(f"/api/v1/policies/{pid}/rules", json={"name": "Rule", **body})
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"
    assert causes(r) == [cause]
    assert api.get(f"/api/v1/policies/{pid}/rules").get_json() == before


def test_an_unknown_group_in_conditions_is_refused(api: Any) -> None:
    real = make_group(api, "Real")
    unknown = "00gDoesNotExist12345"
    cause = f"conditions.people.groups: group {unknown} does not exist"
    # Creating a policy, updating one, creating a rule, updating one.
    r = api.post(
        "/api/v1/policies",
        json={
            "type": "PASSWORD",
            "name": "x",
            "conditions": {"people": {"groups": {"include": [real], "exclude": [unknown]}}},
        },
    )
    assert r.status_code == 400 and causes(r) == [cause]
    policy = create_policy(api, conditions=for_groups(real))
    r = api.put(
        f"/api/v1/policies/{policy['id']}", json={**policy, "conditions": for_groups(unknown)}
    )
    assert r.status_code == 400 and causes(r) == [cause]
    assert api.get(f"/api/v1/policies/{policy['id']}").get_json()["conditions"] == for_groups(real)
    r = api.post(
        f"/api/v1/policies/{policy['id']}/rules",
        json={"name": "r", "conditions": for_groups(unknown)},
    )
    assert r.status_code == 400 and causes(r) == [cause]
    (rule,) = api.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
    r = api.put(
        f"/api/v1/policies/{policy['id']}/rules/{rule['id']}",
        json={**rule, "conditions": {"people": {"groups": {"exclude": [unknown]}}}},
    )
    assert r.status_code == 400 and causes(r) == [cause]
    assert api.get(f"/api/v1/policies/{policy['id']}/rules/{rule['id']}").get_json() == rule


def test_a_recovery_factor_that_is_not_an_object_is_a_400(api: Any) -> None:
    r = api.post(
        "/api/v1/policies",
        json={
            "type": "PASSWORD",
            "name": "x",
            "settings": {"recovery": {"factors": {"okta_email": "ACTIVE"}}},
        },
    )
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"


def test_a_policy_still_saves_after_its_group_is_deleted(api: Any) -> None:
    group = make_group(api, "Temporary")
    policy = create_policy(api, conditions=for_groups(group))
    assert api.delete(f"/api/v1/groups/{group}").status_code == 204
    current = api.get(f"/api/v1/policies/{policy['id']}").get_json()
    r = api.put(f"/api/v1/policies/{policy['id']}", json={**current, "description": "still here"})
    assert r.status_code == 200, r.get_json()


# ---- end to end: the real policies, through the API and /api/v1/authn ------------------------


def create_user(api: Any, login: str, password: str, *group_ids: str) -> Any:
    body: dict[str, Any] = {
        "profile": {"login": login, "email": login, "firstName": "Pat", "lastName": "Doe"},
        "credentials": {"password": {"value": password}},
    }
    if group_ids:
        body["groupIds"] = list(group_ids)
    return api.post("/api/v1/users?activate=true", json=body)


def authn(client: Any, path: str = "", **body: Any) -> Any:
    return client.post(f"/api/v1/authn{path}", json=body)


def test_password_policy_min_length_on_user_create(api: Any) -> None:
    group = make_group(api, "Engineers")
    create_policy(
        api,
        name="Engineers: 12 characters",
        conditions=for_groups(group),
        settings={"password": {"complexity": {"minLength": 12}}},
    )
    r = create_user(api, "eve.engineer@example.com", "Short-pw1", group)
    assert r.status_code == 400
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    assert causes(r) == [
        "password: Password requirements were not met. Missing: at least 12 characters."
    ]
    assert api.get("/api/v1/users?q=eve.engineer").get_json() == []
    # The same password for someone outside the group: the default policy (8).
    r = create_user(api, "olga.other@example.com", "Short-pw1")
    assert r.status_code == 200, r.get_json()
    # And a long enough one inside it.
    r = create_user(api, "eve.engineer@example.com", "Long-enough-pw1", group)
    assert r.status_code == 200, r.get_json()


def test_lockout_after_three_attempts_shows_locked_out(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    member = make_user("lou.locked@example.com")
    other = make_user("olga.other@example.com")
    group = make_group(api, "Strict", member)
    create_policy(
        api,
        conditions=for_groups(group),
        settings={"password": {"lockout": {"maxAttempts": 3, "showLockoutFailures": True}}},
    )
    wrong = {"username": "lou.locked@example.com", "password": "Wrong-Password-1"}
    for _ in range(2):
        r = authn(anonymous, **wrong)
        assert r.status_code == 401 and r.get_json()["errorCode"] == "E0000004"
    r = authn(anonymous, **wrong)
    assert r.status_code == 200
    assert r.get_json()["status"] == "LOCKED_OUT"
    # No self-service unlock in this policy (selfServiceUnlock defaults to DENY): no link.
    assert "next" not in r.get_json()["_links"]
    assert api.get(f"/api/v1/users/{member['id']}").get_json()["status"] == "LOCKED_OUT"
    # The right password does not help now.
    r = authn(anonymous, username="lou.locked@example.com", password=PASSWORD)
    assert r.get_json()["status"] == "LOCKED_OUT"
    # Someone outside the group keeps the default policy: 10 attempts, no LOCKED_OUT shown.
    for _ in range(3):
        r = authn(anonymous, username="olga.other@example.com", password="Wrong-Password-1")
        assert r.status_code == 401
    assert api.get(f"/api/v1/users/{other['id']}").get_json()["status"] == "ACTIVE"


def deny_rule_for(api: Any, group: str) -> dict[str, Any]:
    policy = create_policy(api, "OKTA_SIGN_ON", name="Blocked", conditions=for_groups(group))
    return create_rule(
        api, policy["id"], name="Deny", priority=1, actions={"signon": {"access": "DENY"}}
    )


def test_a_deny_sign_on_rule_refuses_the_sign_in(api: Any, anonymous: Any, make_user: Any) -> None:
    member = make_user("bo.blocked@example.com")
    make_user("olga.other@example.com")
    group = make_group(api, "Blocked", member)
    deny_rule_for(api, group)
    r = authn(anonymous, username="bo.blocked@example.com", password=PASSWORD)
    assert r.status_code == 401
    assert r.get_json()["errorCode"] == "E0000004"
    # Like a wrong password: nothing tells the caller the password was right.
    wrong = authn(anonymous, username="bo.blocked@example.com", password="Wrong-Password-1")
    assert {k: v for k, v in r.get_json().items() if k != "errorId"} == {
        k: v for k, v in wrong.get_json().items() if k != "errorId"
    }
    assert sign_in(anonymous, "olga.other@example.com")["status"] == "SUCCESS"
    # Out of the group, in again.
    assert api.delete(f"/api/v1/groups/{group}/users/{member['id']}").status_code == 204
    assert sign_in(anonymous, "bo.blocked@example.com")["status"] == "SUCCESS"


def test_a_deny_sign_on_rule_also_holds_after_a_password_reset(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    member = make_user("bo.blocked@example.com")
    group = make_group(api, "Blocked", member)
    deny_rule_for(api, group)
    r = api.post(f"/api/v1/users/{member['id']}/lifecycle/reset_password?sendEmail=false")
    token = r.get_json()["resetPasswordUrl"].rsplit("/", 1)[1]
    body = authn(anonymous, "/recovery/token", recoveryToken=token).get_json()
    assert body["status"] == "PASSWORD_RESET"
    r = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="Recovered-Pass-7",
    )
    assert "sessionToken" not in (r.get_json() or {}), r.get_json()


def test_a_deny_sign_on_rule_also_holds_at_activation(api: Any, anonymous: Any) -> None:
    group = make_group(api, "Blocked")
    deny_rule_for(api, group)
    r = api.post(
        "/api/v1/users?activate=false",
        json={
            "profile": {
                "login": "new.hire@example.com",
                "email": "new.hire@example.com",
                "firstName": "New",
                "lastName": "Hire",
            },
            "groupIds": [group],
        },
    )
    assert r.status_code == 200, r.get_json()
    r = api.post(f"/api/v1/users/{r.get_json()['id']}/lifecycle/activate?sendEmail=false")
    body = authn(anonymous, token=r.get_json()["activationToken"]).get_json()
    assert body["status"] == "PASSWORD_RESET"
    r = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="Chosen-Secret-9",
    )
    assert "sessionToken" not in (r.get_json() or {}), r.get_json()


def test_sign_on_rule_for_a_group_member_without_a_factor(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    member = make_user("sam.sales@example.com")
    group = make_group(api, "Sales", member)
    policy = create_policy(api, "OKTA_SIGN_ON", conditions=for_groups(group))
    create_rule(api, policy["id"], priority=1, actions={"signon": {"requireFactor": True}})
    body = sign_in(anonymous, "sam.sales@example.com")
    # No factor yet: enrol one first, and it cannot be skipped.
    assert body["status"] == "MFA_ENROLL"
    assert "skip" not in body["_links"]


def test_enroll_policy_stops_applying_when_deactivated(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    admin = make_user("ada.admin@example.com")
    group = make_group(api, "Admins", admin)
    policy = create_policy(
        api,
        "MFA_ENROLL",
        conditions=for_groups(group),
        settings={"factors": {"google_otp": {"enroll": {"self": "REQUIRED"}}}},
    )
    assert sign_in(anonymous, "ada.admin@example.com")["status"] == "MFA_ENROLL"
    assert api.post(f"/api/v1/policies/{policy['id']}/lifecycle/deactivate").status_code == 204
    assert sign_in(anonymous, "ada.admin@example.com")["status"] == "SUCCESS"


def test_password_expiry_from_the_policy(
    api: Any, anonymous: Any, make_user: Any, clock: Any
) -> None:
    member = make_user("pat.expiring@example.com")
    make_user("olga.other@example.com")
    group = make_group(api, "Rotating", member)
    create_policy(
        api,
        conditions=for_groups(group),
        settings={"password": {"age": {"maxAgeDays": 30, "expireWarnDays": 5}}},
    )
    clock.advance(days=27)
    warn = {"warnBeforePasswordExpired": True}
    r = authn(anonymous, username="pat.expiring@example.com", password=PASSWORD, options=warn)
    body = r.get_json()
    assert body["status"] == "PASSWORD_WARN"
    assert body["_embedded"]["policy"]["expiration"] == {"passwordExpireDays": 3}
    clock.advance(days=4)
    assert sign_in(anonymous, "pat.expiring@example.com")["status"] == "PASSWORD_EXPIRED"
    assert sign_in(anonymous, "olga.other@example.com")["status"] == "SUCCESS"


PHONE = "+1 505-269-4259"
E164 = "+15052694259"


def sms_code(outbox: Any) -> str:
    newest = outbox.messages(to=E164)[0]
    match = re.search(r"\b(\d{6})\b", newest.body)
    assert match
    return match.group(1)


def enroll_sms(api: Any, user: dict[str, Any], outbox: Any) -> None:
    base = f"/api/v1/users/{user['id']}/factors"
    r = api.post(
        base, json={"factorType": "sms", "provider": "OKTA", "profile": {"phoneNumber": PHONE}}
    )
    assert r.status_code == 200, r.get_json()
    factor = r.get_json()
    r = api.post(f"{base}/{factor['id']}/lifecycle/activate", json={"passCode": sms_code(outbox)})
    assert r.status_code == 200, r.get_json()


def sms_recovery_policy(api: Any, group: str) -> dict[str, Any]:
    policy = create_policy(
        api,
        name="SMS recovery",
        conditions=for_groups(group),
        settings={
            "password": {"lockout": {"maxAttempts": 3}},
            "recovery": {
                "factors": {
                    "okta_email": {"status": "ACTIVE"},
                    "okta_sms": {"status": "ACTIVE"},
                    "recovery_question": {"status": "ACTIVE"},
                }
            },
        },
    )
    (rule,) = api.get(f"/api/v1/policies/{policy['id']}/rules").get_json()
    actions = {**rule["actions"], "selfServiceUnlock": {"access": "ALLOW"}}
    r = api.put(
        f"/api/v1/policies/{policy['id']}/rules/{rule['id']}", json={**rule, "actions": actions}
    )
    assert r.status_code == 200, r.get_json()
    return policy


def test_sms_self_service_unlock_and_reset(
    api: Any, anonymous: Any, make_user: Any, outbox: Any, clock: Any
) -> None:
    member = make_user("fay.field@example.com")
    enroll_sms(api, member, outbox)
    group = make_group(api, "Field staff", member)
    sms_recovery_policy(api, group)
    login = "fay.field@example.com"
    for _ in range(3):
        authn(anonymous, username=login, password="Wrong-Password-1")
    assert api.get(f"/api/v1/users/{member['id']}").get_json()["status"] == "LOCKED_OUT"

    clock.advance(seconds=31)  # past the resend throttle of the activation code
    body = authn(anonymous, "/recovery/unlock", username=login, factorType="SMS").get_json()
    assert body["status"] == "RECOVERY_CHALLENGE" and body["recoveryType"] == "UNLOCK"
    r = authn(
        anonymous,
        "/recovery/factors/SMS/verify",
        stateToken=body["stateToken"],
        passCode=sms_code(outbox),
    )
    assert r.get_json()["status"] == "SUCCESS" and r.get_json()["recoveryType"] == "UNLOCK"
    assert api.get(f"/api/v1/users/{member['id']}").get_json()["status"] == "ACTIVE"

    clock.advance(seconds=31)
    body = authn(anonymous, "/recovery/password", username=login, factorType="SMS").get_json()
    assert body["status"] == "RECOVERY_CHALLENGE" and body["recoveryType"] == "PASSWORD"
    r = authn(
        anonymous,
        "/recovery/factors/SMS/verify",
        stateToken=body["stateToken"],
        passCode=sms_code(outbox),
    )
    assert r.get_json()["status"] == "PASSWORD_RESET"
    r = authn(
        anonymous,
        "/credentials/reset_password",
        stateToken=body["stateToken"],
        newPassword="Recovered-Pass-7",
    )
    assert r.get_json()["status"] == "SUCCESS"
    r = authn(anonymous, username=login, password="Recovered-Pass-7")
    assert r.get_json()["status"] == "SUCCESS"


def test_the_default_policy_sends_no_recovery_sms(
    api: Any, anonymous: Any, make_user: Any, outbox: Any, clock: Any
) -> None:
    user = make_user("olga.other@example.com")
    enroll_sms(api, user, outbox)
    sent = len(outbox.messages(to=E164))
    clock.advance(seconds=31)
    body = authn(
        anonymous, "/recovery/password", username="olga.other@example.com", factorType="SMS"
    ).get_json()
    # The same answer as for anyone, but no code goes out: SMS recovery is INACTIVE.
    assert body["status"] == "RECOVERY_CHALLENGE"
    assert len(outbox.messages(to=E164)) == sent


def test_factor_prompt_mode_device_remembers_the_device(
    api: Any, anonymous: Any, make_user: Any
) -> None:
    member = make_user("dee.device@example.com")
    question = active_question(api, member)
    group = make_group(api, "Laptops", member)
    policy = create_policy(api, "OKTA_SIGN_ON", conditions=for_groups(group))
    create_rule(
        api,
        policy["id"],
        priority=1,
        actions={
            "signon": {
                "access": "ALLOW",
                "requireFactor": True,
                "factorPromptMode": "DEVICE",
                "factorLifetime": 60,
            }
        },
    )
    login = "dee.device@example.com"
    device = {"deviceToken": "laptop-0123456789"}
    r = authn(anonymous, username=login, password=PASSWORD, context=device)
    body = r.get_json()
    assert body["status"] == "MFA_REQUIRED"
    assert body["_embedded"]["policy"]["allowRememberDevice"] is True
    assert body["_embedded"]["policy"]["rememberDeviceLifetimeInMinutes"] == 60
    r = anonymous.post(
        f"/api/v1/authn/factors/{question['id']}/verify?rememberDevice=true",
        json={"stateToken": body["stateToken"], "answer": "Mr Bunny Rabbit"},
    )
    assert r.get_json()["status"] == "SUCCESS"
    again = authn(anonymous, username=login, password=PASSWORD, context=device).get_json()
    assert again["status"] == "SUCCESS"
    other = {"deviceToken": "phone-9876543210"}
    elsewhere = authn(anonymous, username=login, password=PASSWORD, context=other).get_json()
    assert elsewhere["status"] == "MFA_REQUIRED"


# ---- the policies a process keeps ------------------------------------------------------------


def test_a_policy_changed_by_another_process_applies_at_the_next_sign_in(
    app: Any, ctx: Any, api: Any, anonymous: Any, make_user: Any, clock: Any
) -> None:
    """Each process keeps the active policies while ``policy_version`` stays the
    same; a change made elsewhere (another worker, another instance) raises it
    in the same commit, so the very next sign-in here follows the change."""
    from app import create_app
    from tests.conftest import OktaClient

    user = make_user("ada.cache@example.com")
    active_question(api, user)
    assert sign_in(anonymous, "ada.cache@example.com")["status"] == "SUCCESS"  # kept here now

    other_app = create_app(ctx.settings, clock=clock)
    try:
        other = OktaClient(other_app.test_client(), api.token)
        policy = create_policy(
            other, "OKTA_SIGN_ON", name="MFA", conditions=for_groups(everyone_id(other))
        )
        signon = {"access": "ALLOW", "requireFactor": True, "factorPromptMode": "ALWAYS"}
        rule = create_rule(other, policy["id"], priority=1, actions={"signon": signon})
        assert sign_in(anonymous, "ada.cache@example.com")["status"] == "MFA_REQUIRED"

        body = {**rule, "actions": {"signon": {**signon, "requireFactor": False}}}
        r = other.put(f"/api/v1/policies/{policy['id']}/rules/{rule['id']}", json=body)
        assert r.status_code == 200, r.get_json()
        assert sign_in(anonymous, "ada.cache@example.com")["status"] == "SUCCESS"

        r = other.put(f"/api/v1/policies/{policy['id']}/rules/{rule['id']}", json=rule)
        assert r.status_code == 200, r.get_json()
        assert sign_in(anonymous, "ada.cache@example.com")["status"] == "MFA_REQUIRED"
        r = other.post(f"/api/v1/policies/{policy['id']}/lifecycle/deactivate")
        assert r.status_code == 204
        assert sign_in(anonymous, "ada.cache@example.com")["status"] == "SUCCESS"
    finally:
        other_app.extensions["portcullis"].stores.database.dispose()


def test_sign_in_reads_the_policies_only_after_they_change(
    api: Any, anonymous: Any, make_user: Any, monkeypatch: Any
) -> None:
    from app.store.policies import PolicyRepository

    reads: list[int] = []
    all_active = PolicyRepository.all_active

    def counted(self: PolicyRepository) -> Any:
        reads.append(1)
        return all_active(self)

    monkeypatch.setattr(PolicyRepository, "all_active", counted)
    make_user("bo.cache@example.com")
    sign_in(anonymous, "bo.cache@example.com")
    reads.clear()
    for _ in range(3):
        assert sign_in(anonymous, "bo.cache@example.com")["status"] == "SUCCESS"
    assert reads == []
    create_policy(api, "OKTA_SIGN_ON", name="Another")  # no rule yet: changes nothing
    assert sign_in(anonymous, "bo.cache@example.com")["status"] == "SUCCESS"
    assert reads == [1]


def test_policies_read_by_the_unit_of_work_that_changed_them_are_not_kept(
    ctx: Any, api: Any, make_user: Any
) -> None:
    """What a unit of work reads after changing a policy is not committed: were
    it kept, a rollback would leave sign-in on a policy that never existed."""
    from dataclasses import replace as changed

    user_id = make_user("cy.rollback@example.com")["id"]
    default = default_policy(api, "PASSWORD")
    with pytest.raises(RuntimeError), ctx.stores.unit_of_work() as uow:
        user = uow.users.get(user_id)
        doc = uow.policies.get(default["id"])
        uow.policies.save(changed(doc, name="never committed"))
        assert policies.effective_for(ctx, uow, user) is not None
        raise RuntimeError("roll back")
    held = ctx.stores.policy_cache._held
    assert held is None or all(p.name != "never committed" for p in held[1])
