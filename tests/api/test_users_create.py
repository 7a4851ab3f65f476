"""POST /api/v1/users: Okta's create-user variants and their errors."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import Any

import bcrypt
import pytest

from app.delivery import DeliveryError, Message
from tests.conftest import PASSWORD, profile


class RefusingRelay:
    """An e-mail relay that is down: every message raises DeliveryError."""

    def send(self, message: Message) -> None:
        raise DeliveryError("SMTP delivery failed: [Errno 111] Connection refused")


def test_create_with_password_is_active_and_hides_the_hash(api: Any, clock: Any) -> None:
    r = api.post(
        "/api/v1/users?activate=true",
        json={
            "profile": profile(mobilePhone="+1 555 0100", employeeTier="gold"),
            "credentials": {"password": {"value": PASSWORD}},
        },
    )
    assert r.status_code == 200
    user = r.get_json()
    assert user["id"].startswith("00u") and len(user["id"]) == 20
    assert user["status"] == "ACTIVE"
    assert user["created"] == "2026-01-15T09:30:00.000Z"
    assert user["activated"] == user["statusChanged"] == user["created"]
    assert user["lastLogin"] is None
    assert user["passwordChanged"] == "2026-01-15T09:30:00.000Z"
    assert user["profile"]["employeeTier"] == "gold"  # custom attributes are kept
    assert user["profile"]["mobilePhone"] == "+1 555 0100"
    assert user["credentials"] == {
        "password": {},
        "emails": [{"value": "isaac.brock@example.com", "status": "VERIFIED", "type": "PRIMARY"}],
        "provider": {"type": "OKTA", "name": "OKTA"},
    }
    # Okta's user type: a 20-character oty id, with the schema id beside it.
    type_id = user["type"]["id"]
    assert re.fullmatch(r"oty[A-Za-z0-9]{17}", type_id)
    assert user["_links"]["type"]["href"].endswith(f"/api/v1/meta/types/user/{type_id}")
    assert user["_links"]["schema"]["href"].endswith(f"/api/v1/meta/schemas/user/osc{type_id[3:]}")
    assert user["profile"]["secondEmail"] is None  # unset: null, as Okta sends it
    assert "argon2" not in r.get_data(as_text=True)
    links = user["_links"]
    assert links["self"]["href"] == f"http://portcullis.test/api/v1/users/{user['id']}"
    assert links["suspend"] == {
        "href": f"http://portcullis.test/api/v1/users/{user['id']}/lifecycle/suspend",
        "method": "POST",
    }
    assert "activate" not in links and "unsuspend" not in links


def test_create_without_credentials_staged(api: Any) -> None:
    # The seed guide's "Create User without Credentials".
    r = api.post("/api/v1/users?activate=false", json={"profile": profile()})
    assert r.status_code == 200
    user = r.get_json()
    assert user["status"] == "STAGED"
    assert user["activated"] is None and user["passwordChanged"] is None
    assert "password" not in user["credentials"]
    assert user["credentials"]["emails"][0]["status"] == "UNVERIFIED"  # not activated yet
    assert set(user["_links"]) == {"activate", "deactivate", "self", "schema", "type"}


def test_activate_default_without_password_is_provisioned_and_emails(api: Any, outbox: Any) -> None:
    r = api.post("/api/v1/users", json={"profile": profile()})
    assert r.get_json()["status"] == "PROVISIONED"
    (mail,) = outbox.messages(to="isaac.brock@example.com")
    assert "http://portcullis.test/welcome/" in mail.body


def test_create_succeeds_when_the_activation_email_cannot_be_delivered(
    api: Any, ctx: Any, outbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Okta creates the user whatever becomes of the e-mail; here the failure is logged.
    working, ctx.delivery = ctx.delivery, RefusingRelay()
    with caplog.at_level(logging.WARNING, logger="portcullis.users"):
        r = api.post("/api/v1/users?activate=true", json={"profile": profile()})
    assert r.status_code == 200, r.get_json()
    user = r.get_json()
    assert user["status"] == "PROVISIONED"
    (record,) = [rec for rec in caplog.records if rec.name == "portcullis.users"]
    assert record.levelno == logging.WARNING
    assert user["id"] in record.getMessage() and "isaac.brock@example.com" in record.getMessage()
    assert "Connection refused" in record.getMessage()
    # Nothing half-written: one user, in Everyone, and a new link can be sent later.
    assert [u["id"] for u in api.get("/api/v1/users").get_json()] == [user["id"]]
    (everyone,) = api.get("/api/v1/groups?q=Everyone").get_json()
    members = api.get(f"/api/v1/groups/{everyone['id']}/users").get_json()
    assert [m["id"] for m in members] == [user["id"]]
    ctx.delivery = working
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/reactivate?sendEmail=true")
    assert r.status_code == 200 and r.get_json() == {}
    (mail,) = outbox.messages(to="isaac.brock@example.com")
    assert "/welcome/" in mail.body


def test_next_login_change_password_expires(api: Any) -> None:
    r = api.post(
        "/api/v1/users?activate=true&nextLogin=changePassword",
        json={
            "profile": profile(),
            "credentials": {"password": {"value": PASSWORD}},
        },
    )
    assert r.get_json()["status"] == "PASSWORD_EXPIRED"


def test_login_is_unique_case_insensitively(api: Any, make_user: Any) -> None:
    make_user("isaac.brock@example.com")
    r = api.post("/api/v1/users", json={"profile": profile("Isaac.Brock@Example.com")})
    assert r.status_code == 400
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    assert body["errorSummary"] == "Api validation failed: login"
    assert body["errorCauses"] == [
        {
            "errorSummary": "login: An object with this field already exists in the current "
            "organization"
        }
    ]


def test_weak_password_names_each_unmet_rule(api: Any) -> None:
    r = api.post(
        "/api/v1/users",
        json={
            "profile": profile(),
            "credentials": {"password": {"value": "isaac"}},
        },
    )
    assert r.status_code == 400
    body = r.get_json()
    assert body["errorCode"] == "E0000001"
    causes = " ".join(c["errorSummary"] for c in body["errorCauses"])
    for rule in (
        "at least 8 characters",
        "an uppercase letter",
        "a number",
        "no parts of your username",
    ):
        assert rule in causes
    assert "a lowercase letter" not in causes
    # nothing half-written: the login is still free
    assert api.get("/api/v1/users/isaac.brock@example.com").status_code == 404


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ({"profile": "isaac"}, "profile: Not a valid mapping type."),
        ({}, "profile: Missing data for required field."),
        ({"profile": {**profile(), "firstName": 42}}, "firstName: Not a valid string"),
        ({"profile": {**profile(), "email": None}}, "email: The field cannot be left blank"),
        (
            {"profile": {**profile(), "login": "not-an-email"}},
            "login: Username must be in the form of an email address",
        ),
        (
            {"profile": profile(), "credentials": {"password": {"value": 12345678}}},
            "credentials.password.value: Not a valid string.",
        ),
        (
            {
                "profile": profile(),
                "credentials": {"password": {"hash": {"algorithm": "ROT13", "value": "x"}}},
            },
            "credentials.password.hash.algorithm: Must be one of",
        ),
        ({"profile": profile(), "groupIds": "00gabc"}, "groupIds: Not a valid list."),
        (
            {"profile": profile(), "groupIds": ["00gdoesnotexist00000"]},
            "groupIds: Group 00gdoesnotexist00000 does not exist",
        ),
        (
            {
                "profile": profile(),
                "credentials": {
                    "recovery_question": {"question": "Favourite colour?", "answer": "re"}
                },
            },
            "recovery_question.answer: The security question answer must be at least 4",
        ),
    ],
)
def test_invalid_bodies_are_400_e0000001(api: Any, body: Any, cause: str) -> None:
    r = api.post("/api/v1/users", json=body)
    assert r.status_code == 400, r.get_json()
    err = r.get_json()
    assert err["errorCode"] == "E0000001"
    assert any(c["errorSummary"].startswith(cause) for c in err["errorCauses"]), err
    assert set(err) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}


@pytest.mark.parametrize("raw", ['{"profile": {', "[1, 2", "nul", '{"a": 1}}'])
def test_malformed_json_is_e0000003(api: Any, raw: str) -> None:
    r = api.post("/api/v1/users", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000003"
    assert r.get_json()["errorSummary"] == "The request body was not well-formed."


def test_non_json_body_is_e0000003(api: Any) -> None:
    r = api.post(
        "/api/v1/users",
        data="login=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000003"


def test_bad_query_flag_is_400(api: Any) -> None:
    r = api.post("/api/v1/users?activate=maybe", json={"profile": profile()})
    assert r.status_code == 400
    assert r.get_json()["errorCauses"][0]["errorSummary"].startswith("activate:")


def test_recovery_question_is_kept_and_answer_never_shown(api: Any) -> None:
    r = api.post(
        "/api/v1/users",
        json={
            "profile": profile(),
            "credentials": {
                "password": {"value": PASSWORD},
                "recovery_question": {
                    "question": "Who's a major player in the cowboy scene?",
                    "answer": "Annie Oakley",
                },
            },
        },
    )
    assert r.status_code == 200
    creds = r.get_json()["credentials"]
    assert creds["recovery_question"] == {"question": "Who's a major player in the cowboy scene?"}
    assert "Oakley" not in r.get_data(as_text=True)


def test_group_ids_put_the_user_in_those_groups_and_everyone(api: Any) -> None:
    group = api.post("/api/v1/groups", json={"profile": {"name": "West Coast"}}).get_json()
    user = api.post(
        "/api/v1/users",
        json={
            "profile": profile(),
            "groupIds": [group["id"]],
        },
    ).get_json()
    names = {g["profile"]["name"] for g in api.get(f"/api/v1/users/{user['id']}/groups").get_json()}
    assert names == {"Everyone", "West Coast"}


# ---- imported password hashes ---------------------------------------------------


def _sha(algorithm: str, password: str, salt: bytes, order: str) -> dict[str, Any]:
    material = password.encode() + salt if order == "POSTFIX" else salt + password.encode()
    digest = hashlib.new(algorithm.replace("-", "").lower(), material).digest()
    return {
        "algorithm": algorithm,
        "salt": base64.b64encode(salt).decode(),
        "saltOrder": order,
        "value": base64.b64encode(digest).decode(),
    }


def _bcrypt(password: str) -> dict[str, Any]:
    full = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    # "$2b$04$" + 22 salt chars + 31 hash chars
    return {"algorithm": "BCRYPT", "workFactor": 4, "salt": full[7:29], "value": full[29:]}


IMPORTS = {
    "BCRYPT": lambda p: _bcrypt(p),
    "SHA-512": lambda p: _sha("SHA-512", p, b"pepper", "PREFIX"),
    "SHA-256": lambda p: _sha("SHA-256", p, b"salty", "PREFIX"),
    "SHA-256-postfix": lambda p: _sha("SHA-256", p, b"salty", "POSTFIX"),
    "SHA-1": lambda p: _sha("SHA-1", p, b"s1", "PREFIX"),
    "MD5": lambda p: _sha("MD5", p, b"m5", "POSTFIX"),
}


@pytest.mark.parametrize("kind", list(IMPORTS))
def test_imported_hash_verifies_then_is_rehashed_with_argon2id(
    api: Any, ctx: Any, kind: str
) -> None:
    old = "Imp0rted-Password"
    r = api.post(
        "/api/v1/users",
        json={
            "profile": profile(),
            "credentials": {"password": {"hash": IMPORTS[kind](old)}},
        },
    )
    assert r.status_code == 200, r.get_json()
    user = r.get_json()
    assert user["status"] == "ACTIVE" and user["credentials"]["password"] == {}
    # A wrong password does not match the imported hash ...
    wrong = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_password",
        json={"oldPassword": {"value": "Not-The-0ne"}, "newPassword": {"value": "N3w-Passphrase"}},
    )
    assert wrong.status_code == 403 and wrong.get_json()["errorCode"] == "E0000014"
    # ... the right one does, and the stored hash becomes argon2id.
    from app.services import credentials

    with ctx.stores.unit_of_work() as uow:
        stored = uow.users.get(user["id"])
        assert stored.password_hash.startswith("imported$")
        assert credentials.verify_password(ctx, stored, old)
        assert stored.password_hash.startswith("$argon2id$")
        uow.users.save(stored)
    with ctx.stores.unit_of_work() as uow:
        again = uow.users.get(user["id"])
        assert again.password_hash.startswith("$argon2id$")
        assert credentials.verify_password(ctx, again, old)


def test_imported_hash_is_checked_by_change_password(api: Any) -> None:
    old = "Imp0rted-Password"
    user = api.post(
        "/api/v1/users",
        json={
            "profile": profile(),
            "credentials": {"password": {"hash": _bcrypt(old)}},
        },
    ).get_json()
    r = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_password",
        json={"oldPassword": {"value": old}, "newPassword": {"value": "N3w-Passphrase"}},
    )
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize(
    "spec",
    [
        {"algorithm": "BCRYPT", "workFactor": 10, "salt": "short", "value": "x" * 31},
        {"algorithm": "SHA-256", "salt": "***", "value": "AAAA"},
        {"algorithm": "SHA-256", "saltOrder": "MIDDLE", "value": "AAAA"},
    ],
)
def test_unusable_imported_hash_is_rejected(api: Any, spec: dict[str, Any]) -> None:
    r = api.post(
        "/api/v1/users", json={"profile": profile(), "credentials": {"password": {"hash": spec}}}
    )
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "E0000001"


def test_password_value_and_hash_together_is_rejected(api: Any) -> None:
    r = api.post(
        "/api/v1/users",
        json={
            "profile": profile(),
            "credentials": {"password": {"value": PASSWORD, "hash": _bcrypt(PASSWORD)}},
        },
    )
    assert r.status_code == 400
