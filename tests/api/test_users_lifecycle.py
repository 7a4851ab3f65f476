"""Lifecycle and credentials operations, table-driven like the domain table."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from app.delivery import DeliveryError, Message
from tests.conftest import PASSWORD


def _status(api: Any, user_id: str) -> str:
    return api.get(f"/api/v1/users/{user_id}").get_json()["status"]  # type: ignore[no-any-return]


def _op(api: Any, user_id: str, path: str) -> Any:
    return api.post(f"/api/v1/users/{user_id}/lifecycle/{path}")


def test_suspend_and_unsuspend(api: Any, make_user: Any) -> None:
    user = make_user()
    r = _op(api, user["id"], "suspend")
    assert r.status_code == 200 and r.get_json() == {}
    suspended = api.get(f"/api/v1/users/{user['id']}").get_json()
    assert suspended["status"] == "SUSPENDED"
    assert set(suspended["_links"]) >= {"unsuspend", "deactivate", "self"}
    assert "suspend" not in suspended["_links"]
    assert _op(api, user["id"], "unsuspend").status_code == 200
    assert _status(api, user["id"]) == "ACTIVE"


@pytest.mark.parametrize(
    ("path", "status", "code", "summary", "cause"),
    [
        (
            "unsuspend",
            400,
            "E0000001",
            "Api validation failed: unsuspendUser",
            "Cannot unsuspend a user that is not suspended",
        ),
        (
            "unlock",
            403,
            "E0000032",
            "Unlock is not allowed for this user.",
            "The user is not locked out.",
        ),
        ("activate", 403, "E0000016", "Activation failed because the user is already active", None),
        (
            "reactivate",
            403,
            "E0000038",
            "This operation is not allowed in the user's current status.",
            None,
        ),
    ],
)
def test_forbidden_transitions_from_active(
    api: Any, make_user: Any, path: str, status: int, code: str, summary: str, cause: str | None
) -> None:
    user = make_user()
    r = _op(api, user["id"], path)
    assert r.status_code == status
    body = r.get_json()
    assert (body["errorCode"], body["errorSummary"]) == (code, summary)
    assert body["errorCauses"] == ([{"errorSummary": cause}] if cause else [])
    assert _status(api, user["id"]) == "ACTIVE"


def test_suspend_a_staged_user_is_refused(api: Any, make_user: Any) -> None:
    user = make_user(password=None, activate=False)
    r = _op(api, user["id"], "suspend")
    assert r.status_code == 400
    assert r.get_json()["errorSummary"] == "Api validation failed: suspendUser"
    assert r.get_json()["errorCauses"] == [
        {"errorSummary": "Cannot suspend a user that is not active"}
    ]


def test_activate_staged_without_password_returns_token(api: Any, make_user: Any) -> None:
    user = make_user(password=None, activate=False)
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/activate?sendEmail=false")
    assert r.status_code == 200
    body = r.get_json()
    assert body["activationUrl"] == f"http://portcullis.test/welcome/{body['activationToken']}"
    assert len(body["activationToken"]) >= 22
    assert _status(api, user["id"]) == "PROVISIONED"
    again = api.post(f"/api/v1/users/{user['id']}/lifecycle/reactivate?sendEmail=false")
    assert again.status_code == 200
    assert again.get_json()["activationToken"] != body["activationToken"]


def test_activate_with_password_becomes_active(api: Any, make_user: Any, outbox: Any) -> None:
    user = make_user(activate=False)
    assert user["status"] == "STAGED"
    r = _op(api, user["id"], "activate")
    assert r.status_code == 200 and r.get_json() == {}
    assert _status(api, user["id"]) == "ACTIVE"


def test_activate_with_email_sends_the_link(api: Any, make_user: Any, outbox: Any) -> None:
    user = make_user(password=None, activate=False)
    assert _op(api, user["id"], "activate").get_json() == {}
    (mail,) = outbox.messages(to=user["profile"]["email"])
    assert "/welcome/" in mail.body


def test_deactivate_then_activate_again(api: Any, make_user: Any) -> None:
    user = make_user()
    assert _op(api, user["id"], "deactivate").get_json() == {}
    deprovisioned = api.get(f"/api/v1/users/{user['id']}").get_json()
    assert deprovisioned["status"] == "DEPROVISIONED"
    assert set(deprovisioned["_links"]) == {"activate", "self", "schema", "type"}
    assert _op(api, user["id"], "deactivate").status_code == 403
    assert _op(api, user["id"], "activate").status_code == 200
    assert _status(api, user["id"]) == "ACTIVE"


def test_unlock_a_locked_out_user(api: Any, make_user: Any, ctx: Any) -> None:
    from app.domain.users import UserStatus

    user = make_user()
    with ctx.stores.unit_of_work() as uow:  # lockout itself comes from /authn
        stored = uow.users.get(user["id"])
        stored.set_status(UserStatus.LOCKED_OUT, ctx.clock())
        uow.users.save(stored)
    assert "unlock" in api.get(f"/api/v1/users/{user['id']}").get_json()["_links"]
    assert _op(api, user["id"], "unlock").status_code == 200
    assert _status(api, user["id"]) == "ACTIVE"


def test_expire_password(api: Any, make_user: Any) -> None:
    user = make_user()
    r = _op(api, user["id"], "expire_password")
    assert r.status_code == 200
    assert r.get_json()["status"] == "PASSWORD_EXPIRED"
    assert r.get_json()["id"] == user["id"]


def test_expire_password_with_temp_password(api: Any, make_user: Any) -> None:
    user = make_user()
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/expire_password?tempPassword=true")
    temp = r.get_json()["tempPassword"]
    assert len(temp) >= 12
    assert _status(api, user["id"]) == "PASSWORD_EXPIRED"
    # the temporary password is now the password: it changes the password
    r = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_password",
        json={"oldPassword": {"value": temp}, "newPassword": {"value": "Brand-New-Pa55"}},
    )
    assert r.status_code == 200, r.get_json()
    assert _status(api, user["id"]) == "ACTIVE"


def test_expire_password_of_user_without_password_is_refused(api: Any, make_user: Any) -> None:
    user = make_user(password=None)
    assert _op(api, user["id"], "expire_password").status_code == 403


def test_reset_password_returns_a_one_time_url(api: Any, make_user: Any, ctx: Any) -> None:
    user = make_user()
    r = api.post(f"/api/v1/users/{user['id']}/lifecycle/reset_password?sendEmail=false")
    assert r.status_code == 200
    url = r.get_json()["resetPasswordUrl"]
    assert url.startswith("http://portcullis.test/signin/reset-password/")
    assert _status(api, user["id"]) == "RECOVERY"
    token = url.rsplit("/", 1)[1]
    tokens = ctx.stores.one_time_tokens
    assert tokens.consume("recovery", token) == user["id"]
    assert tokens.consume("recovery", token) is None  # one time


def test_a_new_reset_token_revokes_the_previous(api: Any, make_user: Any, ctx: Any) -> None:
    user = make_user()
    path = f"/api/v1/users/{user['id']}/lifecycle/reset_password?sendEmail=false"
    first = api.post(path).get_json()["resetPasswordUrl"].rsplit("/", 1)[1]
    second = api.post(path).get_json()["resetPasswordUrl"].rsplit("/", 1)[1]
    assert ctx.stores.one_time_tokens.peek("recovery", first) is None
    assert ctx.stores.one_time_tokens.peek("recovery", second) == user["id"]


def test_reset_password_emails_by_default(api: Any, make_user: Any, outbox: Any) -> None:
    user = make_user()
    assert _op(api, user["id"], "reset_password").get_json() == {}
    (mail,) = outbox.messages(to=user["profile"]["email"])
    assert "/signin/reset-password/" in mail.body


def test_reset_factors(api: Any, make_user: Any) -> None:
    user = make_user()
    assert _op(api, user["id"], "reset_factors").status_code == 200


def test_lifecycle_of_unknown_user_is_404(api: Any) -> None:
    assert _op(api, "00unknown", "suspend").status_code == 404


# ---- credentials ---------------------------------------------------------------


def _change(api: Any, user_id: str, old: str, new: str) -> Any:
    return api.post(
        f"/api/v1/users/{user_id}/credentials/change_password",
        json={"oldPassword": {"value": old}, "newPassword": {"value": new}},
    )


def test_change_password(api: Any, make_user: Any, clock: Any) -> None:
    user = make_user()
    clock.advance(hours=1)
    r = _change(api, user["id"], PASSWORD, "Brand-New-Pa55")
    assert r.status_code == 200
    assert r.get_json() == {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}}
    after = api.get(f"/api/v1/users/{user['id']}").get_json()
    assert after["passwordChanged"] == "2026-01-15T10:30:00.000Z"
    # the old one no longer works
    assert _change(api, user["id"], PASSWORD, "Other-New-Pa55").status_code == 403


def test_change_password_wrong_old_password(api: Any, make_user: Any) -> None:
    user = make_user()
    r = _change(api, user["id"], "Wrong-Passw0rd", "Brand-New-Pa55")
    assert r.status_code == 403
    body = r.get_json()
    assert body["errorCode"] == "E0000014"
    assert body["errorCauses"][0]["errorSummary"].startswith("oldPassword:")


def test_change_password_policy_and_history(api: Any, make_user: Any) -> None:
    user = make_user()
    weak = _change(api, user["id"], PASSWORD, "short")
    assert weak.status_code == 400 and weak.get_json()["errorCode"] == "E0000001"
    same = _change(api, user["id"], PASSWORD, PASSWORD)
    assert same.status_code == 400
    assert "used too recently" in same.get_json()["errorCauses"][0]["errorSummary"]
    passwords = [PASSWORD, "History-Pass-1", "History-Pass-2", "History-Pass-3", "History-Pass-4"]
    for old, new in itertools.pairwise(passwords):
        assert _change(api, user["id"], old, new).status_code == 200
    # the last four (including the current one) are remembered; the fifth back is not
    assert _change(api, user["id"], passwords[-1], passwords[1]).status_code == 400
    assert _change(api, user["id"], passwords[-1], passwords[0]).status_code == 200


def test_change_password_malformed_body(api: Any, make_user: Any) -> None:
    user = make_user()
    r = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_password", json={"oldPassword": "x"}
    )
    assert r.status_code == 400
    causes = {c["errorSummary"].split(":")[0] for c in r.get_json()["errorCauses"]}
    assert causes == {"oldPassword", "newPassword"}


def test_change_password_of_user_without_password(api: Any, make_user: Any) -> None:
    user = make_user(password=None, activate=False)
    r = _change(api, user["id"], "x", "Brand-New-Pa55")
    assert r.status_code == 403


def test_change_recovery_question(api: Any, make_user: Any) -> None:
    user = make_user()
    r = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_recovery_question",
        json={
            "password": {"value": PASSWORD},
            "recovery_question": {"question": "How many roads?", "answer": "forty two"},
        },
    )
    assert r.status_code == 200
    assert r.get_json()["recovery_question"] == {"question": "How many roads?"}
    bad = api.post(
        f"/api/v1/users/{user['id']}/credentials/change_recovery_question",
        json={
            "password": {"value": "nope"},
            "recovery_question": {"question": "How many roads?", "answer": "forty two"},
        },
    )
    assert bad.status_code == 403 and bad.get_json()["errorCode"] == "E0000014"


def test_forgot_password_url_and_answer_flow(api: Any, make_user: Any) -> None:
    user = make_user()
    api.post(
        f"/api/v1/users/{user['id']}/credentials/change_recovery_question",
        json={
            "password": {"value": PASSWORD},
            "recovery_question": {"question": "How many roads?", "answer": "Forty  Two"},
        },
    )
    r = api.post(f"/api/v1/users/{user['id']}/credentials/forgot_password?sendEmail=false")
    assert r.status_code == 200
    assert "/signin/reset-password/" in r.get_json()["resetPasswordUrl"]
    assert _status(api, user["id"]) == "ACTIVE"
    wrong = api.post(
        f"/api/v1/users/{user['id']}/credentials/forgot_password",
        json={"password": {"value": "Brand-New-Pa55"}, "recovery_question": {"answer": "41"}},
    )
    assert wrong.status_code == 403
    right = api.post(
        f"/api/v1/users/{user['id']}/credentials/forgot_password",
        json={
            "password": {"value": "Brand-New-Pa55"},
            "recovery_question": {"answer": "forty two"},
        },
    )
    assert right.status_code == 200, right.get_json()
    assert _change(api, user["id"], "Brand-New-Pa55", "Third-Passw0rd").status_code == 200


def test_temporary_passwords_always_meet_the_policy(ctx: Any) -> None:
    from app.domain.passwords import PasswordPolicy
    from app.domain.users import User, UserStatus
    from app.services.lifecycle import _temporary_password

    policy = PasswordPolicy(min_length=12, min_symbol=1)
    # a login full of short, common parts that random passwords could contain
    user = User(
        id="00u1",
        status=UserStatus.ACTIVE,
        created=ctx.clock(),
        last_updated=ctx.clock(),
        profile={"login": "abc.xyz@com.org"},
    )
    for _ in range(3000):
        assert policy.unmet(_temporary_password(policy, user), user.profile) == []


def test_users_without_a_password_are_not_offered_expire_password(api: Any, make_user: Any) -> None:
    user = make_user(password=None)
    api.post(f"/api/v1/users/{user['id']}/lifecycle/reset_password?sendEmail=false")
    links = api.get(f"/api/v1/users/{user['id']}").get_json()["_links"]
    assert "expirePassword" not in links


def test_reset_password_revokes_the_activation_token(api: Any, make_user: Any, ctx: Any) -> None:
    user = make_user(password=None, activate=False)
    token = api.post(f"/api/v1/users/{user['id']}/lifecycle/activate?sendEmail=false").get_json()[
        "activationToken"
    ]
    api.post(f"/api/v1/users/{user['id']}/lifecycle/reset_password?sendEmail=false")
    assert ctx.stores.one_time_tokens.peek("activation", token) is None


class RefusingRelay:
    """An e-mail relay that is down: every message raises DeliveryError."""

    def send(self, message: Message) -> None:
        raise DeliveryError("SMTP delivery failed: [Errno 111] Connection refused")


# (operation, how the user is made, its status before): the operations whose
# point is the e-mail they send.
EMAIL_OPERATIONS = [
    ("activate?sendEmail=true", {"password": None, "activate": False}, "STAGED"),
    ("reset_password?sendEmail=true", {}, "ACTIVE"),
]


@pytest.mark.parametrize(("operation", "user_kwargs", "before"), EMAIL_OPERATIONS)
def test_an_email_that_cannot_be_delivered_is_a_502_error_object(
    api: Any, make_user: Any, ctx: Any, operation: str, user_kwargs: Any, before: str
) -> None:
    user = make_user(**user_kwargs)
    assert user["status"] == before
    ctx.delivery = RefusingRelay()
    r = _op(api, user["id"], operation)
    assert r.status_code == 502, r.get_json()
    body = r.get_json()
    assert body["errorCode"] == "E0000009"
    assert body["errorSummary"] == "The e-mail could not be delivered. Try again later."
    assert body["errorCauses"] == [] and body["errorId"]


@pytest.mark.parametrize(("operation", "user_kwargs", "before"), EMAIL_OPERATIONS)
def test_an_email_that_cannot_be_delivered_changes_nothing(
    api: Any, make_user: Any, ctx: Any, operation: str, user_kwargs: Any, before: str
) -> None:
    user = make_user(**user_kwargs)
    working, ctx.delivery = ctx.delivery, RefusingRelay()
    assert _op(api, user["id"], operation).status_code == 502
    assert _status(api, user["id"]) == before  # the error answer means: nothing happened
    ctx.delivery = working
    assert _op(api, user["id"], operation).status_code == 200  # so it can simply be repeated
